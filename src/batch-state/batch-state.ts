import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { mapWithConcurrency } from '../copy/pool';
import { JsonObjects } from '../json-objects';

/**
 * Where each batch stands, one JSON record per run under `batches/` in the work bucket, written by the workflow
 * as it goes: the operator CLI reads them (on AWS and in local mode alike) to list batches at a glance.
 */

export const BATCH_STATES = [
  'collecting',
  'copying',
  'registering',
  'processing',
  'completed',
  'failed',
  'timed_out',
] as const;
export type BatchStateName = (typeof BATCH_STATES)[number];

export const batchStateSchema = z.object({
  /** The run's execution name. */
  batchId: z.string(),
  bucket: z.string(),
  prefix: z.string(),
  asset: z.string(),
  flight: z.string(),
  state: z.enum(BATCH_STATES),
  photos: z
    .object({
      found: z.number(),
      copied: z.number().optional(),
      registered: z.number().optional(),
      skipped: z.number(),
    })
    .optional(),
  inspection: z.object({ id: z.number(), url: z.string().nullable() }).optional(),
  error: z.object({ stage: z.string(), message: z.string() }).optional(),
  closedAt: z.string().optional(),
  /** A batch waiter's record, once its batch closed: what it led to (an inspection's run, or the manifest's). */
  closedInto: z.string().optional(),
  updatedAt: z.string(),
});
export type BatchState = z.infer<typeof batchStateSchema>;

export const BATCH_STATE_PREFIX = 'batches/';

export class BatchStateStore extends JsonObjects {
  static keyFor(batchId: string): string {
    return `${BATCH_STATE_PREFIX}${batchId}.json`;
  }

  /** Records the run's state; the steps of one run write one after the other, so the last write is the latest. */
  async record(state: Omit<BatchState, 'updatedAt'>, now: Date = new Date()): Promise<void> {
    const record: BatchState = { ...state, updatedAt: now.toISOString() };
    await this.putJson(BatchStateStore.keyFor(state.batchId), record);
  }

  async find(batchId: string): Promise<BatchState | undefined> {
    return this.parsed(BatchStateStore.keyFor(batchId));
  }

  /** The most recently updated records, newest first. */
  async recent(limit: number): Promise<BatchState[]> {
    const entries: { key: string; modified: number }[] = [];
    for await (const page of paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: BATCH_STATE_PREFIX },
    )) {
      for (const object of page.Contents ?? []) {
        if (object.Key) entries.push({ key: object.Key, modified: object.LastModified?.getTime() ?? 0 });
      }
    }
    entries.sort((a, b) => b.modified - a.modified);
    const records = await mapWithConcurrency(entries.slice(0, limit), 8, ({ key }) => this.parsed(key));
    return records
      .filter((record): record is BatchState => record !== undefined)
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  private async parsed(key: string): Promise<BatchState | undefined> {
    const found = await this.getJson(key);
    return found === undefined ? undefined : batchStateSchema.parse(found.value);
  }
}
