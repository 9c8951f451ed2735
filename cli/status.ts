import { type BatchState, BatchStateStore } from '../src/batch-state/batch-state';
import { notRegistered, stateLabel } from './follow';
import type { Output } from './output';
import { requireWorkBucket, type Targets } from './targets';

/**
 * `status`: the recent batches from the records the pipeline keeps in the work bucket (`batches/`), newest first:
 * asset/flight, state, photos, age, link, and the error of a failed one.
 */

export interface StatusOptions {
  readonly asset?: string | undefined;
  readonly limit: number;
  readonly json: boolean;
}

export type AgedBatchState = BatchState & { readonly ageSeconds: number };

/** `45s`, `3m`, `2h`, `5d`: how long ago, rounded down to the largest unit. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * The records to show: not a waiter's record once its batch closed (history: the run it closed into has its own
 * record), of the asset when one is given, newest first, at most `limit`, each with its age.
 */
export function visibleRecords(
  records: readonly BatchState[],
  options: Pick<StatusOptions, 'asset' | 'limit'>,
  now: number,
): AgedBatchState[] {
  return records
    .filter((record) => !(record.state === 'collecting' && record.closedInto !== undefined))
    .filter(
      (record) =>
        options.asset === undefined || record.asset === options.asset || record.prefix.startsWith(`${options.asset}/`),
    )
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
    .slice(0, options.limit)
    .map((record) => ({ ...record, ageSeconds: Math.max(0, Math.round((now - Date.parse(record.updatedAt)) / 1000)) }));
}

/**
 * `118/120, 2 skipped` (registered of found), `117/120, 2 skipped, 1 not registered` when Pix4Dinspect registered
 * fewer than were copied, `24 so far` while collecting, `-/120` before registration.
 */
export function formatPhotos(record: BatchState): string {
  const photos = record.photos;
  if (!photos) return '-';
  if (record.state === 'collecting') return `${photos.found} so far`;
  const skipped = photos.skipped > 0 ? `, ${photos.skipped} skipped` : '';
  return `${photos.registered ?? '-'}/${photos.found}${skipped}${notRegistered(record)}`;
}

/** The table, one row per batch, and an error line under each failed one. */
export function statusTable(records: readonly AgedBatchState[]): string[] {
  const header = ['BATCH', 'STATE', 'PHOTOS', 'AGE', 'LINK'];
  const rows = records.map((record) => [
    record.prefix.replace(/\/$/, ''),
    stateLabel(record.state),
    formatPhotos(record),
    formatAge(record.ageSeconds),
    record.inspection?.url ?? '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] as number)))
      .join('  ')
      .trimEnd();
  const lines = [format(header)];
  records.forEach((record, index) => {
    lines.push(format(rows[index] as string[]));
    if (record.error && record.state !== 'completed')
      lines.push(`  error at ${record.error.stage}: ${record.error.message}`);
  });
  return lines;
}

export async function runStatus(
  options: StatusOptions,
  resolve: () => Promise<Targets>,
  out: Output,
  now: () => number = Date.now,
): Promise<number> {
  const targets = await resolve();
  const workBucket = requireWorkBucket(targets, 'status');
  const store = new BatchStateStore(targets.s3, workBucket);
  // Hidden waiter records and other assets take room: read more than asked, then keep `limit`.
  const wanted = Math.min(1_000, options.asset === undefined ? options.limit * 2 + 10 : options.limit * 10 + 50);
  const records = visibleRecords(await store.recent(wanted), options, now());
  if (options.json) {
    out.line(JSON.stringify(records, null, 2));
    return 0;
  }
  if (records.length === 0) {
    out.line(
      `No batches recorded in s3://${workBucket}/batches/${options.asset === undefined ? '' : ` for asset ${options.asset}`} yet.`,
    );
    return 0;
  }
  for (const line of statusTable(records)) out.line(line);
  return 0;
}
