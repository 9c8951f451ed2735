import '../local/node-version-warning';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parseNumberOption, UsageError } from '../local/cli-options';
import { parseCommandLine, runMain, versionLine } from '../local/command-line';
import { embeddedS3Credentials } from '../local/s3/embedded-s3';
import { mapWithConcurrency } from '../src/copy/pool';
import { Pix4dInspectClient } from '../src/pix4d/client';
import { DEFAULT_PROCESSING_PARAMETERS } from '../src/pix4d/schemas';
import { createS3Client } from '../src/s3-client';
import { DEFAULT_POLL_POLICY, pollsWithin } from '../src/status/processing-status';
import type { BenchServers, CopyRun } from './bench-types';

/**
 * `npm run -s bench -- [--json] [--rounds N]`: the copy's throughput against the aws CLI, the copy worker's peak
 * memory, the orchestration cost of an inspection and the end-to-end time of a local run. Timings are measured
 * here and only here, never asserted in tests.
 */

const PROGRAM = 'bench';
const DEFAULT_ROUNDS = 3;

const USAGE = `Usage: npm run -s bench -- [options]

Measures the copy's throughput against the aws CLI (/usr/bin/aws, when installed), the copy worker's peak memory
(200 photos, 1,000 photos, one 2 GiB file), the orchestration cost of an inspection (6 simulated hours of
processing) and the end-to-end time of a 1,000-photo local run. Takes several minutes; progress goes to stderr,
the results to stdout.

  --rounds N       copy rounds, whose median is reported (default ${DEFAULT_ROUNDS}, at least 3)
  --json           print the results as one JSON object instead of text
  -h, --help       show this help
  --version        print the version
  --debug          print the stack trace of an unexpected error`;

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const AWS_CLI = '/usr/bin/aws';
const MiB = 1024 * 1024;
const log = (message: string) => process.stderr.write(`${message}\n`);
const sdkEnv = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};

interface BenchOptions {
  readonly json: boolean;
  readonly rounds: number;
}

/** The options, or what to print instead of running: parsed in `main`, so that a mistake is one line, not a crash. */
function readOptions(argv: string[]): BenchOptions | 'help' | 'version' {
  const { values } = parseCommandLine(
    {
      command: 'npm run -s bench --',
      options: { json: { type: 'boolean', default: false }, rounds: { type: 'string' } },
    },
    argv,
  );
  if (values.help) return 'help';
  if (values.version) return 'version';
  const rounds = parseNumberOption('rounds', values.rounds, 3) ?? DEFAULT_ROUNDS;
  if (!Number.isInteger(rounds))
    throw new UsageError(`--rounds must be a whole number of at least 3 (got "${values.rounds}")`);
  return { json: values.json, rounds };
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

async function runBenchmarks(options: BenchOptions): Promise<void> {
  const started = Date.now();
  const { process: serverProcess, servers } = await startServers();
  const drop = createS3Client({ endpoint: servers.s3Endpoint, credentials: embeddedS3Credentials() });
  try {
    log('Uploading the data sets to the embedded S3 server...');
    await putPhotos(drop, servers.dropBucket, 'copy-200/', 200, 4 * MiB);
    const throughput = await measureThroughput(servers, options.rounds);
    await putPhotos(drop, servers.dropBucket, 'memory-1000/', 1_000, 1 * MiB);
    await putLargeFile(drop, servers.dropBucket, 'memory-2gib/video.mp4', 2 * 1024 * MiB);
    const memory = await measureMemory(servers, throughput.project.peakRssMiB);
    serverProcess.kill('SIGTERM');
    const orchestration = await measureOrchestration();
    const endToEnd = await measureEndToEnd();
    report({ throughput, memory, orchestration, endToEnd, seconds: (Date.now() - started) / 1000 }, options.json);
  } finally {
    drop.destroy();
    if (serverProcess.exitCode === null) serverProcess.kill('SIGTERM');
  }
}

async function startServers(): Promise<{ process: ChildProcess; servers: BenchServers }> {
  const child = spawn(TSX, [join(__dirname, 'bench-servers.ts')], {
    cwd: ROOT,
    env: sdkEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const servers = await new Promise<BenchServers>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) resolve(JSON.parse(line) as BenchServers);
    });
    child.once('exit', (code) => reject(new Error(`bench servers exited with ${code}`)));
  });
  return { process: child, servers };
}

/**
 * `count` complete JPEGs of `size` bytes, distinct per photo: SOI, a comment with the photo's number, a scan of
 * random data (without FF bytes, which would start markers there) and the end-of-image marker, so that the
 * pipeline's completeness check accepts them.
 */
async function putPhotos(s3: S3Client, bucket: string, prefix: string, count: number, size: number): Promise<void> {
  const content = randomBytes(size);
  for (let i = 0; i < content.length; i++) if (content[i] === 0xff) content[i] = 0xfe;
  content.set([
    0xff, 0xd8, 0xff, 0xfe, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f,
    0x00,
  ]);
  content.set([0xff, 0xd9], size - 2);
  await mapWithConcurrency(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const body = Buffer.from(content);
      body.writeUInt32BE(i, 6);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}DCIM/IMG_${String(i).padStart(4, '0')}.JPG`,
          Body: body,
        }),
      );
    },
  );
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

function copyWorker(servers: BenchServers, prefix: string): Promise<CopyRun> {
  return new Promise((resolve, reject) => {
    execFile(
      TSX,
      [join(__dirname, 'copy-worker.ts'), JSON.stringify({ servers, prefix })],
      { cwd: ROOT, env: sdkEnv, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${error.message}\n${stderr}`))
          : resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as CopyRun),
    );
  });
}

interface Timed {
  readonly seconds: number;
  readonly mibPerSecond: number;
}

async function measureThroughput(servers: BenchServers, rounds: number) {
  const mib = 200 * 4;
  const projectRuns: CopyRun[] = [];
  const twoHopRuns: number[] = [];
  const oneHopRuns: number[] = [];
  const cli = existsSync(AWS_CLI);
  if (!cli)
    log(
      `${AWS_CLI} is missing: install the aws CLI (apt-get install awscli) to compare with it; reporting the project's figures alone.`,
    );
  for (let round = 1; round <= rounds; round++) {
    log(`Copy round ${round} of ${rounds}: the project's copy engine...`);
    projectRuns.push(await copyWorker(servers, 'copy-200/'));
    if (cli) {
      log(`Copy round ${round} of ${rounds}: aws CLI, down to disk and up again...`);
      const { twoHop, oneHop } = await cliRound(servers, round);
      twoHopRuns.push(twoHop);
      oneHopRuns.push(oneHop);
    }
  }
  const project = median(projectRuns.map((run) => run.seconds));
  const projectRun = projectRuns.find((run) => run.seconds === project)!;
  const timed = (seconds: number): Timed => ({ seconds: round2(seconds), mibPerSecond: round2(mib / seconds) });
  return {
    dataSet: '200 photos x 4 MiB',
    rounds,
    project: { ...timed(project), peakRssMiB: round2(projectRun.peakRssMiB) },
    ...(cli
      ? {
          awsCliTwoHop: timed(median(twoHopRuns)),
          awsCliOneHopUpload: timed(median(oneHopRuns)),
          speedupOverTwoHop: round2(median(twoHopRuns) / project),
          ratioToOneHop: round2(project / median(oneHopRuns)),
        }
      : { awsCli: 'missing: apt-get install awscli' }),
  };
}

/** What a person would do by hand: download with the drop bucket's credentials, upload with Inspect's. */
async function cliRound(servers: BenchServers, round: number): Promise<{ twoHop: number; oneHop: number }> {
  const folder = await mkdtemp(join(tmpdir(), 'bench-cli-'));
  try {
    const api = new Pix4dInspectClient({ account: servers.account, apiUrl: servers.apiUrl, authUrl: servers.apiUrl });
    const asset = await api.createAsset({ name: `cli round ${round}`, type: 1 });
    const inspection = await api.createInspection({
      asset: asset.id,
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });
    const credentials = await api.getS3Credentials(inspection.id);
    const cliEnv = {
      ...process.env,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    const downloadStarted = Date.now();
    await run(
      AWS_CLI,
      [
        's3',
        'cp',
        `s3://${servers.dropBucket}/copy-200/`,
        folder,
        '--recursive',
        '--only-show-errors',
        '--endpoint-url',
        servers.s3Endpoint,
      ],
      {
        ...cliEnv,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      },
    );
    const uploadStarted = Date.now();
    await run(
      AWS_CLI,
      [
        's3',
        'cp',
        folder,
        `s3://${credentials.bucket}/${credentials.keyPrefix}/`,
        '--recursive',
        '--only-show-errors',
        '--endpoint-url',
        servers.gatewayEndpoint,
      ],
      {
        ...cliEnv,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
      },
    );
    const finished = Date.now();
    return { twoHop: (finished - downloadStarted) / 1000, oneHop: (finished - uploadStarted) / 1000 };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${command} ${args[1]}: ${stderr}`)) : resolve(),
    );
  });
}

async function measureMemory(servers: BenchServers, photos200: number) {
  log('Memory: 1,000 photos...');
  const thousand = await copyWorker(servers, 'memory-1000/');
  log('Memory: one 2 GiB file...');
  const large = await copyWorker(servers, 'memory-2gib/');
  return {
    photos200PeakRssMiB: round2(photos200),
    photos1000PeakRssMiB: round2(thousand.peakRssMiB),
    file2GiBPeakRssMiB: round2(large.peakRssMiB),
    file2GiBSeconds: round2(large.seconds),
  };
}

/**
 * A 1,000-photo flight whose processing takes 6 hours, on a simulated clock that jumps ahead by each Wait: the
 * transitions the local interpreter records for the inspection and the number of status polls.
 */
async function measureOrchestration() {
  log('Orchestration: 1,000 photos, 6 simulated hours of processing...');
  const { startLocalPipeline } = await loadLocal();
  let offset = 0;
  let polls = 0;
  const clock = () => Date.now() + offset;
  const pipeline = await startLocalPipeline({
    onEvent: (event) => {
      if (event.event === 'state' && event.state === 'Check processing status') polls += 1;
    },
    simulatorSettings: { processingSeconds: 6 * 3600 },
    quietPeriodSeconds: 0,
    waitMs: 5,
    clock,
    onWait: (state, input) => {
      if (state === 'Wait for processing')
        offset +=
          ((input as { processing: { poll: { waitSeconds: number } } }).processing.poll.waitSeconds ?? 0) * 1000;
    },
  });
  try {
    await putPhotos(pipeline.s3, pipeline.dropBucket, 'tower-1/flight-6h/', 1_000, 4 * 1024);
    await pipeline.s3.send(
      new PutObjectCommand({ Bucket: pipeline.dropBucket, Key: 'tower-1/flight-6h/manifest.json', Body: '{}' }),
    );
    await settleFully(pipeline);
    const execution = pipeline.executions.find((candidate) => candidate.machine === 'inspection');
    return {
      photos: 1_000,
      simulatedProcessingHours: 6,
      outcome: pipeline.notifications[0]?.type ?? 'none',
      stateTransitions: execution?.transitions ?? 0,
      polls,
      pollsExpectedByPolicy: pollsWithin(6 * 3600, DEFAULT_POLL_POLICY),
    };
  } finally {
    await pipeline.close();
  }
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
  orchestration: Awaited<ReturnType<typeof measureOrchestration>>;
  endToEnd: Awaited<ReturnType<typeof measureEndToEnd>>;
  seconds: number;
}

function report(results: Results, json: boolean): void {
  const { throughput, memory, orchestration, endToEnd } = results;
  const targets = [
    target(
      'copy at least 1.5x faster than the aws CLI two-hop',
      'speedupOverTwoHop' in throughput ? throughput.speedupOverTwoHop : null,
      '>=',
      1.5,
    ),
    target(
      'copy time at most 1.3x the aws CLI one-hop upload',
      'ratioToOneHop' in throughput ? throughput.ratioToOneHop : null,
      '<=',
      1.3,
    ),
    target('peak RSS, 200 photos (MiB)', memory.photos200PeakRssMiB, '<=', 256),
    target('peak RSS, 1,000 photos (MiB)', memory.photos1000PeakRssMiB, '<=', 256),
    target('peak RSS, one 2 GiB file (MiB)', memory.file2GiBPeakRssMiB, '<=', 256),
    target('state transitions per inspection', orchestration.stateTransitions, '<=', 60 + 4 * orchestration.polls),
    target('polls for 6 h of processing', orchestration.polls, '<=', 30),
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
    `Copy of ${throughput.dataSet}, median of ${throughput.rounds} rounds:`,
    `  project copy engine   ${throughput.project.seconds} s  ${throughput.project.mibPerSecond} MiB/s`,
    ...('awsCliTwoHop' in throughput
      ? [
          `  aws CLI two-hop       ${throughput.awsCliTwoHop.seconds} s  ${throughput.awsCliTwoHop.mibPerSecond} MiB/s`,
          `  aws CLI one-hop       ${throughput.awsCliOneHopUpload.seconds} s  ${throughput.awsCliOneHopUpload.mibPerSecond} MiB/s`,
        ]
      : [`  aws CLI: ${AWS_CLI} missing (apt-get install awscli)`]),
    `Peak RSS of the copy worker: 200 photos ${memory.photos200PeakRssMiB} MiB, 1,000 photos ${memory.photos1000PeakRssMiB} MiB, 2 GiB file ${memory.file2GiBPeakRssMiB} MiB`,
    `Orchestration: ${orchestration.stateTransitions} state transitions, ${orchestration.polls} polls for 6 h of processing (${orchestration.outcome})`,
    `End to end, 1,000 photos: ${endToEnd.seconds} s (${endToEnd.outcome})`,
    '',
    ...targets.map(
      (entry) =>
        `  [${entry.met === null ? 'n/a' : entry.met ? 'met' : 'MISSED'}] ${entry.name}: ${entry.value ?? '-'} (target ${entry.comparison} ${entry.limit})`,
    ),
    '',
    `Benchmark took ${round2(results.seconds)} s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function target(name: string, value: number | null, comparison: '<=' | '>=', limit: number) {
  const met = value === null ? null : comparison === '<=' ? value <= limit : value >= limit;
  return { name, value, comparison, limit: round2(limit), met };
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

runMain(PROGRAM, main);
