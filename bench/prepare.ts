import '../local/node-version-warning';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseNumberOption, UsageError } from '../local/cli-options';
import { parseCommandLine, runMain, versionLine } from '../local/command-line';
import { flightPhoto } from '../local/flight-photos';
import { embeddedS3Credentials, startEmbeddedS3 } from '../local/s3/embedded-s3';
import { startSimulator } from '../local/simulator/simulator';
import { mapWithConcurrency } from '../src/copy/pool';
import { decideForEvent } from '../src/ingest/batch-events';
import { METADATA_BYTES } from '../src/preflight/photo-metadata';
import { DEFAULT_PREFLIGHT_THRESHOLDS } from '../src/preflight/preflight';
import { bundleScript } from './bench-setup';
import type { BenchServers } from './bench-types';
import type { PrepareRun, PrepareWorkerInput } from './prepare-worker';

/**
 * `npm run -s bench:prepare -- [--photos N] [--photo-kib N] [--json]`: the workflow's "Prepare inspection" step on a flight of N
 * photos with Exif (5,000 by default): one ranged read of each photo's first 128 KiB, its Exif parsed, the
 * pre-flight, then the asset and the inspection. The step runs once, in a process of its own bundled as the Lambda
 * is, against the embedded S3 server and the Pix4Dinspect simulator of this process; its time, CPU and peak memory
 * are set against the prepare function's timeout and memory. Timings are measured here, never asserted in tests.
 */

const PROGRAM = 'bench-prepare';
const DEFAULT_PHOTOS = 5_000;
/** Uploads in flight while the flight is dropped, as bench/bench.ts puts its photos. */
const UPLOAD_CONCURRENCY = 16;
/** Ranged reads in flight in the step (METADATA_READS_IN_FLIGHT of src/workflow/prepare-inspection.ts). */
const READS_IN_FLIGHT = 32;
const DROP_BUCKET = 'bench-drop';
const WORK_BUCKET = 'bench-work';
const BATCH_PREFIX = 'tower-bench/flight-1/';
const METADATA_KIB = METADATA_BYTES / 1024;

const USAGE = `Usage: npm run -s bench:prepare -- [options]

Measures the workflow's "Prepare inspection" step on one flight: N photos with Exif (GPS, capture time, camera)
dropped into the embedded S3 server, then the step run once in a process of its own, bundled as the Lambda is,
against the Pix4Dinspect simulator: its time, CPU, peak RSS and peak heap, set against the prepare function's
timeout and memory. About a minute for 5,000 photos; progress goes to stderr, the results to stdout.

  --photos N       photos in the flight (default ${DEFAULT_PHOTOS.toLocaleString('en-US')}; at least ${DEFAULT_PREFLIGHT_THRESHOLDS.minPhotos}, fewer are refused by the pre-flight)
  --photo-kib N    pad each photo to N KiB with JPEG comments before its scan (default: as generated, about
                   8 KiB); ${METADATA_KIB} or more makes each read return the full ${METADATA_KIB} KiB a camera's photo gives
  --json           print the results as one JSON object instead of text
  -h, --help       show this help
  --version        print the version
  --debug          print the stack trace of an unexpected error`;

const ROOT = join(__dirname, '..');
const MiB = 1024 * 1024;
const log = (message: string) => process.stderr.write(`${message}\n`);
const workerEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

interface PrepareBenchOptions {
  readonly json: boolean;
  readonly photos: number;
  /** Bytes each photo is padded to; undefined: as generated. */
  readonly photoBytes: number | undefined;
}

function readOptions(argv: string[]): PrepareBenchOptions | 'help' | 'version' {
  const { values } = parseCommandLine(
    {
      command: 'npm run -s bench:prepare --',
      options: {
        json: { type: 'boolean', default: false },
        photos: { type: 'string' },
        'photo-kib': { type: 'string' },
      },
    },
    argv,
  );
  if (values.help) return 'help';
  if (values.version) return 'version';
  const minimum = DEFAULT_PREFLIGHT_THRESHOLDS.minPhotos;
  const photos = parseNumberOption('photos', values.photos, minimum) ?? DEFAULT_PHOTOS;
  if (!Number.isInteger(photos))
    throw new UsageError(`--photos must be a whole number of at least ${minimum} (got "${values.photos}")`);
  const photoKib = parseNumberOption('photo-kib', values['photo-kib'], 1, 64 * 1024);
  return { json: values.json, photos, photoBytes: photoKib === undefined ? undefined : Math.round(photoKib * 1024) };
}

async function main(argv: string[]): Promise<number> {
  const options = readOptions(argv);
  if (options === 'help' || options === 'version') {
    process.stdout.write(`${options === 'help' ? USAGE : versionLine(PROGRAM)}\n`);
    return 0;
  }
  report(await runBenchmark(options.photos, options.photoBytes), options.json);
  return 0;
}

async function runBenchmark(photos: number, photoBytes: number | undefined) {
  const started = Date.now();
  const limits = await prepareLimits();
  const embeddedS3 = await startEmbeddedS3({ buckets: [DROP_BUCKET, WORK_BUCKET] });
  const folder = await mkdtemp(join(tmpdir(), 'bench-prepare-'));
  try {
    const simulator = await startSimulator({ embeddedS3, settings: { credentialsTtlSeconds: 3_600 } });
    try {
      const servers: BenchServers = {
        s3Endpoint: embeddedS3.endpoint,
        dropBucket: DROP_BUCKET,
        apiUrl: simulator.apiUrl,
        gatewayEndpoint: simulator.s3Endpoint,
        inspectBucket: simulator.bucket,
        account: simulator.account,
      };
      const upload = await dropFlight(embeddedS3.client(), photos, photoBytes);
      // Bundled as the Lambda is, so that its memory is a bundle's, not that of tsx's loader.
      const worker = await bundleScript('prepare-worker', folder);
      log(`Prepare step: ${photos.toLocaleString('en-US')} photos, in a process of its own...`);
      const run = await prepareWorker(worker, {
        servers,
        s3Credentials: embeddedS3Credentials(),
        workBucket: WORK_BUCKET,
        ...upload.request,
      });
      return { photos, upload: upload.figures, run, limits, seconds: (Date.now() - started) / 1000 };
    } finally {
      await simulator.close();
    }
  } finally {
    await embeddedS3.close();
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * The flight as a drone leaves it, generated then uploaded (timed apart from the step), and manifest.json last: the
 * step's input is what the ingest function decides for that manifest's event.
 */
async function dropFlight(s3: S3Client, count: number, photoBytes: number | undefined) {
  log(`Generating ${count.toLocaleString('en-US')} photos with Exif (local/flight-photos.ts)...`);
  const generatedAt = Date.now();
  const photos = Array.from({ length: count }, (_, index) => flightPhoto(index, { count }));
  const generateSeconds = (Date.now() - generatedAt) / 1000;
  log(`Uploading them to the embedded S3 server, ${UPLOAD_CONCURRENCY} at once...`);
  let bytes = 0;
  const uploadedAt = Date.now();
  // Padded as they go, so that a flight of large photos is never held in memory whole.
  await mapWithConcurrency(photos, UPLOAD_CONCURRENCY, async (photo, index) => {
    const body = photoBytes === undefined ? photo : padded(photo, photoBytes);
    bytes += body.length;
    const key = `${BATCH_PREFIX}DCIM/100MEDIA/DJI_${String(index + 1).padStart(4, '0')}.JPG`;
    await s3.send(new PutObjectCommand({ Bucket: DROP_BUCKET, Key: key, Body: body, ContentType: 'image/jpeg' }));
  });
  const uploadSeconds = (Date.now() - uploadedAt) / 1000;
  const manifestKey = `${BATCH_PREFIX}manifest.json`;
  const manifest = await s3.send(
    new PutObjectCommand({ Bucket: DROP_BUCKET, Key: manifestKey, Body: '{}', ContentType: 'application/json' }),
  );
  // The keys need no URL-encoding: they are what S3's event would carry.
  const decision = decideForEvent(
    { bucket: DROP_BUCKET, encodedKey: manifestKey, eTag: manifest.ETag ?? '', eventTime: new Date().toISOString() },
    { batchDepth: 2, quietPeriodSeconds: 0 },
  );
  if (decision.action !== 'start-inspection')
    throw new Error(`the manifest's event was not a start: ${decision.action}`);
  return {
    request: { request: decision.input, batchId: decision.executionName },
    figures: {
      photos: count,
      mib: round2(bytes / MiB),
      meanPhotoKiB: round2(bytes / count / 1024),
      generateSeconds: round2(generateSeconds),
      uploadSeconds: round2(uploadSeconds),
      uploadPhotosPerSecond: round2(count / uploadSeconds),
      concurrency: UPLOAD_CONCURRENCY,
    },
  };
}

const MAX_SEGMENT_BODY = 0xffff - 2;
let padding: Buffer | undefined;

/**
 * The photo grown to about `size` bytes by JPEG comment segments just before its scan: it stays a valid JPEG with
 * its Exif and frame header first, as a camera's is, and a ranged read of its head returns as much as a camera's.
 */
function padded(photo: Buffer, size: number): Buffer {
  let at = 2;
  while (at + 4 <= photo.length && !(photo[at] === 0xff && photo[at + 1] === 0xda))
    at += 2 + photo.readUInt16BE(at + 2);
  if (at + 4 > photo.length) throw new Error('a generated photo has no start of scan');
  padding ??= Buffer.alloc(MAX_SEGMENT_BODY, 0x20);
  const segments: Buffer[] = [];
  // A segment is at least its marker and length: 4 bytes.
  for (let missing = size - photo.length; missing >= 4; ) {
    const body = Math.min(MAX_SEGMENT_BODY, missing - 4);
    const header = Buffer.from([0xff, 0xfe, 0, 0]);
    header.writeUInt16BE(body + 2, 2);
    segments.push(header, padding.subarray(0, body));
    missing -= 4 + body;
  }
  return Buffer.concat([photo.subarray(0, at), ...segments, photo.subarray(at)]);
}

function prepareWorker(bundle: string, input: PrepareWorkerInput): Promise<PrepareRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bundle, JSON.stringify(input)],
      { cwd: ROOT, env: workerEnv, maxBuffer: 16 * MiB },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`the prepare worker failed: ${stderr.trim() || error.message}`))
          : resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as PrepareRun),
    );
  });
}

/**
 * The prepare function's timeout and memory, read from lib/pipeline-functions.ts's SETTINGS (which it does not
 * export): the limits cannot drift from the stack's, and a change of their form fails here by name.
 */
async function prepareLimits(): Promise<{ timeoutSeconds: number; memoryMB: number }> {
  const source = await readFile(join(ROOT, 'lib', 'pipeline-functions.ts'), 'utf8');
  const match = /\bprepare:\s*\{\s*timeout:\s*Duration\.(seconds|minutes)\((\d+)\),\s*memorySize:\s*(\d+)/.exec(source);
  if (!match)
    throw new Error(
      'lib/pipeline-functions.ts: found no "prepare: { timeout: Duration.minutes(N), memorySize: N" in SETTINGS',
    );
  const [, unit, amount, memory] = match;
  return { timeoutSeconds: Number(amount) * (unit === 'minutes' ? 60 : 1), memoryMB: Number(memory) };
}

type Results = Awaited<ReturnType<typeof runBenchmark>>;

function report({ photos, upload, run, limits, seconds }: Results, json: boolean): void {
  const cpuSeconds = run.cpu.userSeconds + run.cpu.systemSeconds;
  const prepare = {
    seconds: round2(run.seconds),
    photosPerSecond: round2(photos / run.seconds),
    listingSeconds: round2(run.listingSeconds),
    metadataSeconds: round2(run.metadataSeconds),
    otherSeconds: round2(run.otherSeconds),
    readsInFlight: READS_IN_FLIGHT,
    rangedReads: run.rangedReads,
    s3Calls: run.s3Calls,
    cpuSeconds: round2(cpuSeconds),
    cpuUserSeconds: round2(run.cpu.userSeconds),
    cpuSystemSeconds: round2(run.cpu.systemSeconds),
    peakRssMiB: round2(run.peakRssMiB),
    rssBeforeMiB: round2(run.rssBeforeMiB),
    peakHeapMiB: round2(run.peakHeapMiB),
    heapBeforeMiB: round2(run.heapBeforeMiB),
    images: run.images,
    chunks: run.chunks,
    completed: run.images.accepted === photos,
    flight: run.flight,
    warnings: run.warnings,
  };
  // Peak RSS in MiB against the setting's 1,024 (MB): the two units differ by 5 %, far less than the headroom.
  const lambdaLimits = {
    seconds: limit(prepare.seconds, limits.timeoutSeconds, 's'),
    peakRssMiB: limit(prepare.peakRssMiB, limits.memoryMB, 'MiB'),
  };
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round2(totalmem() / 1024 ** 3),
    node: process.version,
  };
  const all = {
    machine,
    photos,
    upload,
    prepare,
    lambdaLimits,
    allLimitsMet: lambdaLimits.seconds.met && lambdaLimits.peakRssMiB.met,
    seconds: round2(seconds),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(all)}\n`);
    return;
  }
  const count = (value: number) => value.toLocaleString('en-US');
  const line = (name: string, entry: Limit, limitText: string) =>
    `  [${entry.met ? 'met' : 'MISSED'}] ${name}: ${entry.value} ${entry.unit} of ${limitText} (${entry.headroom}x headroom, ${round2(entry.limit - entry.value)} ${entry.unit} to spare)`;
  const flight = prepare.flight;
  const lines = [
    `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`,
    '',
    `Flight: ${count(photos)} photos, ${upload.mib} MiB (${upload.meanPhotoKiB} KiB each); generated in ${upload.generateSeconds} s, uploaded in ${upload.uploadSeconds} s (${upload.uploadPhotosPerSecond} photos/s, ${upload.concurrency} at once)`,
    `Prepare step, one process, bundled as the Lambda is (${prepare.readsInFlight} ranged reads in flight):`,
    `  time        ${prepare.seconds} s, ${prepare.photosPerSecond} photos/s (listing ${prepare.listingSeconds} s, reads and Exif ${prepare.metadataSeconds} s, the rest ${prepare.otherSeconds} s)`,
    `  CPU         ${prepare.cpuSeconds} s (user ${prepare.cpuUserSeconds} s, system ${prepare.cpuSystemSeconds} s)`,
    `  peak RSS    ${prepare.peakRssMiB} MiB (${prepare.rssBeforeMiB} MiB before the step)`,
    `  peak heap   ${prepare.peakHeapMiB} MiB (${prepare.heapBeforeMiB} MiB before the step)`,
    `  photos      ${count(prepare.images.found)} found, ${count(prepare.images.accepted)} accepted, ${count(prepare.images.skipped)} skipped; ${count(prepare.chunks)} copy chunks; ${count(prepare.rangedReads)} ranged reads, ${count(prepare.s3Calls)} S3 calls`,
    ...(flight
      ? [
          `  flight      ${count(flight.geotagged)} geotagged, ${flight.capturedFrom} to ${flight.capturedTo}, ${flight.cameras.join(', ')}; ${prepare.warnings.length} warning(s)`,
        ]
      : []),
    '',
    'Against the prepare function (lib/pipeline-functions.ts):',
    line('time', lambdaLimits.seconds, `its ${limits.timeoutSeconds} s timeout`),
    line('peak RSS', lambdaLimits.peakRssMiB, `its ${count(limits.memoryMB)} MB`),
    '',
    `Benchmark took ${round2(seconds)} s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

interface Limit {
  readonly value: number;
  readonly limit: number;
  readonly unit: string;
  /** limit / value. */
  readonly headroom: number;
  readonly met: boolean;
}

function limit(value: number, max: number, unit: string): Limit {
  return { value, limit: max, unit, headroom: round2(max / value), met: value <= max };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

runMain(PROGRAM, main);
