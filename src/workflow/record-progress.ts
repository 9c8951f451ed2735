import { type BatchStateName, BatchStateStore } from '../batch-state/batch-state';
import { inspectionUrl } from '../notify/notification';
import { RUN_FILES } from './run-files';
import { RunStore } from './run-store';
import type { StepDependencies } from './step-dependencies';
import type { PreparedInspection } from './workflow-state';

/**
 * Writes a record kept for the operator (where a batch stands): a failure to write it is logged and counted, and
 * never fails the run, which does not depend on it.
 */
export async function keepRecord(
  deps: Pick<StepDependencies, 'logger' | 'metrics'>,
  record: string,
  write: () => Promise<unknown>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    deps.logger.warn('Record not written; the run goes on without it', { record, error: { name, message } });
    deps.metrics.record('RecordsNotWritten', 1);
  }
}

/** Records where a prepared run stands, for the operator CLI; the run's own files say which batch it is. */
export async function recordProgress(
  deps: StepDependencies,
  runPrefix: string,
  state: BatchStateName,
  details: { copied?: number; registered?: number } = {},
): Promise<void> {
  await keepRecord(deps, `batch state ${state}`, async () => {
    const prepared = await new RunStore(deps.s3, deps.config.workBucket).read<PreparedInspection>(
      runPrefix,
      RUN_FILES.prepared,
    );
    await writeBatchState(deps, prepared, state, details);
  });
}

export async function recordPrepared(
  deps: StepDependencies,
  prepared: PreparedInspection,
  state: BatchStateName,
  details: { copied?: number; registered?: number } = {},
): Promise<void> {
  await keepRecord(deps, `batch state ${state}`, () => writeBatchState(deps, prepared, state, details));
}

async function writeBatchState(
  deps: StepDependencies,
  prepared: PreparedInspection,
  state: BatchStateName,
  details: { copied?: number; registered?: number },
): Promise<void> {
  await new BatchStateStore(deps.s3, deps.config.workBucket).record(
    {
      batchId: prepared.batchId,
      bucket: prepared.batch.bucket,
      prefix: prepared.batch.prefix,
      asset: prepared.asset.name,
      flight: prepared.batch.flightName,
      state,
      photos: { found: prepared.images.found, skipped: prepared.images.skipped, ...details },
      inspection: {
        id: prepared.inspection.id,
        url: inspectionUrl(prepared.inspection.projectId, deps.config.inspectBaseUrl),
      },
    },
    deps.now(),
  );
}
