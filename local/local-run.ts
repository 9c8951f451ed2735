import { setMaxListeners } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../src/copy/pool';
import type { NotificationV1 } from '../src/notify/notification';
import { systemTimers } from '../src/timers';
import { flightPhoto } from './flight-photos';
import type { RefusedCall } from './iam/iam-authorizer';
import { type FlightFigures, flightFigures } from './pipeline/flight-figures';
import {
  type LocalPipeline,
  type LocalPipelineEvent,
  type LocalPipelineOptions,
  startLocalPipeline,
} from './pipeline/local-pipeline';
import { syntheticPhotoName } from './synthetic-photos';

export interface FlightSource {
  /** A folder uploaded as the flight, sub-folders kept (a manifest.json at its top aside: see `filesOf`). */
  readonly photosDir?: string;
  /** Generated drone photos, with their Exif (see flight-photos.ts), when no folder is given. */
  readonly generate: number;
  /** Generated photos carry GPS positions (default true). */
  readonly gps?: boolean;
  /** Generated photos come from one camera model, or alternate two (default 'one'). */
  readonly cameras?: 'one' | 'mixed';
}

export interface LocalRunOptions {
  readonly source: FlightSource;
  readonly asset: string;
  readonly flight: string;
  readonly flights: number;
  /**
   * manifest.json to upload last: the same text for every flight, or one per flight made from its folder name (so
   * that each of `--flights N` names its own inspection); `false` uploads none (the batch closes by quiet period).
   */
  readonly manifest: string | false | ((flightFolder: string) => string);
  readonly pipeline: LocalPipelineOptions;
}

export interface DroppedFlight {
  readonly prefix: string;
  readonly files: number;
  readonly bytes: number;
}

export interface LocalRunResult {
  readonly flights: readonly DroppedFlight[];
  readonly notifications: readonly NotificationV1[];
  /** Each notified flight's figures, from the metrics its functions emitted (in the order of `notifications`). */
  readonly figures: readonly FlightFigures[];
  /** AWS calls the synthesized roles did not allow (none without the IAM check). */
  readonly refused: readonly RefusedCall[];
  /** Every flight ended `inspection.completed`. */
  readonly succeeded: boolean;
  /**
   * How a stop requested during the run went: `drained` when every flight had its outcome within the grace period,
   * `abandoned` when a flight was left unfinished (its upload cut, or its batch still running). Undefined when the
   * run was not stopped.
   */
  readonly stopped?: 'drained' | 'abandoned';
}

/** A way to stop a run before its flights end. */
export interface RunStop {
  /** Aborted to stop: the uploads in progress are cut and the run stops waiting for outcomes. */
  readonly signal: AbortSignal;
  /**
   * Runs once the signal aborted, before the pipeline closes, with the flights whose upload was cut: lets the
   * batches in flight finish or gives up on them. Resolves true when nothing was given up on (a cut upload is).
   */
  readonly drain: (pipeline: LocalPipeline, cutUploads: readonly string[]) => Promise<boolean>;
}

export interface FileToDrop {
  readonly relativePath: string;
  readonly read: () => Promise<Buffer>;
  readonly size: number;
}

/** The files of a flight: every file under a folder, or `generate` generated drone photos. */
export async function filesOf(source: FlightSource): Promise<FileToDrop[]> {
  if (source.photosDir === undefined) {
    const options = { count: source.generate, gps: source.gps ?? true, cameras: source.cameras ?? 'one' } as const;
    return Array.from({ length: source.generate }, (_, index) => {
      const body = flightPhoto(index, options);
      return { relativePath: syntheticPhotoName(index), size: body.length, read: async () => body };
    });
  }
  const root = source.photosDir;
  const files: FileToDrop[] = [];
  async function walk(folder: string): Promise<void> {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const { size } = await stat(path);
        files.push({ relativePath: relative(root, path).split(sep).join('/'), size, read: () => readFile(path) });
      }
    }
  }
  await walk(root);
  // A manifest.json at the folder's top closes the batch: it is uploaded last, as the run's manifest, or not at all.
  return files
    .filter((file) => file.relativePath !== 'manifest.json')
    .sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1));
}

/** Uploads a flight under `prefix` as a drone sync would (in parallel), and the manifest last. */
export async function dropFiles(
  s3: S3Client,
  bucket: string,
  prefix: string,
  files: readonly FileToDrop[],
  manifest: string | false,
  abortSignal?: AbortSignal,
): Promise<DroppedFlight> {
  const options = abortSignal ? { abortSignal } : {};
  await mapWithConcurrency(files, 16, async (file) => {
    abortSignal?.throwIfAborted();
    return s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${file.relativePath}`, Body: await file.read() }),
      options,
    );
  });
  if (manifest !== false) {
    abortSignal?.throwIfAborted();
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}manifest.json`,
        Body: manifest,
        ContentType: 'application/json',
      }),
      options,
    );
  }
  return { prefix, files: files.length, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

/** The flight prefixes of a run: one, or `<flight>-01`... when several flights are dropped at once. */
export function flightPrefixes(asset: string, flight: string, count: number): string[] {
  if (count === 1) return [`${asset}/${flight}/`];
  // Two digits at least, as the help says (`-01`), more when the count needs them: they sort as they were dropped.
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `${asset}/${flight}-${String(i + 1).padStart(width, '0')}/`);
}

/** Starts the local pipeline, drops the flights at once, waits for every outcome (or for `stop`). */
export async function runLocalFlights(
  options: LocalRunOptions,
  onEvent: (
    event:
      | LocalPipelineEvent
      | { event: 'ready'; pipeline: LocalPipeline }
      | { event: 'dropped'; flight: DroppedFlight },
  ) => void,
  stop?: RunStop,
): Promise<LocalRunResult> {
  // Every upload in progress listens to the signal: more than EventTarget's default of 10 is no leak.
  if (stop) setMaxListeners(0, stop.signal);
  const pipeline = await startLocalPipeline({ ...options.pipeline, onEvent });
  try {
    const prefixes = flightPrefixes(options.asset, options.flight, options.flights);
    const dropped = new Map<string, DroppedFlight>();
    let cutUploads: string[] = [];
    const markCutUploads = () => (cutUploads = prefixes.filter((prefix) => !dropped.has(prefix)));
    // Registered before any upload's own listener, so that it sees the uploads before they unwind.
    if (stop?.signal.aborted) markCutUploads();
    else stop?.signal.addEventListener('abort', markCutUploads, { once: true });
    const run = (async () => {
      onEvent({ event: 'ready', pipeline });
      const files = await filesOf(options.source);
      await Promise.all(
        prefixes.map(async (prefix) => {
          const manifest =
            typeof options.manifest === 'function' ? options.manifest(flightFolderOf(prefix)) : options.manifest;
          const flight = await dropFiles(pipeline.s3, pipeline.dropBucket, prefix, files, manifest, stop?.signal);
          dropped.set(prefix, flight);
          onEvent({ event: 'dropped', flight });
        }),
      );
      await waitForOutcomes(pipeline, prefixes.length, stop?.signal);
    })();
    let stopped: LocalRunResult['stopped'];
    if (stop) await Promise.race([run, aborted(stop.signal)]);
    else await run;
    if (stop?.signal.aborted) {
      // The uploads and the waiting unwind on their own (the race above took what they throw).
      stopped = (await stop.drain(pipeline, cutUploads)) ? 'drained' : 'abandoned';
    }
    const notifications = [...pipeline.notifications];
    return {
      flights: prefixes.flatMap((prefix) => dropped.get(prefix) ?? []),
      notifications,
      figures: notifications.map((message) => flightFigures(pipeline.metrics.records, message.batch)),
      refused: pipeline.iam?.refused() ?? [],
      succeeded:
        notifications.length === prefixes.length &&
        notifications.every((message) => message.type === 'inspection.completed'),
      ...(stopped ? { stopped } : {}),
    };
  } finally {
    await pipeline.close();
  }
}

/** `tower-001/flight-1-02/` -> `flight-1-02`. */
function flightFolderOf(prefix: string): string {
  return prefix.split('/').at(-2) ?? prefix;
}

/** Resolves (with nothing) once the signal aborts. */
export function aborted(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
}

/** Waits until every flight has an outcome (S3 may report the last objects just after their upload returns). */
async function waitForOutcomes(pipeline: LocalPipeline, expected: number, signal?: AbortSignal): Promise<void> {
  do {
    await pipeline.settle();
    await systemTimers.sleep(100);
  } while (
    !signal?.aborted &&
    pipeline.notifications.length < expected &&
    pipeline.executions.some((execution) => execution.status === 'running')
  );
  if (!signal?.aborted) await pipeline.settle();
}
