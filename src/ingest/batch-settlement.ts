import { createHash } from 'node:crypto';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { listBatch } from '../batch/list-batch';
import { BatchStateStore } from '../batch-state/batch-state';
import type { BatchRef, InspectionRequest } from './batch-events';
import { executionName } from './execution-names';

/**
 * A multipart upload initiated this long ago and neither completed nor aborted no longer holds its batch: its
 * uploader has given up (the drop bucket's lifecycle aborts it later). Uploads of drone photos and videos take
 * minutes; a day leaves room for a slow link without keeping the other photos waiting for days.
 */
export const ABANDONED_UPLOAD_HOURS = 24;

export type Settlement =
  | {
      readonly state: 'waiting';
      readonly waitSeconds: number;
      readonly objects: number;
      /** Multipart uploads in progress under the batch folder, which hold it open. */
      readonly uploadsInProgress: number;
      /** When a check last saw an upload in progress (ISO 8601); null if none has. The waiter passes it back. */
      readonly uploadSeenAt: string | null;
    }
  | { readonly state: 'closed-by-manifest' }
  | { readonly state: 'empty' }
  | {
      readonly state: 'settled';
      readonly executionName: string;
      readonly input: InspectionRequest;
      /** Keys of abandoned uploads the inspection goes without. */
      readonly abandonedUploads: readonly string[];
    };

export interface SettlementOptions {
  /** From the previous check of the same waiter: an upload that was in progress then counts as activity then. */
  readonly uploadSeenAt?: string | null;
  /** From the previous check: how many uploads were in progress then. */
  readonly uploadsInProgressBefore?: number;
}

/**
 * Whether a batch has been quiet for the quiet period. A settled batch gets the name of the inspection to start,
 * derived from its content (keys, ETags, sizes): every waiter of the same batch computes the same name, so at most
 * one inspection starts, and a late duplicate event for content already processed starts none.
 *
 * Listings do not show an upload in progress, so a long multipart upload (a video, a slow link) would look like
 * quiet: while one is in progress under the folder the batch waits, and once it is gone (completed, whose object
 * S3 dates from the upload's start, or aborted) the batch waits a quiet period more from the first check that no
 * longer sees it: the upload may have ended just before that check, and the quiet period after it leaves time for a
 * manifest.json written last.
 */
export async function checkSettlement(
  batch: BatchRef,
  quietPeriodSeconds: number,
  s3: S3Client,
  now: Date = new Date(),
  options: SettlementOptions = {},
): Promise<Settlement> {
  const [{ objects, manifest }, uploads] = await Promise.all([
    listBatch(s3, batch.bucket, batch.prefix),
    listUploadsInProgress(s3, batch.bucket, batch.prefix),
  ]);
  // The manifest's own event starts the inspection; the waiter stands down, unless files came after the manifest:
  // those are late, and settling lets the run that closes them report them.
  if (manifest && !objects.some((object) => Date.parse(object.lastModified) > Date.parse(manifest.lastModified))) {
    return { state: 'closed-by-manifest' };
  }
  const abandonedBefore = now.getTime() - ABANDONED_UPLOAD_HOURS * 3_600_000;
  const active = uploads.filter((upload) => upload.initiated.getTime() >= abandonedBefore);
  const uploadEndedSincePreviousCheck = active.length === 0 && (options.uploadsInProgressBefore ?? 0) > 0;
  const uploadSeenAt =
    active.length > 0 || uploadEndedSincePreviousCheck ? now.toISOString() : (options.uploadSeenAt ?? null);
  if (active.length > 0) {
    return {
      state: 'waiting',
      waitSeconds: Math.max(1, quietPeriodSeconds),
      objects: objects.length,
      uploadsInProgress: active.length,
      uploadSeenAt,
    };
  }
  if (objects.length === 0) return { state: 'empty' };
  const newest = Math.max(
    ...objects.map((object) => Date.parse(object.lastModified)),
    uploadSeenAt ? Date.parse(uploadSeenAt) : 0,
  );
  const quietUntil = newest + quietPeriodSeconds * 1000;
  if (now.getTime() < quietUntil) {
    return {
      state: 'waiting',
      waitSeconds: Math.max(1, Math.ceil((quietUntil - now.getTime()) / 1000)),
      objects: objects.length,
      uploadsInProgress: 0,
      uploadSeenAt,
    };
  }
  const fingerprint = createHash('sha256');
  for (const object of objects) fingerprint.update(`${object.key}\u0000${object.etag}\u0000${object.size}\n`);
  return {
    state: 'settled',
    executionName: executionName('q', batch.prefix, batch.bucket, fingerprint.digest('hex')),
    input: { batch, closedBy: 'quiet-period', closedAt: new Date(quietUntil).toISOString() },
    abandonedUploads: uploads.map((upload) => upload.key),
  };
}

interface UploadInProgress {
  readonly key: string;
  readonly initiated: Date;
}

/** Multipart uploads initiated under `prefix` and neither completed nor aborted, every page of them. */
async function listUploadsInProgress(s3: S3Client, bucket: string, prefix: string): Promise<UploadInProgress[]> {
  const uploads: UploadInProgress[] = [];
  let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
  for (;;) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, ...markers }));
    for (const upload of page.Uploads ?? []) {
      if (upload.Key && upload.Initiated) uploads.push({ key: upload.Key, initiated: upload.Initiated });
    }
    if (!page.IsTruncated) return uploads;
    markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
  }
}

/**
 * The waiter's record for the operator CLI: `collecting` while photos arrive; once the batch closed, the record
 * says what it closed into, and the inspection's own record takes over.
 */
export async function recordWatch(
  s3: S3Client,
  workBucket: string,
  watchId: string,
  batch: BatchRef,
  settlement: Settlement,
  now: Date,
): Promise<void> {
  const closedInto =
    settlement.state === 'settled'
      ? settlement.executionName
      : settlement.state === 'waiting'
        ? undefined
        : settlement.state;
  await new BatchStateStore(s3, workBucket).record(
    {
      batchId: watchId,
      bucket: batch.bucket,
      prefix: batch.prefix,
      asset: batch.assetName,
      flight: batch.flightName,
      state: 'collecting',
      ...(settlement.state === 'waiting' ? { photos: { found: settlement.objects, skipped: 0 } } : {}),
      ...(closedInto ? { closedInto } : {}),
    },
    now,
  );
}
