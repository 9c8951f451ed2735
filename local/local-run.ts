import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../src/copy/pool';
import type { RefusedCall } from './iam/iam-authorizer';
import type { NotificationV1 } from '../src/notify/notification';
import { LocalPipeline, LocalPipelineEvent, LocalPipelineOptions, startLocalPipeline } from './pipeline/local-pipeline';
import { syntheticPhoto, syntheticPhotoName } from './synthetic-photos';

export interface FlightSource {
  /** A folder uploaded as the flight, sub-folders kept. */
  readonly photosDir?: string;
  /** Synthetic JPEGs when no folder is given. */
  readonly generate: number;
}

export interface LocalRunOptions {
  readonly source: FlightSource;
  readonly asset: string;
  readonly flight: string;
  readonly flights: number;
  /** manifest.json to upload last; `false` uploads none (the batch closes by quiet period). */
  readonly manifest: string | false;
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
  /** AWS calls the synthesized roles did not allow (none without the IAM check). */
  readonly refused: readonly RefusedCall[];
  /** Every flight ended `inspection.completed`. */
  readonly succeeded: boolean;
}

export interface FileToDrop {
  readonly relativePath: string;
  readonly read: () => Promise<Buffer>;
  readonly size: number;
}

/** The files of a flight: every file under a folder, or `count` synthetic photos. */
export async function filesOf(source: FlightSource): Promise<FileToDrop[]> {
  if (source.photosDir === undefined) {
    return Array.from({ length: source.generate }, (_, index) => {
      const body = syntheticPhoto(index);
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
  return files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1));
}

/** Uploads a flight under `prefix` as a drone sync would (in parallel), and the manifest last. */
export async function dropFiles(s3: S3Client, bucket: string, prefix: string, files: readonly FileToDrop[], manifest: string | false): Promise<DroppedFlight> {
  await mapWithConcurrency(files, 16, async (file) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${file.relativePath}`, Body: await file.read() })),
  );
  if (manifest !== false) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json`, Body: manifest, ContentType: 'application/json' }));
  }
  return { prefix, files: files.length, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

/** The flight prefixes of a run: one, or `<flight>-01`... when several flights are dropped at once. */
export function flightPrefixes(asset: string, flight: string, count: number): string[] {
  if (count === 1) return [`${asset}/${flight}/`];
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => `${asset}/${flight}-${String(i + 1).padStart(width, '0')}/`);
}

/** Starts the local pipeline, drops the flights at once, waits for every outcome. */
export async function runLocalFlights(
  options: LocalRunOptions,
  onEvent: (event: LocalPipelineEvent | { event: 'ready'; pipeline: LocalPipeline } | { event: 'dropped'; flight: DroppedFlight }) => void,
): Promise<LocalRunResult> {
  const pipeline = await startLocalPipeline({ ...options.pipeline, onEvent });
  try {
    onEvent({ event: 'ready', pipeline });
    const files = await filesOf(options.source);
    const flights = await Promise.all(
      flightPrefixes(options.asset, options.flight, options.flights).map(async (prefix) => {
        const dropped = await dropFiles(pipeline.s3, pipeline.dropBucket, prefix, files, options.manifest);
        onEvent({ event: 'dropped', flight: dropped });
        return dropped;
      }),
    );
    await waitForOutcomes(pipeline, flights.length);
    const notifications = [...pipeline.notifications];
    return {
      flights,
      notifications,
      refused: pipeline.iam?.refused() ?? [],
      succeeded: notifications.length === flights.length && notifications.every((message) => message.type === 'inspection.completed'),
    };
  } finally {
    await pipeline.close();
  }
}

/** Waits until every flight has an outcome (S3 may report the last objects just after their upload returns). */
async function waitForOutcomes(pipeline: LocalPipeline, expected: number): Promise<void> {
  do {
    await pipeline.settle();
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (pipeline.notifications.length < expected && pipeline.executions.some((execution) => execution.status === 'running'));
  await pipeline.settle();
}
