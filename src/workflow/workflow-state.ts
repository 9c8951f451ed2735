import type { BatchRef, InspectionRequest } from '../ingest/batch-events';
import type { NotificationType } from '../notify/notification';

/**
 * The shapes that travel through the state machine between steps. Only ids, counts and small keys: image lists
 * live in the work bucket (`RunStore`), and no credential ever appears here.
 */

export interface PreparedInspection {
  readonly batchId: string;
  readonly batch: BatchRef;
  readonly runPrefix: string;
  readonly asset: { readonly id: number; readonly name: string; readonly source: 'manifest' | 'registry' | 'created' };
  readonly inspection: { readonly id: number; readonly projectId: number | null; readonly name: string };
  readonly images: { readonly found: number; readonly accepted: number; readonly skipped: number };
  /** One item per copy invocation (the Map's items). */
  readonly chunks: readonly { readonly index: number }[];
}

export interface CopyChunkInput {
  readonly runPrefix: string;
  readonly dropBucket: string;
  readonly inspectionId: number;
  readonly chunkIndex: number;
}

export interface CopyChunkResult {
  readonly chunkIndex: number;
  readonly copied: number;
  /** Photos whose content the copy ruled out (listed in the run's chunk record). */
  readonly skipped: number;
  readonly bytes: number;
  /** Inspect's prefix the photos were written under (needed to register them). */
  readonly keyPrefix: string;
}

export interface RegisterInput {
  readonly runPrefix: string;
  readonly inspectionId: number;
  readonly copy: readonly CopyChunkResult[];
}

export interface RegistrationResult {
  readonly copied: number;
  readonly registered: number;
  readonly calls: number;
}

export interface PollState {
  readonly outcome: 'completed' | 'failed' | 'timed_out' | 'in_progress';
  readonly waitSeconds: number;
  readonly pollCount: number;
  readonly status: { readonly id: number; readonly name: string } | null;
  /** When completed: processing ended after the previous poll and by this one (ISO times). */
  readonly endedWithin?: { readonly after: string; readonly by: string };
}

export interface StartInput {
  readonly runPrefix: string;
  readonly inspectionId: number;
  /**
   * Photos registered: with the history of past runs, how long processing is expected to take. Absent in a run
   * that started before the schedule used it: then processing is expected to end at once and the waits grow.
   */
  readonly photos?: number;
  /** Copy chunks the run made: their state transitions come out of the poll budget. @default 0 */
  readonly chunks?: number;
}

export interface ProcessingState {
  readonly startedAt: string;
  readonly deadline: string;
  /** Seconds from the start that processing is expected to take: the poll schedule aims at that end. */
  readonly expectedSeconds: number;
  /** Polls the run may make up to the deadline (`pollBudget`). */
  readonly pollBudget: number;
  readonly poll: PollState;
}

export interface CheckInput {
  /** The execution's name: the batch the check's metrics are about. */
  readonly batchId?: string;
  readonly inspectionId: number;
  readonly deadline: string;
  readonly pollCount: number;
  /** The schedule's inputs; absent in a run that started before they existed. */
  readonly startedAt?: string;
  readonly expectedSeconds?: number;
  readonly pollBudget?: number;
  /** The wait before this poll: how long ago the previous one was. */
  readonly waitedSeconds?: number;
}

/** The whole state as the notify step receives it: any part may be missing, depending on where the run stopped. */
export interface WorkflowState extends Partial<InspectionRequest> {
  readonly prepared?: PreparedInspection;
  readonly copy?: readonly CopyChunkResult[];
  readonly registration?: RegistrationResult;
  readonly processing?: ProcessingState;
  /** Set by the Pass state a Catch leads to. */
  readonly failure?: { readonly stage: string };
  /** Set by a Catch: the Lambda error's name and its JSON cause. */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

export interface NotifyInput {
  /** The execution's name, which identifies the closed batch. */
  readonly batchId: string;
  readonly type: NotificationType;
  readonly state: WorkflowState;
}
