import { BatchStateStore } from '../batch-state/batch-state';
import { buildNotification, isNoticeType, type NotificationInput, type NotificationV1 } from '../notify/notification';
import { type FailureCause, INPUT_ERRORS } from '../observability/pipeline-metrics';
import { ProcessingHistory } from '../status/processing-history';
import { endFolderRun } from './close-decision';
import type { BatchSummary } from './prepare-inspection';
import { keepRecord } from './record-progress';
import { RUN_FILES } from './run-files';
import { RunStore } from './run-store';
import type { StepDependencies } from './step-dependencies';
import { type ChunkRecord, chunkRecordName } from './transfer-steps';
import type { NotifyInput, WorkflowState } from './workflow-state';

/** What the notify step answers the state machine: the cause of a failure decides how the execution ends. */
export interface NotifyOutcome {
  readonly type: string;
  readonly subject: string;
  /** Only for `inspection.failed`. */
  readonly cause?: FailureCause;
}

/**
 * The last step of every run: build the version-1 message from whatever the run reached, and publish it. Skipped
 * files come from the run's summary in the work bucket, since the list can exceed the state's size limit.
 */
export async function notifyOutcome(input: NotifyInput, deps: StepDependencies): Promise<NotifyOutcome> {
  const { state } = input;
  deps.metrics.about(input.batchId);
  const failureCause = input.type === 'inspection.failed' ? causeOf(state) : undefined;
  const cause = failureCause ? { cause: failureCause } : {};
  const prepared = state.prepared;
  const runPrefix = prepared?.runPrefix ?? RunStore.prefixFor(input.batchId);
  const store = new RunStore(deps.s3, deps.config.workBucket);
  const published = await store.find<PublishedOutcome>(runPrefix, RUN_FILES.notified);
  if (published) {
    // The earlier attempt may have failed after publishing: the operator's record is written again.
    await recordOutcome(deps, input, published.message);
    deps.logger.info('Outcome already published by an earlier attempt', {
      type: published.message.type,
      batchId: input.batchId,
    });
    return { type: published.message.type, subject: published.subject, ...cause };
  }
  const summary = await store.find<BatchSummary>(runPrefix, RUN_FILES.summary);
  const chunkRecords = await Promise.all(
    (state.copy ?? []).map((chunk) => store.find<ChunkRecord>(runPrefix, chunkRecordName(chunk.chunkIndex))),
  );
  const skippedWhileCopying = chunkRecords.flatMap((record) => record?.skipped ?? []);
  const batch = prepared?.batch ?? state.batch;
  const poll = state.processing?.poll;
  const error = input.type === 'inspection.failed' ? describeFailure(state) : undefined;
  // One reading of the clock, for the message and the metrics alike.
  const finishedAt = deps.now().toISOString();

  const notification: NotificationInput = {
    type: input.type,
    batch: { bucket: batch?.bucket ?? 'unknown', prefix: batch?.prefix ?? 'unknown', id: input.batchId },
    asset: { id: prepared?.asset.id ?? null, name: prepared?.asset.name ?? batch?.assetName ?? 'unknown' },
    inspection: prepared
      ? {
          id: prepared.inspection.id,
          projectId: prepared.inspection.projectId,
          name: prepared.inspection.name,
          status: poll?.status ?? null,
        }
      : null,
    images: {
      found: summary?.found ?? 0,
      copied: state.registration?.copied ?? sumCopied(state),
      registered: state.registration?.registered ?? 0,
      skipped: [...(summary?.skipped ?? []), ...skippedWhileCopying],
    },
    flight: summary?.flight ?? null,
    warnings: summary?.warnings ?? [],
    ...(error ? { error } : {}),
    ...(isNoticeType(input.type) ? { notice: causeMessage(state.error?.Cause) } : {}),
    ...(state.processing?.deadline ? { deadline: state.processing.deadline } : {}),
    timings: {
      closedAt: state.closedAt ?? finishedAt,
      processingStartedAt: state.processing?.startedAt ?? null,
      finishedAt,
    },
    secrets: [...deps.secrets()],
  };
  const built = buildNotification(notification, { inspectBaseUrl: deps.config.inspectBaseUrl });
  await deps.publisher.publish(built);
  recordOutcomeMetrics(
    deps.metrics,
    input.type,
    { closedAt: state.closedAt, processingStartedAt: state.processing?.startedAt, finishedAt },
    failureCause && error ? { cause: failureCause, stage: error.stage } : undefined,
  );
  const outcome: NotifyOutcome = { type: input.type, subject: built.subject, ...cause };
  // Published: from here nothing may fail the step, or a retry would publish the outcome again.
  await keepRecord(deps, RUN_FILES.notified, () =>
    store.write(runPrefix, RUN_FILES.notified, {
      subject: built.subject,
      message: built.message,
    } satisfies PublishedOutcome),
  );
  await recordOutcome(deps, input, built.message);
  await recordProcessingTime(deps, input, finishedAt);
  deps.logger.info('Outcome published', {
    type: input.type,
    batch: notification.batch.prefix,
    inspectionId: prepared?.inspection.id,
  });
  return outcome;
}

/** A completed processing's time per photo, for the schedule of the next runs' polls. */
async function recordProcessingTime(deps: StepDependencies, input: NotifyInput, finishedAt: string): Promise<void> {
  const processing = input.state.processing;
  const photos = input.state.registration?.registered ?? 0;
  if (input.type !== 'inspection.completed' || processing?.startedAt === undefined || photos < 1) return;
  // The middle of the span between the last two polls, rather than the notification's time: a learnt time that
  // carried this run's lateness would aim the next runs late.
  const span = processing.poll.endedWithin;
  const endedAt = span ? (Date.parse(span.after) + Date.parse(span.by)) / 2 : Date.parse(finishedAt);
  const seconds = Math.max(0, (endedAt - Date.parse(processing.startedAt)) / 1000);
  await keepRecord(deps, 'processing history', () =>
    new ProcessingHistory(deps.s3, deps.config.workBucket).add({ photos, seconds, finishedAt }),
  );
}

/** What a run published, kept so that a retried step neither publishes again nor leaves the record unwritten. */
interface PublishedOutcome {
  readonly subject: string;
  readonly message: NotificationV1;
}

const FINAL_STATE = {
  'inspection.completed': 'completed',
  'inspection.failed': 'failed',
  'inspection.timed_out': 'timed_out',
} as const;

/**
 * The run's final record for the operator CLI, from the message just published, and the end of its folder claim. A
 * run that started nothing (late photos, a skipped close) leaves the records of the run that closed the folder.
 */
async function recordOutcome(deps: StepDependencies, input: NotifyInput, message: NotificationV1): Promise<void> {
  if (isNoticeType(input.type)) return;
  await keepRecord(deps, 'folder claim', () => endFolderRun(message.batch, input.batchId, deps));
  const finalState = FINAL_STATE[input.type];
  const prefix = message.batch.prefix;
  const store = new BatchStateStore(deps.s3, deps.config.workBucket);
  await keepRecord(deps, `batch state ${finalState}`, () =>
    store.record(
      {
        batchId: input.batchId,
        bucket: message.batch.bucket,
        prefix,
        asset: message.asset.name,
        flight: input.state.prepared?.batch.flightName ?? input.state.batch?.flightName ?? prefix,
        state: finalState,
        photos: {
          found: message.images.found,
          copied: message.images.copied,
          registered: message.images.registered,
          skipped: message.images.skippedTotal,
        },
        ...(message.inspection ? { inspection: { id: message.inspection.id, url: message.inspection.url } } : {}),
        ...('error' in message && message.error ? { error: message.error } : {}),
        closedAt: message.timings.closedAt,
      },
      deps.now(),
    ),
  );
}

function sumCopied(state: WorkflowState): number {
  return (state.copy ?? []).reduce((sum, chunk) => sum + chunk.copied, 0);
}

/**
 * The outcome's metrics, recorded as soon as it is published (they are published when the invocation ends, even
 * one that fails after this): the outcome, a failure by cause and stage, and the run's durations.
 */
function recordOutcomeMetrics(
  metrics: StepDependencies['metrics'],
  type: NotifyInput['type'],
  timings: {
    readonly closedAt?: string | undefined;
    readonly processingStartedAt?: string | undefined;
    readonly finishedAt: string;
  },
  failure: { readonly cause: FailureCause; readonly stage: string } | undefined,
): void {
  switch (type) {
    case 'inspection.completed':
      metrics.record('InspectionsCompleted', 1);
      break;
    case 'inspection.failed':
      metrics.record('InspectionsFailed', 1, { cause: failure?.cause ?? 'system' });
      metrics.record('FailuresByStage', 1, { stage: failure?.stage ?? 'unknown' });
      break;
    case 'inspection.timed_out':
      metrics.record('InspectionsTimedOut', 1);
      break;
    case 'inspection.late_photos':
      metrics.record('LatePhotosReported', 1);
      return;
    case 'inspection.skipped':
      metrics.record('RunsSkipped', 1);
      return;
  }
  const at = (time: string | undefined) => (time ? Date.parse(time) : undefined);
  const closedAt = at(timings.closedAt);
  const startedAt = at(timings.processingStartedAt);
  const finishedAt = Date.parse(timings.finishedAt);
  const seconds = (from: number, to: number) => Math.max(0, (to - from) / 1000);
  if (closedAt !== undefined && startedAt !== undefined)
    metrics.record('TimeToProcessingStart', seconds(closedAt, startedAt));
  if (startedAt !== undefined) metrics.record('ProcessingDuration', seconds(startedAt, finishedAt));
  if (closedAt !== undefined) metrics.record('TimeToNotification', seconds(closedAt, finishedAt));
}

/** A failure of the person's flight or manifest (`input`), or of the pipeline and its services (`system`). */
function causeOf(state: WorkflowState): FailureCause {
  return state.error?.Error && INPUT_ERRORS.includes(state.error.Error) ? 'input' : 'system';
}

/** Failures of the person's input, whichever step found them: the stage names what to fix. */
const STAGE_OF_ERROR: Readonly<Record<string, string>> = { ManifestError: 'manifest', PreflightError: 'preflight' };

/** Stage and reason of a failure: from the Catch that led here, or from the processing status. */
function describeFailure(state: WorkflowState): { stage: string; message: string } {
  if (!state.error) {
    const status = state.processing?.poll.status;
    return {
      stage: 'processing',
      message: `Pix4Dinspect reported a failed processing: ${status ? `${status.name} (${status.id})` : 'unknown status'}`,
    };
  }
  const name = state.error.Error ?? 'Error';
  const stage = STAGE_OF_ERROR[name] ?? state.failure?.stage ?? 'unknown';
  return { stage, message: `${name}: ${causeMessage(state.error.Cause)}` };
}

/** A Lambda error's Cause is JSON `{errorType, errorMessage, trace}`; only the message is for people. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no details';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}
