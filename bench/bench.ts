import '../local/node-version-warning';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parseNumberOption, UsageError } from '../local/cli-options';
import { parseCommandLine, runMain, versionLine } from '../local/command-line';
import { embeddedS3Credentials } from '../local/s3/embedded-s3';
import { DEFAULT_CONCURRENCY } from '../src/copy/copier';
import { median } from '../src/median';
import { Pix4dInspectClient } from '../src/pix4d/client';
import { DEFAULT_PROCESSING_PARAMETERS } from '../src/pix4d/schemas';
import { createS3Client } from '../src/s3-client';
import { MAX_RUN_TRANSITIONS } from '../src/status/poll-schedule';
import { deletePrefix, putPhotos } from './bench-data';
import { bundleScript, log, MiB, ROOT, sdkEnv, startServers } from './bench-setup';
import type { CopyBenchServers, CopyRun } from './bench-types';
import { runMeasured } from './cpu-time';
import { type LoadSummary, startLoad } from './load';
import { MEDIAN_DELAY_TARGET_SECONDS, measurePollLatency } from './poll-latency';
import type { WriteFloorInput, WriteFloorRun } from './write-floor';

/**
 * `npm run -s bench -- [--json] [--rounds N] [--aws-cli PATH] [--load]`: the copy's throughput and CPU against
 * the aws CLI and against a bare HTTP client (the write floor), the copy worker's peak memory, how soon the
 * notification follows the end of processing and what the polling costs, and the end-to-end time of a local run. Timings are measured here and only here, never
 * asserted in tests.
 */

const PROGRAM = 'bench';
const DEFAULT_ROUNDS = 5;
const DEFAULT_AWS_CLI = '/usr/bin/aws';

const USAGE = `Usage: npm run -s bench -- [options]

Measures the copy's throughput and CPU against the aws CLI and against a bare HTTP client writing the same
objects (the write floor), the copy worker's peak memory (200 photos, 1,000 photos, one 2 GiB file), the
delay from the end of processing to the notification and the state transitions of the polling (flights of 10 min
to 24 simulated hours, and one to the 48-hour deadline) and the end-to-end time of a 1,000-photo local run. Takes several minutes, about twice as long with --load; progress goes to stderr, the results to stdout.

  --rounds N       copy rounds, whose median is reported (default ${DEFAULT_ROUNDS}, at least 3)
  --aws-cli PATH   the aws CLI to compare with (default ${DEFAULT_AWS_CLI} when present, else aws on PATH)
  --load           run the copy rounds a second time with a second benchmark-sized load beside them (another set
                   of servers and a copy worker copying the same data set in a loop) and report the loaded figures
  --json           print the results as one JSON object instead of text
  -h, --help       show this help
  --version        print the version
  --debug          print the stack trace of an unexpected error`;

/** The copy data set: 200 photos of 4 MiB. */
const COPY_PREFIX = 'copy-200/';
const COPY_OBJECTS = 200;
const COPY_BYTES = COPY_OBJECTS * 4 * MiB;
const COPY_GIB = COPY_BYTES / 1024 ** 3;

interface BenchOptions {
  readonly json: boolean;
  readonly rounds: number;
  readonly awsCli: string | undefined;
  readonly load: boolean;
}

/** The options, or what to print instead of running: parsed in `main`, so that a mistake is one line, not a crash. */
function readOptions(argv: string[]): BenchOptions | 'help' | 'version' {
  const { values } = parseCommandLine(
    {
      command: 'npm run -s bench --',
      options: {
        json: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        'aws-cli': { type: 'string' },
        load: { type: 'boolean', default: false },
      },
    },
    argv,
  );
  if (values.help) return 'help';
  if (values.version) return 'version';
  const rounds = parseNumberOption('rounds', values.rounds, 3) ?? DEFAULT_ROUNDS;
  if (!Number.isInteger(rounds))
    throw new UsageError(`--rounds must be a whole number of at least 3 (got "${values.rounds}")`);
  if (values['aws-cli'] !== undefined && values['aws-cli'].trim() === '')
    throw new UsageError('--aws-cli needs the path of an aws CLI');
  return { json: values.json, rounds, awsCli: values['aws-cli'], load: values.load };
}

async function main(argv: string[]): Promise<number> {
  const options = readOptions(argv);
  if (options === 'help' || options === 'version') {
    process.stdout.write(`${options === 'help' ? USAGE : versionLine(PROGRAM)}\n`);
    return 0;
  }
  await runBenchmarks(options);
  return 0;
}

/** What the copy rounds work with. */
interface Bench {
  readonly servers: CopyBenchServers;
  /** A client of the drop bucket's embedded S3 server. */
  readonly drop: S3Client;
  /** A client of the embedded S3 server behind the gateway, to delete each round's copies. */
  readonly inspect: S3Client;
  /** The bundled copy worker and write floor. */
  readonly worker: string;
  readonly floor: string;
  readonly cli: AwsCli | undefined;
}

interface AwsCli {
  readonly path: string;
  readonly version: string;
}

async function runBenchmarks(options: BenchOptions): Promise<void> {
  const started = Date.now();
  const cli = await findAwsCli(options.awsCli);
  const folder = await mkdtemp(join(tmpdir(), 'bench-'));
  const running = await startServers();
  const { servers } = running;
  const drop = createS3Client({ endpoint: servers.s3Endpoint, credentials: embeddedS3Credentials() });
  const inspect = createS3Client({ endpoint: servers.inspectS3Endpoint, credentials: embeddedS3Credentials() });
  try {
    log('Bundling the copy worker and the write floor as the functions are bundled...');
    const bench: Bench = {
      servers,
      drop,
      inspect,
      worker: await bundleScript('copy-worker', folder),
      floor: await bundleScript('write-floor', folder),
      cli,
    };
    log('Uploading the data sets to the embedded S3 server...');
    await putPhotos(drop, servers.dropBucket, COPY_PREFIX, COPY_OBJECTS, 4 * MiB);
    const throughput = await measureThroughput(bench, options);
    await putPhotos(drop, servers.dropBucket, 'memory-1000/', 1_000, 1 * MiB);
    await putLargeFile(drop, servers.dropBucket, 'memory-2gib/video.mp4', 2 * 1024 * MiB);
    const memory = await measureMemory(bench, throughput.project.peakRssMiB);
    await running.stop();
    const polling = await measurePolling();
    const endToEnd = await measureEndToEnd();
    report({ throughput, memory, polling, endToEnd, seconds: (Date.now() - started) / 1000 }, options.json);
  } finally {
    drop.destroy();
    inspect.destroy();
    await running.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

/** `--aws-cli`, else /usr/bin/aws, else `aws` on PATH; undefined when there is none. Its version names it. */
async function findAwsCli(option: string | undefined): Promise<AwsCli | undefined> {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .map((folder) => join(folder, 'aws'))
    .find((candidate) => candidate.startsWith('/') && existsSync(candidate));
  const path = option ?? (existsSync(DEFAULT_AWS_CLI) ? DEFAULT_AWS_CLI : onPath);
  if (path === undefined) {
    log('No aws CLI found (--aws-cli PATH, /usr/bin/aws or aws on PATH): reporting the project figures alone.');
    return undefined;
  }
  const version = await new Promise<string>((resolve, reject) =>
    execFile(path, ['--version'], { env: process.env }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${path} --version failed, is it an aws CLI? ${String(stderr).trim()}`))
        : resolve(`${stdout}${stderr}`.trim().split('\n')[0] ?? 'unknown'),
    ),
  );
  return { path, version };
}

async function putLargeFile(s3: S3Client, bucket: string, key: string, size: number): Promise<void> {
  const chunk = randomBytes(8 * MiB);
  async function* content() {
    for (let sent = 0; sent < size; sent += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, size - sent));
  }
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: Readable.from(content()) },
    partSize: 16 * MiB,
    queueSize: 2,
  }).done();
}

/** Seconds and CPU seconds of one measured run; CPU null where it cannot be measured (not Linux). */
interface Measured {
  readonly seconds: number;
  readonly cpuSeconds: number | null;
}

interface Round {
  readonly project: Measured & { readonly copyCpuSeconds: number; readonly peakRssMiB: number };
  readonly twoHop?: Measured;
  readonly oneHop?: Measured;
  readonly floor?: Measured;
}

/** The copy worker, bundled, as a process of its own; what it copied is deleted afterwards. */
async function projectCopy(bench: Bench, prefix: string): Promise<Round['project'] & { bytes: number }> {
  const inspectionId = await newInspection(bench.servers, 'project copy');
  const measured = await runMeasured(
    'the copy worker',
    process.execPath,
    [bench.worker, JSON.stringify({ servers: bench.servers, prefix, inspectionId })],
    { env: sdkEnv, cwd: ROOT },
  );
  const run = JSON.parse(lastLine(measured.stdout)) as CopyRun;
  await deletePrefix(bench.inspect, bench.servers.inspectBucket, `${run.keyPrefix}/`);
  return {
    seconds: run.seconds,
    cpuSeconds: measured.cpuSeconds,
    copyCpuSeconds: run.copyCpuSeconds,
    peakRssMiB: run.peakRssMiB,
    bytes: run.bytes,
  };
}

async function copyRounds(bench: Bench, rounds: number, label: string, withFloor: boolean): Promise<Round[]> {
  const results: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    log(`Copy round ${round} of ${rounds} (${label}): the project's copy engine...`);
    const project = await projectCopy(bench, COPY_PREFIX);
    let cli: { twoHop: Measured; oneHop: Measured } | undefined;
    if (bench.cli) {
      log(`Copy round ${round} of ${rounds} (${label}): aws CLI, down to disk and up again...`);
      cli = await cliRound(bench, bench.cli);
    }
    let floor: Measured | undefined;
    if (withFloor) {
      log(`Copy round ${round} of ${rounds} (${label}): the write floor, a bare HTTP client...`);
      floor = await writeFloor(bench);
    }
    results.push({ project, ...cli, ...(floor ? { floor } : {}) });
  }
  return results;
}

async function measureThroughput(bench: Bench, options: BenchOptions) {
  const loadBefore = loadavg()[0] ?? 0;
  const idle = await copyRounds(bench, options.rounds, 'idle', true);
  const loadAfter = loadavg()[0] ?? 0;
  const figures = summarize(idle);
  const loaded = options.load ? await loadedRounds(bench, options.rounds) : undefined;
  return {
    dataSet: `${COPY_OBJECTS} photos x 4 MiB`,
    rounds: options.rounds,
    concurrency: DEFAULT_CONCURRENCY,
    loadAverage1m: { before: round2(loadBefore), after: round2(loadAfter) },
    awsCli: bench.cli ?? 'missing: --aws-cli PATH, /usr/bin/aws (apt-get install awscli) or aws on PATH',
    ...figures,
    loaded: loaded ?? 'not run: --load runs the copy rounds again with a second load beside them',
  };
}

/** The copy rounds again, with `--load`'s second load running beside them (no write floor: its target is idle). */
async function loadedRounds(bench: Bench, rounds: number) {
  const load = await startLoad(bench.worker);
  let results: Round[];
  let summary: LoadSummary;
  const loadBefore = loadavg()[0] ?? 0;
  try {
    results = await copyRounds(bench, rounds, 'with a second load', false);
  } finally {
    summary = await load.stop();
  }
  const { project, awsCliTwoHop, awsCliOneHopUpload, speedupOverTwoHop, ratioToOneHop } = summarize(results);
  return {
    load: 'a second copy worker copying the same data set in a loop, with servers of its own',
    loadCopies: summary.copies,
    loadAverage1m: { before: round2(loadBefore), after: round2(loadavg()[0] ?? 0) },
    project,
    awsCliTwoHop,
    awsCliOneHopUpload,
    speedupOverTwoHop,
    ratioToOneHop,
  };
}

function timed(runs: readonly Measured[]) {
  const seconds = median(runs.map((run) => run.seconds));
  const cpu = runs.every((run) => run.cpuSeconds !== null) ? median(runs.map((run) => run.cpuSeconds as number)) : null;
  return {
    seconds: round2(seconds),
    mibPerSecond: round2(COPY_BYTES / MiB / seconds),
    cpuSecondsPerGiB: cpu === null ? null : round2(cpu / COPY_GIB),
  };
}

/** Medians over the rounds, each figure on its own, and the ratios of the medians. */
function summarize(rounds: readonly Round[]) {
  const project = {
    ...timed(rounds.map((round) => round.project)),
    copyCpuSecondsPerGiB: round2(median(rounds.map((round) => round.project.copyCpuSeconds)) / COPY_GIB),
    peakRssMiB: round2(Math.max(...rounds.map((round) => round.project.peakRssMiB))),
  };
  const of = (pick: (round: Round) => Measured | undefined) => {
    const runs = rounds.flatMap((round) => pick(round) ?? []);
    return runs.length === rounds.length ? timed(runs) : null;
  };
  const twoHop = of((round) => round.twoHop);
  const oneHop = of((round) => round.oneHop);
  const floor = of((round) => round.floor);
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined ? null : round2(a / b);
  const series = (pick: (round: Round) => Measured | undefined) => {
    const runs = rounds.flatMap((round) => pick(round) ?? []);
    return {
      seconds: runs.map((run) => round2(run.seconds)),
      cpuSecondsPerGiB: runs.map((run) => (run.cpuSeconds === null ? null : round2(run.cpuSeconds / COPY_GIB))),
    };
  };
  return {
    project,
    awsCliTwoHop: twoHop,
    awsCliOneHopUpload: oneHop,
    writeFloor: floor,
    // Every round's figures, in order, to show the spread behind the medians.
    perRound: {
      project: series((round) => round.project),
      awsCliTwoHop: series((round) => round.twoHop),
      awsCliOneHopUpload: series((round) => round.oneHop),
      writeFloor: series((round) => round.floor),
    },
    speedupOverTwoHop: ratio(twoHop?.seconds, project.seconds),
    ratioToOneHop: ratio(project.seconds, oneHop?.seconds),
    ratioToWriteFloor: ratio(project.seconds, floor?.seconds),
    cpuRatioToOneHop: ratio(project.cpuSecondsPerGiB, oneHop?.cpuSecondsPerGiB),
  };
}

function pix4d(servers: CopyBenchServers): Pix4dInspectClient {
  return new Pix4dInspectClient({ account: servers.account, apiUrl: servers.apiUrl, authUrl: servers.apiUrl });
}

/** A new asset and inspection, as the prepare step creates them before the copy. */
async function newInspection(servers: CopyBenchServers, name: string): Promise<number> {
  const api = pix4d(servers);
  const asset = await api.createAsset({ name, type: 1 });
  const inspection = await api.createInspection({
    asset: asset.id,
    processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
  });
  return inspection.id;
}

/** A new inspection's temporary credentials, as the copy Lambda gets them. */
async function inspectionCredentials(servers: CopyBenchServers, name: string) {
  return pix4d(servers).getS3Credentials(await newInspection(servers, name));
}

/** What a person would do by hand: download with the drop bucket's credentials, upload with Inspect's. */
async function cliRound(bench: Bench, cli: AwsCli): Promise<{ twoHop: Measured; oneHop: Measured }> {
  const { servers } = bench;
  const folder = await mkdtemp(join(tmpdir(), 'bench-cli-'));
  try {
    const credentials = await inspectionCredentials(servers, 'cli round');
    const cliEnv = {
      ...process.env,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    const copy = (from: string, to: string, endpoint: string) => [
      's3',
      'cp',
      from,
      to,
      '--recursive',
      '--only-show-errors',
      '--endpoint-url',
      endpoint,
    ];
    const down = await runMeasured(
      'aws s3 cp (download)',
      cli.path,
      copy(`s3://${servers.dropBucket}/${COPY_PREFIX}`, folder, servers.s3Endpoint),
      { env: { ...cliEnv, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } },
    );
    const up = await runMeasured(
      'aws s3 cp (upload)',
      cli.path,
      copy(folder, `s3://${credentials.bucket}/${credentials.keyPrefix}/`, servers.gatewayEndpoint),
      {
        env: {
          ...cliEnv,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: credentials.sessionToken,
        },
      },
    );
    await deletePrefix(bench.inspect, servers.inspectBucket, `${credentials.keyPrefix}/`);
    const cpu = down.cpuSeconds === null || up.cpuSeconds === null ? null : down.cpuSeconds + up.cpuSeconds;
    return {
      twoHop: { seconds: down.seconds + up.seconds, cpuSeconds: cpu },
      oneHop: { seconds: up.seconds, cpuSeconds: up.cpuSeconds },
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The write floor (write-floor.ts), bundled, as a process of its own, into a new inspection's prefix. */
async function writeFloor(bench: Bench): Promise<Measured> {
  const { servers } = bench;
  const credentials = await inspectionCredentials(servers, 'write floor');
  const input: WriteFloorInput = {
    s3Endpoint: servers.s3Endpoint,
    dropBucket: servers.dropBucket,
    sourcePrefix: COPY_PREFIX,
    gatewayEndpoint: servers.gatewayEndpoint,
    credentials: {
      bucket: credentials.bucket,
      keyPrefix: credentials.keyPrefix,
      region: credentials.region,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    },
    objects: COPY_OBJECTS,
    concurrency: DEFAULT_CONCURRENCY,
  };
  const measured = await runMeasured('the write floor', process.execPath, [bench.floor, JSON.stringify(input)], {
    env: sdkEnv,
    cwd: ROOT,
  });
  const run = JSON.parse(lastLine(measured.stdout)) as WriteFloorRun;
  await deletePrefix(bench.inspect, servers.inspectBucket, `${credentials.keyPrefix}/`);
  return { seconds: run.seconds, cpuSeconds: measured.cpuSeconds };
}

function lastLine(output: string): string {
  return output.trim().split('\n').at(-1) ?? '{}';
}

async function measureMemory(bench: Bench, photos200: number) {
  log('Memory: 1,000 photos...');
  const thousand = await projectCopy(bench, 'memory-1000/');
  log('Memory: one 2 GiB file...');
  const large = await projectCopy(bench, 'memory-2gib/');
  return {
    photos200PeakRssMiB: round2(photos200),
    photos1000PeakRssMiB: round2(thousand.peakRssMiB),
    file2GiBPeakRssMiB: round2(large.peakRssMiB),
    file2GiBSeconds: round2(large.seconds),
  };
}

/** The poll schedule on flights of 10 min to 24 h of simulated processing (bench/poll-latency.ts). */
async function measurePolling() {
  log('Polling: flights of 10 min, 1 h, 6 h and 24 h of simulated processing, and one to the deadline...');
  const { startLocalPipeline } = await loadLocal();
  return measurePollLatency(startLocalPipeline);
}

async function measureEndToEnd() {
  log('End to end: 1,000 small photos, instant processing...');
  const { startLocalPipeline } = await loadLocal();
  const pipeline = await startLocalPipeline({ simulatorSettings: { processingSeconds: 0 }, quietPeriodSeconds: 0 });
  try {
    await putPhotos(pipeline.s3, pipeline.dropBucket, 'tower-2/flight-e2e/', 1_000, 16 * 1024);
    const dropped = Date.now();
    await pipeline.s3.send(
      new PutObjectCommand({ Bucket: pipeline.dropBucket, Key: 'tower-2/flight-e2e/manifest.json', Body: '{}' }),
    );
    await settleFully(pipeline);
    const notified = pipeline.notifications[0] ? Date.parse(pipeline.notifications[0].timings.finishedAt) : Date.now();
    return {
      photos: 1_000,
      outcome: pipeline.notifications[0]?.type ?? 'none',
      seconds: round2((notified - dropped) / 1000),
    };
  } finally {
    await pipeline.close();
  }
}

async function settleFully(pipeline: { settle(): Promise<void>; notifications: readonly unknown[] }): Promise<void> {
  for (let attempt = 0; attempt < 50 && pipeline.notifications.length === 0; attempt++) {
    await pipeline.settle();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The local pipeline loads the handlers, whose logger reads its level when loaded. */
async function loadLocal() {
  Object.assign(process.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
  return require('../local/pipeline/local-pipeline') as typeof import('../local/pipeline/local-pipeline');
}

interface Results {
  throughput: Awaited<ReturnType<typeof measureThroughput>>;
  memory: Awaited<ReturnType<typeof measureMemory>>;
  polling: Awaited<ReturnType<typeof measurePolling>>;
  endToEnd: Awaited<ReturnType<typeof measureEndToEnd>>;
  seconds: number;
}

function copyTargets(throughput: Results['throughput']) {
  const loaded = typeof throughput.loaded === 'string' ? undefined : throughput.loaded;
  return [
    target(
      "copy CPU per GiB at most the aws CLI one-hop upload's (s/GiB)",
      throughput.awsCliOneHopUpload ? throughput.project.cpuSecondsPerGiB : null,
      '<=',
      throughput.awsCliOneHopUpload?.cpuSecondsPerGiB ?? null,
    ),
    target('copy at least 2.0x faster than the aws CLI two-hop', throughput.speedupOverTwoHop, '>=', 2),
    target('copy time at most 0.8x the aws CLI one-hop upload', throughput.ratioToOneHop, '<=', 0.8),
    target('copy time at most 1.15x the write floor (bare HTTP PUTs)', throughput.ratioToWriteFloor, '<=', 1.15),
    target(
      'copy at least 1.5x faster than the aws CLI two-hop with a second load (--load)',
      loaded?.speedupOverTwoHop ?? null,
      '>=',
      1.5,
    ),
  ];
}

function report(results: Results, json: boolean): void {
  const { throughput, memory, polling, endToEnd } = results;
  const targets = [
    ...copyTargets(throughput),
    target('peak RSS, 200 photos (MiB)', memory.photos200PeakRssMiB, '<=', 256),
    target('peak RSS, 1,000 photos (MiB)', memory.photos1000PeakRssMiB, '<=', 256),
    target('peak RSS, one 2 GiB file (MiB)', memory.file2GiBPeakRssMiB, '<=', 256),
    target(
      'notification delay after the end of processing, median of all flights (s)',
      polling.medianDelaySeconds.value,
      '<=',
      MEDIAN_DELAY_TARGET_SECONDS,
    ),
    target(
      'state transitions of a 6 h processing, at most 60 + 4 x its polls',
      polling.sixHourTransitions.value,
      '<=',
      Math.min(60 + 4 * polling.sixHourTransitions.polls, MAX_RUN_TRANSITIONS),
    ),
    target(
      'state transitions of a run to the 48 h deadline',
      polling.deadlineTransitions.value,
      '<=',
      MAX_RUN_TRANSITIONS,
    ),
    target('end to end, 1,000 photos (s)', endToEnd.seconds, '<=', 60),
  ];
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round2(totalmem() / 1024 ** 3),
    node: process.version,
  };
  const all = { machine, ...results, targets, allTargetsMet: targets.every((entry) => entry.met === true) };
  if (json) {
    process.stdout.write(`${JSON.stringify(all)}\n`);
    return;
  }
  const lines = [
    `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`,
    '',
    ...throughputLines(throughput),
    `Peak RSS of the copy worker: 200 photos ${memory.photos200PeakRssMiB} MiB, 1,000 photos ${memory.photos1000PeakRssMiB} MiB, 2 GiB file ${memory.file2GiBPeakRssMiB} MiB`,
    ...pollingLines(polling),
    `End to end, 1,000 photos: ${endToEnd.seconds} s (${endToEnd.outcome})`,
    '',
    ...targets.map(
      (entry) =>
        `  [${entry.met === null ? 'n/a' : entry.met ? 'met' : 'MISSED'}] ${entry.name}: ${entry.value ?? '-'} (target ${entry.comparison} ${entry.limit ?? '-'})`,
    ),
    '',
    `Benchmark took ${round2(results.seconds)} s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function pollingLines(polling: Results['polling']): string[] {
  return [
    `Polling, ${polling.photosPerFlight} photos per flight, notification delay after the end of processing:`,
    ...polling.byDuration.map(
      (entry) =>
        `  ${String(entry.processingMinutes).padStart(5)} min: median ${entry.medianDelaySeconds} s, worst ${entry.worstDelaySeconds} s, ${entry.medianPolls} polls, ${entry.medianTransitions} state transitions`,
    ),
    `  to the 48 h deadline: ${polling.deadlineTransitions.polls} polls, ${polling.deadlineTransitions.value} state transitions (${polling.deadlineTransitions.outcome})`,
  ];
}

type Figures = { seconds: number; mibPerSecond: number; cpuSecondsPerGiB: number | null } | null;

function figureLine(name: string, figures: Figures): string {
  if (!figures) return `  ${name.padEnd(26)}-`;
  const cpu = figures.cpuSecondsPerGiB === null ? '' : `  ${figures.cpuSecondsPerGiB} CPU s/GiB`;
  return `  ${name.padEnd(26)}${figures.seconds} s  ${figures.mibPerSecond} MiB/s${cpu}`;
}

function throughputLines(throughput: Results['throughput']): string[] {
  const cli =
    typeof throughput.awsCli === 'string'
      ? `aws CLI ${throughput.awsCli}`
      : `${throughput.awsCli.version} (${throughput.awsCli.path})`;
  const loaded = throughput.loaded;
  return [
    `Copy of ${throughput.dataSet}, ${throughput.concurrency} at a time, median of ${throughput.rounds} rounds (1-minute load ${throughput.loadAverage1m.before} before, ${throughput.loadAverage1m.after} after); ${cli}:`,
    figureLine('project copy engine', throughput.project),
    `  ${''.padEnd(26)}(the copy itself ${throughput.project.copyCpuSecondsPerGiB} CPU s/GiB, peak RSS ${throughput.project.peakRssMiB} MiB)`,
    figureLine('aws CLI two-hop', throughput.awsCliTwoHop),
    figureLine('aws CLI one-hop upload', throughput.awsCliOneHopUpload),
    figureLine('write floor (bare PUTs)', throughput.writeFloor),
    ...(typeof loaded === 'string'
      ? [`With a second load: ${loaded}`]
      : [
          `With a second load (${loaded.load}; ${loaded.loadCopies} copies by it; 1-minute load ${loaded.loadAverage1m.before} to ${loaded.loadAverage1m.after}):`,
          figureLine('project copy engine', loaded.project),
          figureLine('aws CLI two-hop', loaded.awsCliTwoHop),
          figureLine('aws CLI one-hop upload', loaded.awsCliOneHopUpload),
        ]),
  ];
}

function target(name: string, value: number | null, comparison: '<=' | '>=', limit: number | null) {
  const met = value === null || limit === null ? null : comparison === '<=' ? value <= limit : value >= limit;
  return { name, value, comparison, limit: limit === null ? null : round2(limit), met };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

runMain(PROGRAM, main);
