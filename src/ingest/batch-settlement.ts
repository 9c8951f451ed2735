import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { BatchStateStore } from '../batch-state/batch-state';
import { listBatch } from '../batch/list-batch';
import type { BatchRef, InspectionRequest } from './batch-events';
import { executionName } from './execution-names';

export type Settlement =
  | { readonly state: 'waiting'; readonly waitSeconds: number; readonly objects: number }
  | { readonly state: 'closed-by-manifest' }
  | { readonly state: 'empty' }
  | { readonly state: 'settled'; readonly executionName: string; readonly input: InspectionRequest };

/**
 * Whether a batch has been quiet for the quiet period. A settled batch gets the name of the inspection to start,
 * derived from its content (keys, ETags, sizes): every waiter of the same batch computes the same name, so at most
 * one inspection starts, and a late duplicate event for content already processed starts none.
 */
export async function checkSettlement(
  batch: BatchRef,
  quietPeriodSeconds: number,
  s3: S3Client,
  now: Date = new Date(),
): Promise<Settlement> {
  const { objects, manifest } = await listBatch(s3, batch.bucket, batch.prefix);
  // The manifest's own event starts the inspection; the waiter stands down.
  if (manifest) return { state: 'closed-by-manifest' };
  if (objects.length === 0) return { state: 'empty' };
  const newest = Math.max(...objects.map((object) => Date.parse(object.lastModified)));
  const quietUntil = newest + quietPeriodSeconds * 1000;
  if (now.getTime() < quietUntil) {
    return { state: 'waiting', waitSeconds: Math.max(1, Math.ceil((quietUntil - now.getTime()) / 1000)), objects: objects.length };
  }
  const fingerprint = createHash('sha256');
  for (const object of objects) fingerprint.update(`${object.key}\u0000${object.etag}\u0000${object.size}\n`);
  return {
    state: 'settled',
    executionName: executionName('q', batch.prefix, batch.bucket, fingerprint.digest('hex')),
    input: { batch, closedBy: 'quiet-period', closedAt: new Date(quietUntil).toISOString() },
  };
}

/**
 * The waiter's record for the operator CLI: `collecting` while photos arrive; once the batch closed, the record
 * says what it closed into, and the inspection's own record takes over.
 */
export async function recordWatch(s3: S3Client, workBucket: string, watchId: string, batch: BatchRef, settlement: Settlement, now: Date): Promise<void> {
  const closedInto =
    settlement.state === 'settled' ? settlement.executionName : settlement.state === 'waiting' ? undefined : settlement.state;
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
