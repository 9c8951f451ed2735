import type { BatchState, BatchStateName, BatchStateStore } from '../src/batch-state/batch-state';
import { executionName } from '../src/ingest/execution-names';
import type { Output } from './output';
import { formatDuration } from './progress';

/**
 * `--wait`: follows a batch through the records the pipeline keeps in the work bucket (`batches/<run>.json`),
 * printing each new state, until its outcome (completed, failed, timed out) or until the CLI gives up.
 */

export const FINAL_STATES: readonly BatchStateName[] = ['completed', 'failed', 'timed_out'];

/** The run a manifest starts: the ingest names it after the batch folder and the manifest's ETag. */
export function manifestRunId(bucket: string, prefix: string, eTag: string): string {
  return executionName('m', prefix, bucket, eTag.replace(/"/g, ''));
}

/**
 * The run of this upload among records: the one named after the manifest when there is one; else the newest
 * record of the folder that is not a waiter's history (`closedInto`) and that changed after the manifest was
 * written (`closedAt` or `updatedAt`).
 */
export function pickRun(
  records: readonly BatchState[],
  prefix: string,
  expectedId: string | undefined,
  since: Date,
): BatchState | undefined {
  if (expectedId !== undefined) {
    const exact = records.find((record) => record.batchId === expectedId);
    if (exact) return exact;
  }
  const after = (iso: string | undefined) => iso !== undefined && Date.parse(iso) >= since.getTime();
  return records
    .filter(
      (record) =>
        record.prefix === prefix &&
        record.closedInto === undefined &&
        (after(record.closedAt) || after(record.updatedAt)),
    )
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
}

/** The readable label of a state: `timed out` rather than `timed_out`. */
export function stateLabel(state: BatchStateName): string {
  return state.replace('_', ' ');
}

/** One line per state, as a person follows it. */
export function describeState(record: BatchState): string {
  const photos = record.photos;
  const skipped = photos && photos.skipped > 0 ? `, ${photos.skipped} skipped` : '';
  switch (record.state) {
    case 'collecting':
      return `collecting photos${photos ? ` (${photos.found} so far)` : ''}`;
    case 'copying':
      return `copying ${photos ? photos.found - photos.skipped : '?'} photos to Pix4Dinspect${skipped}${record.inspection ? ` (inspection ${record.inspection.id})` : ''}`;
    case 'registering':
      return `registering ${photos?.copied ?? '?'} photos`;
    case 'processing':
      return 'processing in Pix4Dinspect';
    case 'completed':
      return `completed: ${photos?.registered ?? '?'}/${photos?.found ?? '?'} photos registered${skipped}${notRegistered(record)}`;
    case 'failed':
      return `failed${record.error ? ` at stage ${record.error.stage}: ${record.error.message}` : ''}`;
    case 'timed_out':
      return 'timed out: processing did not end before the deadline';
  }
}

/**
 * `, 3 not registered` when the counts would not add up otherwise: registered + skipped + these = found (Pix4Dinspect
 * may register fewer photos than were copied).
 */
export function notRegistered(record: BatchState): string {
  const photos = record.photos;
  if (photos?.registered === undefined) return '';
  const missing = photos.found - photos.skipped - photos.registered;
  return missing > 0 ? `, ${missing} not registered` : '';
}

export type FollowResult =
  | { readonly outcome: 'completed' | 'failed' | 'timed_out'; readonly record: BatchState }
  | { readonly outcome: 'gave_up'; readonly record: BatchState | undefined; readonly seconds: number };

export interface FollowOptions {
  readonly store: BatchStateStore;
  readonly prefix: string;
  /** The run's id when known (a manifest's run). */
  readonly expectedId?: string | undefined;
  /** When the manifest was written: records older than this are earlier runs. */
  readonly since: Date;
  readonly timeoutSeconds: number;
  readonly pollMs?: number;
  /** Each new state of the run (first seen, or changed). */
  readonly onState: (record: BatchState) => void;
  /** Once, while no record of the run exists yet. */
  readonly onWaiting?: () => void;
  readonly now?: () => number;
}

/** How many polls between two listings of recent records, when the run is not found by its id. */
const LISTING_EVERY = 5;

export async function followBatch(options: FollowOptions): Promise<FollowResult> {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1_000;
  const started = now();
  let last: BatchState | undefined;
  let announcedWaiting = false;
  for (let poll = 0; ; poll++) {
    const record = await findRun(options, poll);
    if (record && (last === undefined || record.batchId !== last.batchId || record.state !== last.state)) {
      last = record;
      options.onState(record);
    }
    if (last && FINAL_STATES.includes(last.state))
      return { outcome: last.state as 'completed' | 'failed' | 'timed_out', record: last };
    if (!last && !announcedWaiting) {
      announcedWaiting = true;
      options.onWaiting?.();
    }
    const elapsed = (now() - started) / 1000;
    if (elapsed >= options.timeoutSeconds) return { outcome: 'gave_up', record: last, seconds: Math.round(elapsed) };
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(pollMs, Math.max(0, options.timeoutSeconds * 1000 - (now() - started)))),
    );
  }
}

async function findRun(options: FollowOptions, poll: number): Promise<BatchState | undefined> {
  if (options.expectedId !== undefined) {
    const exact = await options.store.find(options.expectedId);
    if (exact) return exact;
    // The pipeline may name runs otherwise (another version): now and then, look at the newest records too.
    if (poll % LISTING_EVERY !== LISTING_EVERY - 1) return undefined;
  }
  return pickRun(await options.store.recent(50), options.prefix, options.expectedId, options.since);
}

/** Follows the run and prints it for `--wait`; the exit code: 0 completed, 1 failed, timed out or given up. */
export async function followAndReport(
  out: Output,
  options: Omit<FollowOptions, 'onState' | 'onWaiting'>,
): Promise<number> {
  const clock = (record?: BatchState) =>
    new Date(record ? Date.parse(record.updatedAt) : Date.now()).toTimeString().slice(0, 8);
  if (!out.json)
    out.line(
      `Following ${options.prefix} until its outcome (giving up after ${formatDuration(options.timeoutSeconds)}):`,
    );
  const result = await followBatch({
    ...options,
    onWaiting: () => {
      if (out.json)
        out.result({
          event: 'waiting',
          prefix: options.prefix,
          ...(options.expectedId ? { batchId: options.expectedId } : {}),
        });
      else out.line(`  ${clock()}  waiting for the pipeline to pick up the batch`);
    },
    onState: (record) => {
      if (out.json) out.result({ event: 'state', ...record });
      else out.line(`  ${clock(record)}  ${describeState(record)}`);
    },
  });
  if (result.outcome === 'gave_up') {
    const where = result.record ? `it is still ${stateLabel(result.record.state)}` : 'no run of it was recorded';
    if (out.json)
      out.result({
        event: 'gave-up',
        prefix: options.prefix,
        seconds: result.seconds,
        state: result.record?.state ?? null,
      });
    out.error(
      `gave up after ${formatDuration(result.seconds)} (--timeout): ${where}; \`status\` shows where it stands.`,
    );
    return 1;
  }
  const { record } = result;
  if (out.json) {
    out.result({ event: 'outcome', ...record });
  } else if (record.inspection?.url) {
    out.line(`Inspection ${record.inspection.id}: ${record.inspection.url}`);
  } else if (record.inspection) {
    out.line(`Inspection ${record.inspection.id} (no link yet)`);
  }
  if (result.outcome !== 'completed') out.error(`${options.prefix} ${describeState(record)}`);
  return result.outcome === 'completed' ? 0 : 1;
}
