import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parseNumberOption, UsageError } from '../local/cli-options';
import { parseCommandLine, runMain, versionLine } from '../local/command-line';
import { median } from '../src/median';

/**
 * `npm run -s bench:cold-start -- [--json] [--runs N] [--functions a,b] [--node PATH]`: what
 * `NODE_OPTIONS=--enable-source-maps` costs the Lambda functions. Each function is bundled as CDK bundles it
 * (esbuild: bundle, minify, linked source map, platform node, CJS; the target is the major version of the Node
 * measured, so CDK's node24 only when `--node` names a Node 24), then loaded in fresh Node processes with and
 * without the flag, alternating which goes first. Not part of `npm test`. The handler is never invoked: the only code run after the import is
 * `handler.use({})`, which makes middy throw an error from inside the bundle, and, for the stack-frame example,
 * `checkBatchDependenciesFromEnv({})`, which throws the "variable is required" error of a misconfigured function.
 */

const ROOT = join(__dirname, '..');
const FLAG = '--enable-source-maps';
const DEFAULT_RUNS = 15;
/** The decision's thresholds: the flag is worth it when it adds less than this to init... */
const MAX_INIT_COST_MS = 50;
/** ...or less than this share of init. */
const MAX_INIT_COST_SHARE = 0.1;

const PROGRAM = 'cold-start';

const USAGE = `Usage: npm run -s bench:cold-start -- [options]

Measures what NODE_OPTIONS=${FLAG} costs each Lambda function at its cold start
(module load, first error formatted, peak RSS), in fresh Node processes. Takes a few minutes.

Options:
  --runs N           processes per function, variant and kind (default ${DEFAULT_RUNS}, at least 3)
  --functions LIST   comma-separated steps (default: every folder of functions/ with a handler.ts)
  --node PATH        the Node binary to measure (default: the one running this script)
  --json             print one JSON object instead of the tables
  -h, --help         show this help
  --version          print the version
  --debug            print the stack trace of an unexpected error`;

// The environment a function gets from the stack (dummy values: loading a handler calls no AWS API), plus what
// Lambda itself sets that the SDK and Powertools read.
const FUNCTION_ENV: Record<string, string> = {
  AWS_REGION: 'eu-central-1',
  AWS_DEFAULT_REGION: 'eu-central-1',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_SERVICE_NAME: 'inspect-pipeline',
  POWERTOOLS_METRICS_NAMESPACE: 'InspectPipeline',
  WORK_BUCKET: 'bench-work-bucket',
  PIX4D_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:bench-pix4d-AbCdEf',
  DEADLINE_HOURS: '48',
  TOPIC_ARN: 'arn:aws:sns:eu-central-1:111111111111:bench-topic',
  INSPECTION_STATE_MACHINE_ARN: 'arn:aws:states:eu-central-1:111111111111:stateMachine:bench-inspection',
  WAITER_STATE_MACHINE_ARN: 'arn:aws:states:eu-central-1:111111111111:stateMachine:bench-waiter',
  BATCH_DEPTH: '2',
  QUIET_PERIOD_SECONDS: '600',
};

/**
 * Runs in each measured process. `performance.now()` counts from the process's time origin (Node's start), so
 * `loadedAtMs` is the time from process start to the handler module being required.
 */
const RUNNER = `'use strict';
const startedAtMs = performance.now();
const [kind, bundle] = process.argv.slice(2);
const { inspect } = require('node:util');
const out = { startedAtMs };
const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;
const frames = (text) => text.split('\\n').filter((line) => line.trimStart().startsWith('at '));
if (kind !== 'baseline') {
  const before = performance.now();
  const mod = require(bundle);
  out.loadedAtMs = performance.now();
  out.requireMs = out.loadedAtMs - before;
  if (typeof mod.handler !== 'function') throw new Error(bundle + ' exports no handler');
  out.rssAfterLoadMiB = maxRssMiB();
  if (kind === 'error') {
    let t = performance.now();
    const plain = new Error('from the runner').stack;
    out.firstStackMs = performance.now() - t;
    if (!plain) throw new Error('no stack');
    const bundleError = () => {
      try { mod.handler.use({}); } catch (error) { return error; }
      throw new Error('middy accepted an empty middleware');
    };
    const first = bundleError();
    t = performance.now();
    const text = inspect(first);
    out.firstBundleErrorMs = performance.now() - t;
    const second = bundleError();
    t = performance.now();
    inspect(second);
    out.nextBundleErrorMs = performance.now() - t;
    out.frame = frames(text)[0];
    out.rssAfterErrorMiB = maxRssMiB();
  }
  if (kind === 'frames') {
    const fromEnv = Object.keys(mod).find((name) => name.endsWith('DependenciesFromEnv'));
    if (!fromEnv) throw new Error(bundle + ' exports no ...DependenciesFromEnv');
    try { mod[fromEnv]({}, {}); } catch (error) { out.message = error.message; out.frames = frames(inspect(error)).slice(0, 2); }
  }
}
out.exitAtMs = performance.now();
process.stdout.write(JSON.stringify(out));
`;

type Kind = 'baseline' | 'load' | 'error' | 'frames';
type Variant = 'off' | 'on';

interface RunnerOutput {
  startedAtMs: number;
  loadedAtMs?: number;
  requireMs?: number;
  rssAfterLoadMiB?: number;
  firstStackMs?: number;
  firstBundleErrorMs?: number;
  nextBundleErrorMs?: number;
  rssAfterErrorMiB?: number;
  frame?: string;
  message?: string;
  frames?: string[];
  exitAtMs: number;
}

interface Sample extends RunnerOutput {
  wallMs: number;
}

interface Stat {
  median: number;
  p90: number;
}

type Figure =
  | 'wallMs'
  | 'loadedAtMs'
  | 'requireMs'
  | 'rssAfterLoadMiB'
  | 'firstStackMs'
  | 'firstBundleErrorMs'
  | 'nextBundleErrorMs'
  | 'rssAfterErrorMiB';

interface FunctionResult {
  name: string;
  bundleKiB: number;
  mapMiB: number;
  off: Record<Figure, Stat>;
  on: Record<Figure, Stat>;
  /**
   * The costs of the flag: the median (and p90) of the differences between each process with it and the process
   * without it run next to it in the same round, so that a change of machine load between rounds cancels out.
   */
  initCostMs: number;
  initCostP90Ms: number;
  initCostShare: number;
  wallCostMs: number;
  firstErrorCostMs: number;
  rssCostAfterLoadMiB: number;
  rssCostAfterErrorMiB: number;
  frame: Record<Variant, string>;
  acceptable: boolean;
}

let workDir: string | undefined;
let running: ChildProcess | undefined;

function cleanUp(): void {
  running?.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

/** The options, or what to print instead of measuring; a mistake is a UsageError (one line, exit 2). */
function options(argv: string[]) {
  const { values: parsed } = parseCommandLine(
    {
      command: 'npm run -s bench:cold-start --',
      options: {
        json: { type: 'boolean', default: false },
        runs: { type: 'string' },
        functions: { type: 'string' },
        node: { type: 'string', default: process.execPath },
      },
    },
    argv,
  );
  if (parsed.help) return 'help';
  if (parsed.version) return 'version';
  const runs = parseNumberOption('runs', parsed.runs, 3) ?? DEFAULT_RUNS;
  if (!Number.isInteger(runs))
    throw new UsageError(`--runs must be a whole number of at least 3 (got "${parsed.runs}")`);
  const available = readdirSync(join(ROOT, 'functions'))
    .filter((name) => existsSync(join(ROOT, 'functions', name, 'handler.ts')))
    .sort();
  const functions =
    parsed.functions === undefined
      ? available
      : parsed.functions
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
  const unknown = functions.filter((name) => !available.includes(name));
  if (unknown.length > 0 || functions.length === 0) {
    throw new UsageError(
      `--functions names no step or unknown steps (${unknown.join(', ') || 'empty'}); known: ${available.join(', ')}`,
    );
  }
  let nodeVersion: string;
  try {
    nodeVersion = execFileSync(parsed.node, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    }).trim();
  } catch {
    throw new UsageError(
      `cannot run --node "${parsed.node}"; give the path of a Node binary, or omit --node for the one running this script`,
    );
  }
  return { json: parsed.json, runs, functions, node: parsed.node, nodeVersion };
}

const log = (message: string) => process.stderr.write(`${message}\n`);

function stat(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1]!;
  return { median: median(sorted), p90 };
}

/** One fresh Node process; its wall time is from spawn to exit, as seen from here. */
function runOnce(node: string, runner: string, kind: Kind, bundle: string, variant: Variant): Promise<Sample> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...FUNCTION_ENV,
    LAMBDA_TASK_ROOT: join(bundle, '..'),
  };
  if (variant === 'on') env.NODE_OPTIONS = FLAG;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(node, [runner, kind, bundle], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      running = undefined;
      if (code !== 0)
        return reject(new Error(`${kind} run of ${bundle} (${variant}) exited with ${code}: ${stderr.trim()}`));
      try {
        resolve({ ...(JSON.parse(stdout) as RunnerOutput), wallMs });
      } catch {
        reject(new Error(`${kind} run of ${bundle} printed no result: ${stdout.slice(0, 200)} ${stderr.trim()}`));
      }
    });
  });
}

async function bundle(
  name: string,
  target: string,
  outDir: string,
): Promise<{ file: string; bundleKiB: number; mapMiB: number }> {
  const file = join(outDir, name, 'index.js');
  // The options CDK's NodejsFunction passes for this project's `bundling` (minify, sourceMap, CJS, nothing external).
  await build({
    entryPoints: [join(ROOT, 'functions', name, 'handler.ts')],
    outfile: file,
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    target,
    format: 'cjs',
    logLevel: 'error',
  });
  return { file, bundleKiB: statSync(file).size / 1024, mapMiB: statSync(`${file}.map`).size / 1024 / 1024 };
}

type Options = Exclude<ReturnType<typeof options>, 'help' | 'version'>;
type Bundles = ReadonlyMap<string, Awaited<ReturnType<typeof bundle>>>;
/** Every process's figures, by `<function>/<kind>/<variant>` (sampleKey). */
type Samples = Map<string, Sample[]>;

interface StackExample {
  readonly function: string;
  readonly message: string | undefined;
  readonly off: string[];
  readonly on: string[];
}

interface Report {
  readonly machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    arch: string;
    esbuildTarget: string;
    loadAverage: { before: number; after: number };
  };
  readonly runs: number;
  readonly baseline: Record<Variant, Stat>;
  readonly results: FunctionResult[];
  readonly stackExample: StackExample | undefined;
  readonly worstInitCostMs: number;
  readonly worstFirstErrorCostMs: number;
  readonly worstRssCostMiB: number;
  readonly enable: boolean;
}

async function main(argv: string[]): Promise<number> {
  const opts = options(argv);
  if (opts === 'help' || opts === 'version') {
    process.stdout.write(`${opts === 'help' ? USAGE : versionLine(PROGRAM)}\n`);
    return 0;
  }
  const target = `node${opts.nodeVersion.split('.')[0]}`;
  const loadBefore = loadavg()[0]!;
  workDir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  const runner = join(workDir, 'runner.js');
  writeFileSync(runner, RUNNER);

  log(`Bundling ${opts.functions.length} functions (esbuild, target ${target}) into ${workDir}...`);
  const bundles = new Map<string, Awaited<ReturnType<typeof bundle>>>();
  for (const name of opts.functions) bundles.set(name, await bundle(name, target, workDir));

  const samples = await measure(opts, runner, bundles);
  const results = opts.functions.map((name) => resultOf(name, samples, bundles));
  const baselineOf = (variant: Variant) =>
    stat(samplesOf(samples, 'baseline', 'baseline', variant).map((s) => s.wallMs));
  const baseline = { off: baselineOf('off'), on: baselineOf('on') };
  const stackExample = await stackExampleOf(opts, runner, bundles);
  const report: Report = {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: opts.nodeVersion,
      arch: process.arch,
      esbuildTarget: target,
      loadAverage: { before: loadBefore, after: loadavg()[0]! },
    },
    runs: opts.runs,
    baseline,
    results,
    stackExample,
    worstInitCostMs: Math.max(...results.map((r) => r.initCostMs)),
    worstFirstErrorCostMs: Math.max(...results.map((r) => r.firstErrorCostMs)),
    worstRssCostMiB: Math.max(...results.map((r) => r.rssCostAfterErrorMiB)),
    enable: results.every((r) => r.acceptable),
  };

  if (opts.json) {
    const { machine, runs, worstInitCostMs, worstFirstErrorCostMs, worstRssCostMiB, enable } = report;
    const thresholds = { maxInitCostMs: MAX_INIT_COST_MS, maxInitCostShare: MAX_INIT_COST_SHARE };
    process.stdout.write(
      `${JSON.stringify({ machine, runs, flag: FLAG, thresholds, baseline, functions: results, stackExample: stackExample ?? null, worstInitCostMs, worstFirstErrorCostMs, worstRssCostMiB, enable }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(`${reportLines(report).join('\n')}\n`);
  return 0;
}

const sampleKey = (name: string, kind: Kind, variant: Variant) => `${name}/${kind}/${variant}`;

function samplesOf(samples: Samples, name: string, kind: Kind, variant: Variant): Sample[] {
  return samples.get(sampleKey(name, kind, variant))!;
}

/** Which variant runs first in round `i`: alternated, so neither gets the warmer machine. */
const variants = (i: number): Variant[] => (i % 2 === 0 ? ['off', 'on'] : ['on', 'off']);

/** `opts.runs` rounds, each a bare runner and every function's load and error runs, with and without the flag. */
async function measure(opts: Options, runner: string, bundles: Bundles): Promise<Samples> {
  const samples: Samples = new Map();
  const record = (name: string, kind: Kind, variant: Variant, sample: Sample) => {
    const list = samples.get(sampleKey(name, kind, variant)) ?? [];
    list.push(sample);
    samples.set(sampleKey(name, kind, variant), list);
  };

  // One unrecorded pass first, so that every measured process finds the bundles and maps in the page cache.
  for (const name of opts.functions)
    for (const variant of variants(0)) await runOnce(opts.node, runner, 'error', bundles.get(name)!.file, variant);

  const total = opts.runs * (opts.functions.length * 4 + 2);
  let done = 0;
  for (let i = 0; i < opts.runs; i++) {
    for (const variant of variants(i))
      record('baseline', 'baseline', variant, await runOnce(opts.node, runner, 'baseline', runner, variant));
    // Rotate the functions and alternate which variant goes first, so neither gets the warmer machine.
    const order = opts.functions.map((_, j) => opts.functions[(i + j) % opts.functions.length]!);
    for (const [j, name] of order.entries()) {
      for (const kind of ['load', 'error'] as const) {
        for (const variant of variants(i + j))
          record(name, kind, variant, await runOnce(opts.node, runner, kind, bundles.get(name)!.file, variant));
        done += 2;
      }
    }
    done += 2;
    log(`  round ${i + 1}/${opts.runs} (${done}/${total} processes)`);
  }
  return samples;
}

function figuresOf(samples: Samples, name: string, variant: Variant): Record<Figure, Stat> {
  const load = samplesOf(samples, name, 'load', variant);
  const error = samplesOf(samples, name, 'error', variant);
  const of = (list: Sample[], figure: keyof Sample) => stat(list.map((sample) => sample[figure] as number));
  return {
    wallMs: of(load, 'wallMs'),
    loadedAtMs: of(load, 'loadedAtMs'),
    requireMs: of(load, 'requireMs'),
    rssAfterLoadMiB: of(load, 'rssAfterLoadMiB'),
    firstStackMs: of(error, 'firstStackMs'),
    firstBundleErrorMs: of(error, 'firstBundleErrorMs'),
    nextBundleErrorMs: of(error, 'nextBundleErrorMs'),
    rssAfterErrorMiB: of(error, 'rssAfterErrorMiB'),
  };
}

/** The flag's cost: the differences between each process with it and the one without it of the same round. */
function pairedCost(samples: Samples, name: string, kind: Kind, figure: Figure): Stat {
  const off = samplesOf(samples, name, kind, 'off');
  const on = samplesOf(samples, name, kind, 'on');
  return stat(on.map((sample, i) => (sample[figure] as number) - (off[i]![figure] as number)));
}

function resultOf(name: string, samples: Samples, bundles: Bundles): FunctionResult {
  const off = figuresOf(samples, name, 'off');
  const on = figuresOf(samples, name, 'on');
  const initCost = pairedCost(samples, name, 'load', 'loadedAtMs');
  const initCostMs = initCost.median;
  const initCostShare = initCostMs / off.loadedAtMs.median;
  const frameOf = (variant: Variant) => samplesOf(samples, name, 'error', variant)[0]!.frame ?? '';
  return {
    name,
    bundleKiB: bundles.get(name)!.bundleKiB,
    mapMiB: bundles.get(name)!.mapMiB,
    off,
    on,
    initCostMs,
    initCostP90Ms: initCost.p90,
    initCostShare,
    wallCostMs: pairedCost(samples, name, 'load', 'wallMs').median,
    firstErrorCostMs: pairedCost(samples, name, 'error', 'firstBundleErrorMs').median,
    rssCostAfterLoadMiB: pairedCost(samples, name, 'load', 'rssAfterLoadMiB').median,
    rssCostAfterErrorMiB: pairedCost(samples, name, 'error', 'rssAfterErrorMiB').median,
    frame: { off: frameOf('off'), on: frameOf('on') },
    acceptable: initCostMs < MAX_INIT_COST_MS || initCostShare < MAX_INIT_COST_SHARE,
  };
}

/** The stack-frame example: a misconfigured function's error, from config.ts through its handler. */
async function stackExampleOf(opts: Options, runner: string, bundles: Bundles): Promise<StackExample | undefined> {
  const demoName = ['check-batch', 'ingest'].find((name) => bundles.has(name));
  if (demoName === undefined) return undefined;
  const off = await runOnce(opts.node, runner, 'frames', bundles.get(demoName)!.file, 'off');
  const on = await runOnce(opts.node, runner, 'frames', bundles.get(demoName)!.file, 'on');
  return { function: demoName, message: off.message, off: off.frames ?? [], on: on.frames ?? [] };
}

/** The report for people: the figures of each function, the flag's costs, and the decision. */
function reportLines({
  machine,
  runs,
  baseline,
  results,
  stackExample,
  worstInitCostMs,
  worstFirstErrorCostMs,
  worstRssCostMiB,
  enable,
}: Report): string[] {
  const ms = (s: Stat, digits = 1) => `${s.median.toFixed(digits)} / ${s.p90.toFixed(digits)}`;
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    `Node ${machine.node} (${machine.arch}), ${machine.cpus} cores (${machine.cpuModel}), esbuild target ${machine.esbuildTarget}, ${runs} processes per figure, 1-minute load average ${machine.loadAverage.before.toFixed(2)} before, ${machine.loadAverage.after.toFixed(2)} after.`,
    `Times in ms as median / p90; peak RSS in MiB (median). A bare node process (the runner alone) takes ${ms(baseline.off)} ms without the flag, ${ms(baseline.on)} ms with it.`,
    '',
    row([
      'function',
      'bundle / map',
      FLAG,
      'init: start to handler required',
      'require()',
      'process wall',
      'first stack (runner frame)',
      'first bundle error formatted',
      'next bundle error',
      'peak RSS after load',
      'peak RSS after error',
    ]),
    row(Array(11).fill('---')),
    ...results.flatMap((r) =>
      (['off', 'on'] as const).map((variant) => {
        const f = r[variant];
        return row([
          variant === 'off' ? r.name : '',
          variant === 'off' ? `${(r.bundleKiB / 1024).toFixed(1)} / ${r.mapMiB.toFixed(1)} MiB` : '',
          variant === 'off' ? 'without' : 'with',
          ms(f.loadedAtMs),
          ms(f.requireMs),
          ms(f.wallMs),
          ms(f.firstStackMs, 2),
          ms(f.firstBundleErrorMs),
          ms(f.nextBundleErrorMs, 2),
          f.rssAfterLoadMiB.median.toFixed(0),
          f.rssAfterErrorMiB.median.toFixed(0),
        ]);
      }),
    ),
    '',
    row([
      'function',
      'init cost of the flag (median / p90 of paired differences)',
      'share of init',
      'wall cost',
      'first-error cost',
      'RSS cost after load',
      'RSS cost after error',
      'within threshold',
    ]),
    row(Array(8).fill('---')),
    ...results.map((r) =>
      row([
        r.name,
        `${r.initCostMs.toFixed(1)} / ${r.initCostP90Ms.toFixed(1)} ms`,
        `${(100 * r.initCostShare).toFixed(1)} %`,
        `${r.wallCostMs.toFixed(1)} ms`,
        `${r.firstErrorCostMs.toFixed(1)} ms`,
        `${r.rssCostAfterLoadMiB.toFixed(0)} MiB`,
        `${r.rssCostAfterErrorMiB.toFixed(0)} MiB`,
        r.acceptable ? 'yes' : 'no',
      ]),
    ),
    '',
    `First frame of middy's error in ${results[0]!.name}:`,
    `  without the flag: ${results[0]!.frame.off.trim()}`,
    `  with the flag:    ${results[0]!.frame.on.trim()}`,
  ];
  if (stackExample) {
    lines.push(
      '',
      `${stackExample.function} with WORK_BUCKET unset ("${stackExample.message}"):`,
      '  without the flag:',
      ...stackExample.off.map((f) => `  ${f}`),
      '  with the flag:',
      ...stackExample.on.map((f) => `  ${f}`),
    );
  }
  lines.push(
    '',
    `Decision: ${enable ? 'enable' : 'do not enable'} ${FLAG}: the flag adds at most ${worstInitCostMs.toFixed(1)} ms to a function's init ` +
      `(median; threshold: < ${MAX_INIT_COST_MS} ms or < ${100 * MAX_INIT_COST_SHARE} % of init), up to ${worstFirstErrorCostMs.toFixed(1)} ms ` +
      `to the first error formatted in a process and up to ${worstRssCostMiB.toFixed(0)} MiB of peak RSS once that error is formatted.`,
  );
  return lines;
}

runMain(PROGRAM, main);
