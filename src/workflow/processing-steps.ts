import type { Pix4dInspectApi } from '../pix4d/client';
import type { InspectionStatus } from '../pix4d/schemas';
import { nextWaitSeconds, pollBudget } from '../status/poll-schedule';
import { expectedProcessing, ProcessingHistory } from '../status/processing-history';
import { decideAfterPoll } from '../status/processing-status';
import { recordProgress } from './record-progress';
import { RUN_FILES } from './run-files';
import { RunStore } from './run-store';
import type { StepDependencies } from './step-dependencies';
import type { CheckInput, PollState, ProcessingState, StartInput } from './workflow-state';

interface ProcessingStartRecord {
  readonly statusBefore: InspectionStatus;
  readonly requestedAt: string;
}

/**
 * Step 4: start processing, which consumes allowance. The status before the first attempt is kept in the work
 * bucket, so that a retried step (after a timeout or a lost answer) sees that processing already started instead
 * of asking again.
 */
export async function startProcessing(input: StartInput, deps: StepDependencies): Promise<ProcessingState> {
  deps.metrics.about(RunStore.batchIdOf(input.runPrefix));
  const store = new RunStore(deps.s3, deps.config.workBucket);
  const history = new ProcessingHistory(deps.s3, deps.config.workBucket);
  const api = await deps.pix4d();
  const [earlier, pastRuns] = await Promise.all([
    store.find<ProcessingStartRecord>(input.runPrefix, RUN_FILES.processingStart),
    history.runs(),
  ]);
  let record = earlier;
  if (!record) {
    const inspection = await api.getInspection(input.inspectionId);
    record = {
      statusBefore: { id: inspection.status.id, name: inspection.status.name },
      requestedAt: deps.now().toISOString(),
    };
    await store.write(input.runPrefix, RUN_FILES.processingStart, record);
  }
  // A recorded earlier attempt may have sent process/ already: the client watches the status before sending again.
  const start = await api.startProcessing(input.inspectionId, {
    statusBefore: record.statusBefore,
    ...(earlier ? { earlierAttemptAt: Date.parse(earlier.requestedAt) } : {}),
  });
  const startedAt = new Date(record.requestedAt);
  const deadlineSeconds = deps.config.deadlineHours * 3_600;
  const deadline = new Date(startedAt.getTime() + deadlineSeconds * 1000);
  const expected = expectedProcessing(input.photos ?? 0, pastRuns, deadlineSeconds, deps.config.pollSchedule);
  const budget = pollBudget(input.chunks ?? 0);
  await recordProgress(deps, input.runPrefix, 'processing');
  deps.logger.info('Processing started', {
    inspectionId: input.inspectionId,
    status: start.status,
    confirmedByStatus: start.confirmedByStatus,
    expectedSeconds: expected.seconds,
    expectationFromRuns: expected.basedOnRuns,
  });
  const now = deps.now().getTime();
  const waitSeconds = nextWaitSeconds({
    elapsedSeconds: (now - startedAt.getTime()) / 1000,
    expectedSeconds: expected.seconds,
    secondsLeft: Math.max(1, (deadline.getTime() - now) / 1000),
    pollCount: 0,
    pollBudget: budget,
    schedule: deps.config.pollSchedule,
  });
  return {
    startedAt: startedAt.toISOString(),
    deadline: deadline.toISOString(),
    expectedSeconds: expected.seconds,
    pollBudget: budget,
    poll: {
      outcome: 'in_progress',
      waitSeconds,
      pollCount: 0,
      status: { id: start.status.id, name: start.status.name },
    },
  };
}

/**
 * Step 5: read the inspection's status, classify it and say how long to wait before the next look. A status that
 * cannot be read fails the step (the state machine retries it, then keeps polling), except past the deadline, when
 * the run ends timed out rather than polling on.
 */
export async function checkProcessing(input: CheckInput, deps: StepDependencies): Promise<PollState> {
  if (input.batchId) deps.metrics.about(input.batchId);
  const deadline = new Date(input.deadline);
  let inspection: Awaited<ReturnType<Pix4dInspectApi['getInspection']>>;
  try {
    inspection = await (await deps.pix4d()).getInspection(input.inspectionId);
  } catch (error) {
    deps.metrics.record('StatusChecksFailed', 1);
    if (deps.now() < deadline) throw error;
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    deps.logger.warn('Processing status unreadable past the deadline', {
      inspectionId: input.inspectionId,
      error: { name, message },
    });
    return { outcome: 'timed_out', waitSeconds: 0, pollCount: input.pollCount + 1, status: null };
  }
  const status = { id: inspection.status.id, name: inspection.status.name };
  const now = deps.now();
  const decision = decideAfterPoll({
    status,
    pollCount: input.pollCount + 1,
    now,
    // A run started before the schedule aimed at an expected end has neither its start nor an expectation: its
    // start is its deadline less the deadline's hours, and with nothing expected its waits grow from that start.
    startedAt: new Date(input.startedAt ?? deadline.getTime() - deps.config.deadlineHours * 3_600_000),
    deadline,
    expectedSeconds: input.expectedSeconds ?? 0,
    pollBudget: input.pollBudget ?? pollBudget(0),
    classes: deps.config.statusClasses,
    schedule: deps.config.pollSchedule,
  });
  deps.logger.info('Processing status', {
    inspectionId: input.inspectionId,
    status,
    outcome: decision.outcome,
    poll: decision.pollCount,
  });
  return { ...decision, status, ...endedWithin(decision.outcome, now, input.waitedSeconds) };
}

/** For a completed processing, the span in which it ended: since the previous poll, up to this one. */
function endedWithin(outcome: PollState['outcome'], now: Date, waitedSeconds: number | undefined) {
  if (outcome !== 'completed' || waitedSeconds === undefined) return {};
  return {
    endedWithin: { after: new Date(now.getTime() - waitedSeconds * 1000).toISOString(), by: now.toISOString() },
  };
}
