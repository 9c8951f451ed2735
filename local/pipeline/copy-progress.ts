import { AsyncLocalStorage } from 'node:async_hooks';
import type { CopyChunkInput, CopyChunkResult, PreparedInspection } from '../../src/workflow/workflow-state';
import type { LambdaHandler } from './local-lambda';

/** The events of a batch's copy, as a run reports them. */
export type CopyEvent =
  /** The copy of a batch begins: its files, those it will copy, those it skipped already (not photos, say). */
  | {
      readonly event: 'copy-started';
      readonly execution: string;
      readonly batch: string;
      readonly found: number;
      readonly accepted: number;
      readonly skipped: number;
    }
  /** `batch`: the batch folder of the copy that copied it. */
  | { readonly event: 'photo-copied'; readonly relativePath: string; readonly bytes: number; readonly batch?: string }
  /** Every chunk of a batch copied: the photos copied, and those the copy skipped (on top of `copy-started`'s). */
  | {
      readonly event: 'copy-ended';
      readonly execution: string;
      readonly batch: string;
      readonly copied: number;
      readonly skipped: number;
    };

/**
 * Follows each batch's copy from the inspection's states and the copier's reports. The copier reports each photo
 * without its batch: the copy invocation it runs in knows it (by its run prefix), the copy's start tells which batch
 * that run prefix belongs to.
 */
export class CopyProgress {
  private readonly copyRun = new AsyncLocalStorage<string>();
  private readonly batchOfRun = new Map<string, string>();

  constructor(private readonly emit: (event: CopyEvent) => void) {}

  /** The copy function's handler, with its invocation's run prefix known to `photoCopied`. */
  inBatchContext(handler: LambdaHandler): LambdaHandler {
    return (event, context) => this.copyRun.run((event as CopyChunkInput).runPrefix, () => handler(event, context));
  }

  /** The copier's report of one photo, with the batch of the copy invocation it ran in. */
  readonly photoCopied = (copied: { relativePath: string; bytes: number }): void => {
    const runPrefix = this.copyRun.getStore();
    const batch = runPrefix === undefined ? undefined : this.batchOfRun.get(runPrefix);
    this.emit({ event: 'photo-copied', ...copied, ...(batch === undefined ? {} : { batch }) });
  };

  /** A batch's files, from the input of its copy (the Prepare step's result): the copy's totals. */
  started(execution: string, input: unknown): void {
    const { prepared } = (input ?? {}) as { prepared?: PreparedInspection };
    if (!prepared) return;
    this.batchOfRun.set(prepared.runPrefix, prepared.batch.prefix);
    this.emit({ event: 'copy-started', execution, batch: prepared.batch.prefix, ...prepared.images });
  }

  /** What the copy of a batch did, from the input of the step after it (the Map's results, one per chunk). */
  ended(execution: string, input: unknown): void {
    const { prepared, copy } = (input ?? {}) as { prepared?: PreparedInspection; copy?: readonly CopyChunkResult[] };
    if (!prepared || !copy) return;
    const sum = (field: 'copied' | 'skipped') => copy.reduce((total, chunk) => total + chunk[field], 0);
    this.emit({
      event: 'copy-ended',
      execution,
      batch: prepared.batch.prefix,
      copied: sum('copied'),
      skipped: sum('skipped'),
    });
  }
}
