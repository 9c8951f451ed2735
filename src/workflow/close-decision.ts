import type { BatchObject, SkippedObject } from '../batch/list-batch';
import { type FolderClaim, FolderClaims } from '../batch-state/folder-claims';
import type { InspectionRequest } from '../ingest/batch-events';
import type { StepDependencies } from './step-dependencies';

/**
 * A quiet-period close of a folder that a run already closed: the files it found that the run did not take are
 * reported (`inspection.late_photos`), and nothing is created in Pix4Dinspect.
 */
export class LatePhotosError extends Error {
  // A fixed string: Step Functions Catch matches on it, and bundlers rename classes.
  override name = 'LatePhotosError';
}

/**
 * A close that would process again exactly the photos of the run that closed the folder: skipped and reported
 * (`inspection.skipped`), and nothing is created in Pix4Dinspect.
 */
export class BatchAlreadyClosedError extends Error {
  override name = 'BatchAlreadyClosedError';
}

/**
 * A quiet-period close of a folder whose run already took every file in it (a waiter that settled after the folder
 * closed): the run ends without a notification, there is nothing to tell.
 */
export class NothingNewError extends Error {
  override name = 'NothingNewError';
}

/** Other runs of the folder won every conditional write: the step is retried. */
export class FolderClaimContendedError extends Error {
  override name = 'FolderClaimContendedError';
}

/** Why a run does not go on, and the files its notification lists (the late ones, with the reason). */
export interface Refusal {
  readonly error: LatePhotosError | BatchAlreadyClosedError | NothingNewError;
  readonly files: readonly SkippedObject[];
}

/** Conditional writes lost to other runs of the same folder before this run gives up (and is retried). */
const CLAIM_ATTEMPTS = 5;

/**
 * One batch, one decision. The first run to close a folder claims it; a later run of the same folder:
 * - closed by the quiet period (photos that came after the folder closed, or a pause longer than the quiet
 *   period): never starts a partial inspection; the files the claiming run did not take are reported as late
 *   (and with none, the run ends quietly);
 * - closed by a manifest naming exactly the photos of a quiet-period run still under way (the uploader wrote
 *   manifest.json last, after the quiet period had closed the folder): skipped once, and reported;
 * - closed by any other manifest (new photos since, or a manifest written again to run the batch again): takes
 *   the claim and processes every photo of the folder.
 * Returns undefined when this run may go on; otherwise the error to end it with (`LatePhotosError` or
 * `BatchAlreadyClosedError`) and the files for its notification.
 */
export async function closeFolder(
  request: InspectionRequest,
  batchId: string,
  objects: readonly BatchObject[],
  deps: Pick<StepDependencies, 's3' | 'config' | 'logger'>,
): Promise<Refusal | undefined> {
  const { batch } = request;
  const claims = new FolderClaims(deps.s3, deps.config.workBucket);
  const mine: FolderClaim = {
    executionName: batchId,
    closedBy: request.closedBy,
    closedAt: request.closedAt,
    objects: objects.map(({ key, etag }) => ({ key, etag })),
  };
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
    const found = await claims.read(batch.bucket, batch.prefix);
    if (!found) {
      if (await claims.write(batch.bucket, batch.prefix, mine)) return undefined;
      continue;
    }
    const { claim, etag } = found;
    // A retried step of the run that holds the claim.
    if (claim.executionName === batchId || claim.manifestSkipped === batchId) {
      if (claim.executionName === batchId) return undefined;
      return { error: alreadyClosed(request, claim), files: [] };
    }
    const taken = new Set(claim.objects.map(({ key, etag: objectEtag }) => `${key}\u0000${objectEtag}`));
    const late = objects.filter((object) => !taken.has(`${object.key}\u0000${object.etag}`));
    if (request.closedBy === 'quiet-period') {
      if (late.length === 0) {
        return {
          error: new NothingNewError(`Nothing arrived in ${batch.prefix} since run ${claim.executionName} closed it`),
          files: [],
        };
      }
      const reason = `arrived after run ${claim.executionName} closed the folder; not processed`;
      const error = new LatePhotosError(
        `${late.length} file(s) arrived in ${batch.prefix} after run ${claim.executionName} had closed it, and are not ` +
          'processed. To process them with the rest of the flight, upload a new manifest.json to the folder (a manifest ' +
          'with other content than the last one): it starts a new inspection of every photo in the folder.',
      );
      return { error, files: late.map(({ key }) => ({ key, reason })) };
    }
    if (
      claim.closedBy === 'quiet-period' &&
      late.length === 0 &&
      claim.manifestSkipped === undefined &&
      claim.endedAt === undefined
    ) {
      if (await claims.write(batch.bucket, batch.prefix, { ...claim, manifestSkipped: batchId }, etag)) {
        return { error: alreadyClosed(request, claim), files: [] };
      }
      continue;
    }
    if (await claims.write(batch.bucket, batch.prefix, mine, etag)) {
      deps.logger.info('Folder closed again by a manifest', {
        batch: batch.prefix,
        previousRun: claim.executionName,
        newFiles: late.length,
      });
      return undefined;
    }
  }
  throw new FolderClaimContendedError(
    `Folder ${batch.prefix} is being closed by other runs at the same time; this run tries again`,
  );
}

function alreadyClosed(request: InspectionRequest, claim: FolderClaim): BatchAlreadyClosedError {
  const how =
    claim.closedBy === 'quiet-period'
      ? `the quiet period closed it as run ${claim.executionName}`
      : `run ${claim.executionName} closed it`;
  const again =
    request.closedBy === 'manifest'
      ? 'To process the same photos again, upload manifest.json once more with other content (any change gives it a new ETag).'
      : 'Nothing new arrived since.';
  return new BatchAlreadyClosedError(
    `${request.batch.prefix} is already being processed with these same photos: ${how} at ${claim.closedAt}, and its ` +
      `notification follows. No second inspection is started. ${again}`,
  );
}

/**
 * Marks the folder's claim as ended once the run holding it has published its outcome: from then on a manifest
 * for the same photos is a deliberate re-run (the operator CLI's `retry`), not the end of the same upload.
 */
export async function endFolderRun(
  batch: { readonly bucket: string; readonly prefix: string },
  batchId: string,
  deps: Pick<StepDependencies, 's3' | 'config' | 'now'>,
): Promise<void> {
  const claims = new FolderClaims(deps.s3, deps.config.workBucket);
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
    const found = await claims.read(batch.bucket, batch.prefix);
    if (!found || found.claim.executionName !== batchId || found.claim.endedAt !== undefined) return;
    if (
      await claims.write(batch.bucket, batch.prefix, { ...found.claim, endedAt: deps.now().toISOString() }, found.etag)
    )
      return;
  }
  throw new FolderClaimContendedError(`Folder ${batch.prefix} is being closed by other runs at the same time`);
}
