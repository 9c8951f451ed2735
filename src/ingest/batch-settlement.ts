import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { listBatch } from '../batch/list-batch';
import type { BatchRef, InspectionRequest } from './batch-events';
import { executionName } from './execution-names';

export type Settlement =
  | { readonly state: 'waiting'; readonly waitSeconds: number }
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
  if (now.getTime() < quietUntil) return { state: 'waiting', waitSeconds: Math.max(1, Math.ceil((quietUntil - now.getTime()) / 1000)) };
  const fingerprint = createHash('sha256');
  for (const object of objects) fingerprint.update(`${object.key}\u0000${object.etag}\u0000${object.size}\n`);
  return {
    state: 'settled',
    executionName: executionName('q', batch.prefix, batch.bucket, fingerprint.digest('hex')),
    input: { batch, closedBy: 'quiet-period', closedAt: new Date(quietUntil).toISOString() },
  };
}
