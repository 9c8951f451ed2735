import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, type ExpectStatic, expect, it } from 'vitest';
import {
  type BashResult,
  commandsOf,
  exitWithin,
  type FencedBlock,
  fencedBlocks,
  killGroup,
  type ReadmeCommand,
  type RunningCommand,
  runBash,
  splitAnd,
  startBash,
  tail,
  waitForOutput,
} from '../helpers/readme-blocks';

/**
 * Every command of the README's ```bash blocks, run as written with bash from the repository root, as a reader
 * would paste it: one-shot commands must end with the exit status the README gives them, a server (`--serve`, the
 * simulator) is started in the background and stopped with SIGTERM once the rest of its block has run against it.
 * What is not run is listed below with the reason; everything else runs. The outcome of every command is written
 * to test-results/readme-commands.txt and printed.
 */

const ROOT = resolve(__dirname, '../..');
// README_UNDER_TEST: a changed copy of the README to try before it lands (the commands still run from the root).
const README_FILE = process.env.README_UNDER_TEST ?? join(ROOT, 'README.md');
const README = readFileSync(README_FILE, 'utf8');
const REPORT_FILE = join(ROOT, 'test-results', 'readme-commands.txt');

/** Whole blocks another test runs as written. */
const BLOCKS_RUN_ELSEWHERE: readonly { readonly marker: string; readonly why: string }[] = [
  {
    marker: 'simulator-tutorial',
    why: 'the simulator tutorial: test/unit/readme-tutorial.test.ts runs this block as written',
  },
];

interface Rule {
  readonly rule: string;
  readonly matches: (command: string) => boolean;
  readonly why: string;
  /** What the reason adds for this command. */
  readonly detail?: (command: string) => string;
}

/** Commands (or parts of `a && b`) that are not run, and why. The first rule that matches decides. */
const NOT_RUN: readonly Rule[] = [
  {
    rule: 'npm ci',
    matches: (c) => /^npm ci\b/.test(c),
    why: 'installs the dependencies: this suite runs in the tree .ci/run installed with npm ci',
  },
  {
    rule: 'npm test',
    matches: (c) => /^npm (run -s )?test\b/.test(c),
    why: 'runs this very suite, this file included',
  },
  {
    rule: 'npm install / uninstall / update',
    matches: (c) => /^npm (install|i|add|uninstall|remove|update)\b/.test(c),
    why: "changes the current folder's dependencies: from the repository root it would change this repository's (the README means another app's folder); test/package/pack-install-synth.test.ts installs the package into a new app",
  },
  {
    rule: 'npm pack / publish',
    matches: (c) => /^npm (pack|publish)\b/.test(c),
    why: 'builds and writes the package outside the repository (or publishes it): test/package/pack-install-synth.test.ts packs it into a scratch folder',
  },
  {
    rule: 'npx cdk deploy / bootstrap / destroy',
    matches: (c) => /^npx cdk (deploy|bootstrap|destroy)\b/.test(c),
    why: 'needs an AWS account and its credentials',
  },
  {
    rule: 'aws secretsmanager ...',
    matches: (c) => /^aws secretsmanager\b/.test(c),
    why: "needs an AWS account: it writes the deployed stack's secret",
  },
  {
    rule: 'placeholders',
    matches: (c) => placeholdersIn(c).length > 0,
    why: 'a synopsis or a template, not a command to run as written: it has <...>, [--option ...] or upper-case words such as DIR to fill in',
    detail: (c) => placeholdersIn(c).join(', '),
  },
];

/**
 * Commands that keep running until stopped, and how to tell they are ready: they print the loopback address they
 * serve (the port of `--s3-port N` when given, which the test moves to a free port in the whole block).
 */
const SERVERS: readonly { readonly rule: string; readonly matches: RegExp }[] = [
  { rule: 'npm run -s local -- --serve', matches: /^npm run -s local -- (.*\s)?--serve\b/s },
  { rule: 'npm run -s simulator', matches: /^npm run -s simulator\b/ },
];

/**
 * The environment every command starts from. The reader's own AWS settings would decide what the README's commands
 * do, so there are none: the credentials a command needs are those the README gives it. CDK's built-in validation
 * of the synthesized template (CDK_VALIDATION) is left to test/infra, which synthesizes the same template: it is
 * half the CPU time of each local-mode run (npm start: 16 CPU-seconds with it, 7.5 without), and this file runs
 * about ten of them on 2 cores within its 90 s.
 */
const SCRATCH_HOME = mkdtempSync(join(tmpdir(), 'readme-commands-home-'));
const BASE_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^AWS_(?!SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED$)/.test(name),
    ),
  ),
  // Whatever a command writes to `~` (npm's logs, say) goes to a scratch folder, not to the home of whoever runs the suite.
  HOME: SCRATCH_HOME,
  // npm would otherwise ask the registry whether it is out of date, a network call no README command needs.
  NPM_CONFIG_UPDATE_NOTIFIER: 'false',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  CDK_VALIDATION: 'false',
};

/**
 * Jobs run at once (a one-shot command, or a server's block): they mostly wait on timers and sockets, and 2 cores
 * are shared with another test file.
 */
const CONCURRENCY = 3;
/** Guards against a hang, not measures: far above what any README command takes. */
const COMMAND_LIMIT_MS = 150_000;
const SERVER_READY_LIMIT_MS = 60_000;
const NOTIFICATION_LIMIT_MS = 60_000;
const SERVER_STOP_LIMIT_MS = 40_000;

/** The placeholders that make a command a synopsis: `<...>`, optional `[--...]` parts, upper-case words (DIR, NAME). */
function placeholdersIn(command: string): string[] {
  const found = [
    // `<drop bucket>`, `<Pix4dSecretArn>`; not a redirection (`< file`, `<in >out`: a space before the `>`).
    ...(command.match(/<[A-Za-z](?:[^<>\n]*[^<>\s])?>/g) ?? []),
    ...(/\[--?[a-z]/.test(command) ? ['[options]'] : []),
    ...(command.match(/(?<=\s)[A-Z][A-Z0-9_]*(?:\/[A-Z][A-Z0-9_]*)?(?=[\s\]|]|$)/g) ?? []),
  ];
  return [...new Set(found)];
}

/** The exit status the README gives a command in its comment (`# ends inspection.timed_out, exit 1`), else 0. */
function expectedStatus(command: ReadmeCommand): number {
  const stated = /\bexit (?:status )?(\d+)\b/.exec(command.comment ?? '')?.[1];
  return stated === undefined ? 0 : Number(stated);
}

/** Commands that set up the terminal for the next ones: a block with one runs in order in one terminal. */
const changesTerminal = (text: string) =>
  /^(export|cd|source|\.)\s|^[A-Za-z_][A-Za-z0-9_]*=\S*$|^\w+\s*\(\)/.test(text);

interface Excluded {
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

interface Step {
  readonly command: ReadmeCommand;
  /** What is run: the command, less the parts of `a && b` that are not run. */
  readonly run: string;
  readonly status: number;
}

interface Server extends Step {
  readonly ready: RegExp;
}

interface Job {
  readonly name: string;
  readonly server: Server | undefined;
  readonly steps: readonly Step[];
}

/** What the README's bash blocks ask for: the jobs to run, and what is left out, with why. */
function plan(blocks: readonly FencedBlock[]): { jobs: Job[]; excluded: Excluded[] } {
  const jobs: Job[] = [];
  const excluded: Excluded[] = [];
  for (const block of blocks) {
    const elsewhere = BLOCKS_RUN_ELSEWHERE.find((rule) => rule.marker === block.marker);
    if (elsewhere) {
      excluded.push({
        line: block.line,
        text: `(the block after <!-- ${elsewhere.marker} -->, ${block.lines.length} lines)`,
        why: elsewhere.why,
      });
      continue;
    }
    let server: Server | undefined;
    const steps: Step[] = [];
    for (const command of commandsOf(block)) {
      const parts = splitAnd(command.text);
      const notRun = parts.map((part) => NOT_RUN.find((rule) => rule.matches(part)));
      const why = (rule: Rule, part: string) =>
        `${rule.rule}: ${rule.why}${rule.detail ? `: ${rule.detail(part)}` : ''}`;
      if (notRun.every((rule) => rule !== undefined)) {
        excluded.push({
          line: command.line,
          text: command.text,
          why: [...new Set(parts.map((part, index) => why(notRun[index]!, part)))].join('; '),
        });
        continue;
      }
      parts.forEach((part, index) => {
        const rule = notRun[index];
        if (rule)
          excluded.push({ line: command.line, text: part, why: `${why(rule, part)} (the rest of the line runs)` });
      });
      const run = parts.filter((_, index) => notRun[index] === undefined).join(' && ');
      const step = { command, run, status: expectedStatus(command) };
      if (SERVERS.some((rule) => rule.matches.test(run))) {
        if (server) throw new Error(`README line ${command.line}: a second server in the block of line ${block.line}`);
        const port = /--s3-port (\d+)/.exec(run)?.[1];
        server = { ...step, ready: new RegExp(`http://127\\.0\\.0\\.1:${port ?? '\\d+'}\\b`) };
      } else {
        steps.push(step);
      }
    }
    const name = (step: Step) => `line ${step.command.line}: ${step.run.split('\n')[0]}`;
    if (server) {
      jobs.push({ name: `${name(server)} (a server), then ${steps.length} command(s) against it`, server, steps });
    } else if (steps.some((step) => changesTerminal(step.run))) {
      jobs.push({ name: `block of line ${block.line}: ${steps.length} commands in one terminal`, server, steps });
    } else {
      // Examples side by side, each starting from a fresh terminal: run on their own, at the same time.
      for (const step of steps) jobs.push({ name: name(step), server, steps: [step] });
    }
  }
  return { jobs, excluded };
}

/** At most `size` jobs at once; the others wait their turn in order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async take<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

interface Outcome {
  readonly line: number;
  readonly text: string;
  readonly result: string;
}

const outcomes: Outcome[] = [];
const servers = new Set<RunningCommand>();

/** The batch folders a block drops flights into: `s3://inspect-drop/<asset>/<flight>/`, `upload ... --asset A --flight F`. */
function droppedFolders(steps: readonly Step[]): string[] {
  const folders = steps.flatMap(({ run }) => {
    const copied = [...run.matchAll(/s3:\/\/inspect-drop\/([^/\s]+\/[^/\s]+)\//g)].map((m) => `${m[1]}/`);
    const [asset, flight] = [/--asset (\S+)/.exec(run)?.[1], /--flight (\S+)/.exec(run)?.[1]];
    const uploaded = /\bnpm run -s cli -- upload\b/.test(run) && asset && flight ? [`${asset}/${flight}/`] : [];
    return [...copied, ...uploaded];
  });
  return [...new Set(folders)];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** What the README promises of a command's output beyond its status, read from its own text and comment. */
function assessOutput(step: Step, result: BashResult, expect: ExpectStatic): void {
  const output = `${result.stdout}\n${result.stderr}`;
  for (const type of step.command.comment?.match(/\binspection\.[a-z_]+/g) ?? []) {
    expect(result.stdout, `line ${step.command.line}: its comment says ${type}`).toContain(type);
  }
  const all = /(\d+) inspections, all completed/.exec(step.command.comment ?? '')?.[1];
  if (all !== undefined)
    expect(result.stdout, `line ${step.command.line}: ${step.command.comment}`).toContain(
      `${all} of ${all} flight(s) completed`,
    );
  if (/^npm (start|run -s local)\b.*\s--json\b/s.test(step.run)) {
    // The options table: "--json | stdout is JSON Lines".
    for (const line of result.stdout.split('\n').filter((text) => text.trim() !== '')) {
      expect(
        () => JSON.parse(line),
        `line ${step.command.line}: stdout is not JSON Lines: ${line}\n${tail(output)}`,
      ).not.toThrow();
    }
  }
}

/** A port no process of this machine listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

/** Runs the steps one after the other in one terminal (the environment an `export` leaves goes on to the next). */
async function runSteps(steps: readonly Step[], expect: ExpectStatic): Promise<void> {
  let env = BASE_ENV;
  for (const [index, step] of steps.entries()) {
    const result = await runBash(step.run, ROOT, env, COMMAND_LIMIT_MS).catch((error: Error) => {
      notReached([step], `killed: still running after ${COMMAND_LIMIT_MS / 1000} s`);
      notReached(steps.slice(index + 1), `not reached: line ${step.command.line} failed`);
      throw error;
    });
    env = result.env;
    const status = result.code ?? `signal ${result.signal}`;
    outcomes.push({
      line: step.command.line,
      text: step.run,
      result: `ran: exit ${status}${status === step.status ? '' : ` (README: ${step.status})`}, ${result.seconds.toFixed(1)} s`,
    });
    try {
      expect(
        status,
        `README line ${step.command.line}: ${step.run}\nstdout:\n${tail(result.stdout)}\nstderr:\n${tail(result.stderr)}`,
      ).toBe(step.status);
      assessOutput(step, result, expect);
    } catch (error) {
      notReached(steps.slice(index + 1), `not reached: line ${step.command.line} failed`);
      throw error;
    }
  }
}

function notReached(steps: readonly Step[], why: string): void {
  for (const step of steps) outcomes.push({ line: step.command.line, text: step.run, result: why });
}

/**
 * A server's block: the server started as in one terminal, ready once it prints its address; the block's other
 * commands in another; then, once every flight they dropped has its notification (the README's promise: "every
 * flight any S3 client drops is processed and its notification printed"), SIGTERM to it and its exit status.
 */
async function runServerBlock(readmeServer: Server, readmeSteps: readonly Step[], expect: ExpectStatic): Promise<void> {
  const started = Date.now();
  // The README's fixed port, moved to a free one in every command of the block: another test run on the same
  // machine may be serving on it. Nothing else of the commands changes.
  const readmePort = /--s3-port (\d+)/.exec(readmeServer.run)?.[1];
  const port = readmePort === undefined ? undefined : String(await freePort());
  const onFreePort = (text: string) =>
    readmePort === undefined ? text : text.replace(new RegExp(`\\b${readmePort}\\b`, 'g'), port!);
  const server: Server = {
    ...readmeServer,
    run: onFreePort(readmeServer.run),
    ready: port === undefined ? readmeServer.ready : new RegExp(`http://127\\.0\\.0\\.1:${port}\\b`),
  };
  const steps = readmeSteps.map((step) => ({ ...step, run: onFreePort(step.run) }));
  // `exec`: the signal goes to the command itself (npm), as `kill <its pid>` would, not to a shell around it.
  const running = startBash(`exec ${server.run}`, ROOT, BASE_ENV);
  servers.add(running);
  let result = 'started, not stopped: the block failed first';
  try {
    await waitForOutput(running, server.ready, SERVER_READY_LIMIT_MS).catch((error: Error) => {
      result = `never ready: no ${server.ready} on stdout`;
      notReached(steps, `not reached: the server of line ${server.command.line} was not ready`);
      throw error;
    });
    await runSteps(steps, expect);
    for (const folder of droppedFolders(steps)) {
      await waitForOutput(
        running,
        new RegExp(`inspection\\.[a-z_]+\\b.*${escapeRegExp(folder)}`),
        NOTIFICATION_LIMIT_MS,
      ).catch((error: Error) => {
        result = `started; no notification for ${folder}`;
        throw new Error(
          `README line ${server.command.line}: no notification for the flight dropped into ${folder}: ${error.message}`,
        );
      });
    }
    running.child.kill('SIGTERM');
    const stop = await exitWithin(running, SERVER_STOP_LIMIT_MS);
    if (stop === undefined) {
      result = `still running ${SERVER_STOP_LIMIT_MS / 1000} s after SIGTERM (then killed)`;
      throw new Error(
        `README line ${server.command.line}: ${server.run}: ${result}\nstdout:\n${tail(running.stdout())}`,
      );
    }
    const status = stop.code ?? `signal ${stop.signal}`;
    result = `ran in the background, stopped with SIGTERM: exit ${status}${status === server.status ? '' : ` (README: ${server.status})`}`;
    expect(
      status,
      `README line ${server.command.line}: ${server.run} after SIGTERM\nstdout:\n${tail(running.stdout())}\nstderr:\n${tail(running.stderr())}`,
    ).toBe(server.status);
  } finally {
    killGroup(running.child, 'SIGKILL');
    servers.delete(running);
    outcomes.push({
      line: server.command.line,
      text: server.run,
      result: `${result}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    });
  }
}

const { jobs, excluded } = plan(fencedBlocks(README).filter((block) => block.language === 'bash'));
const slots = new Slots(CONCURRENCY);

/**
 * The servers' blocks, one after the other, in one slot held from the first
 * block's start to the last one's end: together they take longest, and must not wait behind one-shot commands.
 */
class ServerLane {
  private turn: Promise<unknown> = Promise.resolve();
  private slot: Promise<() => void> | undefined;
  constructor(private left: number) {}

  run(work: () => Promise<void>): Promise<void> {
    this.slot ??= new Promise((held) => void slots.take(() => new Promise<void>((release) => held(release))));
    const mine = this.turn.then(() => this.slot).then(work);
    this.turn = mine
      .catch(() => undefined)
      .then(async () => {
        this.left -= 1;
        if (this.left === 0) (await this.slot!)();
      });
    return mine;
  }
}
const serverLane = new ServerLane(jobs.filter((job) => job.server).length);
const startedAt = Date.now();

afterAll(() => {
  for (const running of servers) killGroup(running.child, 'SIGKILL');
  rmSync(SCRATCH_HOME, { recursive: true, force: true });
  const rows = [
    ...outcomes,
    ...excluded.map(({ line, text, why }) => ({ line, text, result: `not run: ${why}` })),
  ].sort((a, b) => a.line - b.line);
  const ran = outcomes.length;
  const report = [
    `${README_FILE} commands: ${ran} ran, ${excluded.length} not run, in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${CONCURRENCY} at a time)`,
    ...rows.map(
      ({ line, text, result }) =>
        `line ${String(line).padStart(4)}  ${text.replace(/\s*\\\n\s*/g, ' ').replace(/\n\s*/g, ' ')}\n           ${result}`,
    ),
  ].join('\n');
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(REPORT_FILE, `${report}\n`);
  console.log(report);
});

describe('the README commands, as written', () => {
  it('finds commands to run in the README, and a reason for each one it leaves out', () => {
    // Assess: a README without commands, or a rule that took every command, would leave the tests below vacuous.
    expect(jobs.length).toBeGreaterThan(0);
    for (const entry of excluded) expect(entry.why, `README line ${entry.line}`).toMatch(/: ./);
  });

  // Server blocks first: vitest starts 5 concurrent tests at a time, in order, and one after the other they take longest.
  describe.concurrent('each runs and exits as the README says', () => {
    for (const job of [...jobs.filter((job) => job.server), ...jobs.filter((job) => !job.server)]) {
      const { server, steps } = job;
      // The test's own expect: with tests running at once, it ties each failure to its test.
      it(
        job.name,
        ({ expect }) =>
          server
            ? serverLane.run(() => runServerBlock(server, steps, expect))
            : slots.take(() => runSteps(steps, expect)),
        COMMAND_LIMIT_MS * 3,
      );
    }
  });
});
