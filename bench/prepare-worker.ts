import '../local/node-version-warning';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { InspectionRequest } from '../src/ingest/batch-events';
import { Pix4dInspectClient } from '../src/pix4d/client';
import type { FlightSummary } from '../src/preflight/preflight';
import { createS3Client } from '../src/s3-client';
import { DEFAULT_PIPELINE_CONFIG } from '../src/workflow/pipeline-config';
import { type BatchSummary, prepareInspection } from '../src/workflow/prepare-inspection';
import { RUN_FILES } from '../src/workflow/run-files';
import { RunStore } from '../src/workflow/run-store';
import type { StepDependencies } from '../src/workflow/step-dependencies';
import type { BenchServers } from './bench-types';

/**
 * One "Prepare inspection" step, as the prepare Lambda runs it, in a process of its own (bundled by bench/prepare.ts
 * as CDK bundles the function) so that its memory and CPU are its own, not the S3 server's: prepareInspection once
 * for the batch, with the step's dependencies pointed at the embedded S3 server and the simulator. Prints one JSON
 * line: wall time, CPU, peak RSS and heap, and where the time went.
 */

export interface PrepareWorkerInput {
  readonly servers: BenchServers;
  /** s3rver's fixed keys, passed in so that the bundle does not carry s3rver. */
  readonly s3Credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly workBucket: string;
  readonly request: InspectionRequest;
  readonly batchId: string;
}

export interface PrepareRun {
  readonly seconds: number;
  /** From the first ListObjectsV2 to the last page's answer. */
  readonly listingSeconds: number;
  /** From the listing's end to the first S3 call after the last ranged read: the reads, the Exif parsing, the content check. */
  readonly metadataSeconds: number;
  /** The rest: manifest, folder claim, pre-flight, asset, inspection, credentials, chunk lists, batch state. */
  readonly otherSeconds: number;
  readonly rangedReads: number;
  readonly s3Calls: number;
  readonly cpu: { readonly userSeconds: number; readonly systemSeconds: number };
  /** process.resourceUsage().maxRSS: the process's whole life, module loading included. */
  readonly peakRssMiB: number;
  /** RSS once the modules are loaded, before the step: what the step itself adds is the difference. */
  readonly rssBeforeMiB: number;
  /** Highest heapUsed sampled every 50 ms during the step (and once at its end). */
  readonly peakHeapMiB: number;
  readonly heapBeforeMiB: number;
  readonly images: { readonly found: number; readonly accepted: number; readonly skipped: number };
  readonly chunks: number;
  readonly inspectionId: number;
  readonly flight: FlightSummary | null;
  readonly warnings: readonly string[];
}

const MiB = 1024 * 1024;
const HEAP_SAMPLE_MS = 50;

/** When the S3 calls of each phase start and end, seen from the client: src/ stays as it is. */
interface S3Timeline {
  calls: number;
  rangedReads: number;
  listStart?: bigint;
  listEnd?: bigint;
  readsInFlight: number;
  readsEnd?: bigint;
  classifyEnd?: bigint;
}

function recordTimeline(s3: S3Client, dropBucket: string): S3Timeline {
  const timeline: S3Timeline = { calls: 0, rangedReads: 0, readsInFlight: 0 };
  const send = s3.send.bind(s3) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  const patched = async (command: { input?: { Bucket?: string; Range?: string } }, ...rest: unknown[]) => {
    const now = process.hrtime.bigint();
    timeline.calls += 1;
    const ranged =
      command instanceof GetObjectCommand && command.input?.Bucket === dropBucket && command.input.Range !== undefined;
    // instanceof, not the class's name: the bundle is minified.
    const listing = command instanceof ListObjectsV2Command;
    if (!ranged && timeline.readsEnd !== undefined && timeline.readsInFlight === 0) timeline.classifyEnd ??= now;
    if (listing) timeline.listStart ??= now;
    if (ranged) {
      timeline.rangedReads += 1;
      timeline.readsInFlight += 1;
    }
    try {
      return await send(command, ...rest);
    } finally {
      const end = process.hrtime.bigint();
      if (listing) timeline.listEnd = end;
      if (ranged) {
        timeline.readsInFlight -= 1;
        timeline.readsEnd = end;
      }
    }
  };
  (s3 as unknown as { send: typeof patched }).send = patched;
  return timeline;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as PrepareWorkerInput;
  const { servers } = input;
  const s3 = createS3Client({ endpoint: servers.s3Endpoint, credentials: { ...input.s3Credentials } });
  const api = new Pix4dInspectClient({ account: servers.account, apiUrl: servers.apiUrl, authUrl: servers.apiUrl });
  const quiet = () => undefined;
  const deps: StepDependencies = {
    s3,
    pix4d: async () => api,
    publisher: {
      publish: async () => {
        throw new Error('the prepare step publishes nothing');
      },
    },
    config: { ...DEFAULT_PIPELINE_CONFIG, workBucket: input.workBucket },
    destinationEndpoint: servers.gatewayEndpoint,
    secrets: () => [servers.account.password, servers.account.apiKey],
    logger: { debug: quiet, info: quiet, warn: quiet },
    metrics: { record: quiet, about: quiet },
    now: () => new Date(),
  };
  const timeline = recordTimeline(s3, input.request.batch.bucket);

  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeap = heapBefore;
  const sample = () => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed));
  const sampler = setInterval(sample, HEAP_SAMPLE_MS);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const prepared = await prepareInspection(input.request, input.batchId, deps);
  const ended = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpuBefore);
  sample();
  clearInterval(sampler);
  const peakRss = process.resourceUsage().maxRSS * 1024;

  // Read after the measurement: what the notification would say of the flight.
  const summary = await new RunStore(s3, input.workBucket).read<BatchSummary>(prepared.runPrefix, RUN_FILES.summary);
  s3.destroy();
  const seconds = (from: bigint | undefined, to: bigint | undefined) =>
    from === undefined || to === undefined ? 0 : Number(to - from) / 1e9;
  const total = seconds(started, ended);
  const listing = seconds(timeline.listStart, timeline.listEnd);
  const metadata = seconds(timeline.listEnd, timeline.classifyEnd ?? ended);
  const run: PrepareRun = {
    seconds: total,
    listingSeconds: listing,
    metadataSeconds: metadata,
    otherSeconds: total - listing - metadata,
    rangedReads: timeline.rangedReads,
    s3Calls: timeline.calls,
    cpu: { userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 },
    peakRssMiB: peakRss / MiB,
    rssBeforeMiB: rssBefore / MiB,
    peakHeapMiB: peakHeap / MiB,
    heapBeforeMiB: heapBefore / MiB,
    images: prepared.images,
    chunks: prepared.chunks.length,
    inspectionId: prepared.inspection.id,
    flight: summary.flight ?? null,
    warnings: summary.warnings ?? [],
  };
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`prepare worker: ${(error as Error).stack}\n`);
  process.exit(1);
});
