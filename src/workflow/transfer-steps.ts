import { PHOTO_CONTENT_CHECK } from '../batch/image-completeness';
import type { SkippedObject } from '../batch/list-batch';
import { copyPhotos } from '../copy/copier';
import { InspectionCredentials } from '../copy/credentials-source';
import { NoPhotosError, type RunImage } from './prepare-inspection';
import { recordPrepared } from './record-progress';
import { chunkImagesName, RUN_FILES } from './run-files';
import { RunStore } from './run-store';
import type { StepDependencies } from './step-dependencies';
import type {
  CopyChunkInput,
  CopyChunkResult,
  PreparedInspection,
  RegisterInput,
  RegistrationResult,
} from './workflow-state';

/** What one copy invocation did, kept for registration and for the notification. */
export interface ChunkRecord {
  readonly copied: readonly string[];
  readonly skipped: readonly SkippedObject[];
}

export const chunkRecordName = (index: number) => `copy-${index}.json`;

/** The copies did not account for every accepted photo. */
export class CopyIncompleteError extends Error {
  override name = 'CopyIncompleteError';
}

/**
 * Step 2 (one Map iteration): copy one chunk of the batch's photos into Inspect's bucket with the inspection's
 * temporary credentials. Copying again is harmless, so a retried chunk simply copies again.
 */
export async function copyChunk(input: CopyChunkInput, deps: StepDependencies): Promise<CopyChunkResult> {
  const store = new RunStore(deps.s3, deps.config.workBucket);
  const chunk = await store.read<RunImage[]>(input.runPrefix, chunkImagesName(input.chunkIndex));
  deps.metrics.about(RunStore.batchIdOf(input.runPrefix));
  const credentials = new InspectionCredentials(await deps.pix4d(), input.inspectionId);
  const { keyPrefix } = await credentials.current();
  const copyStartedAt = deps.now().getTime();
  const result = await copyPhotos(chunk, { client: deps.s3, bucket: input.dropBucket }, credentials, {
    ...deps.config.copy,
    ...(deps.destinationEndpoint ? { destinationEndpoint: deps.destinationEndpoint } : {}),
    ...(deps.instrumentClient ? { instrumentClient: deps.instrumentClient } : {}),
    // Complete photos only: one cut short (an interrupted upload) is skipped with its reason, never registered.
    checkContent: PHOTO_CONTENT_CHECK,
  });
  const sourceKeys = new Map(chunk.map((image) => [image.relativePath, image.sourceKey]));
  const record: ChunkRecord = {
    copied: result.copied.map((photo) => photo.relativePath),
    skipped: result.skipped.map((photo) => ({
      key: sourceKeys.get(photo.relativePath) ?? photo.relativePath,
      reason: photo.reason,
    })),
  };
  const copySeconds = (deps.now().getTime() - copyStartedAt) / 1000;
  await store.write(input.runPrefix, chunkRecordName(input.chunkIndex), record);
  deps.metrics.record('PhotosCopied', result.copied.length);
  deps.metrics.record('BytesCopied', result.bytes);
  if (result.bytes > 0 && copySeconds > 0) deps.metrics.record('CopyThroughput', result.bytes / copySeconds);
  // The first fetch is the copy's own; every further one replaced credentials that were due or refused.
  if (credentials.fetches > 1) deps.metrics.record('S3CredentialRefreshes', credentials.fetches - 1);
  deps.logger.info('Chunk copied', {
    inspectionId: input.inspectionId,
    chunk: input.chunkIndex,
    photos: result.copied.length,
    skipped: result.skipped.length,
    bytes: result.bytes,
  });
  return {
    chunkIndex: input.chunkIndex,
    copied: result.copied.length,
    skipped: result.skipped.length,
    bytes: result.bytes,
    keyPrefix,
  };
}

/** Step 3: register every copied photo; the service must count exactly as many as were copied. */
export async function registerPhotos(input: RegisterInput, deps: StepDependencies): Promise<RegistrationResult> {
  deps.metrics.about(RunStore.batchIdOf(input.runPrefix));
  const store = new RunStore(deps.s3, deps.config.workBucket);
  const prepared = await store.read<PreparedInspection>(input.runPrefix, RUN_FILES.prepared);
  const accepted = prepared.images.accepted;
  const records = await Promise.all(
    input.copy.map((chunk) => store.read<ChunkRecord>(input.runPrefix, chunkRecordName(chunk.chunkIndex))),
  );
  const copiedPaths = records.flatMap((record) => record.copied);
  const skipped = records.reduce((sum, record) => sum + record.skipped.length, 0);
  const keyPrefix = input.copy[0]?.keyPrefix;
  if (copiedPaths.length + skipped !== accepted || !keyPrefix) {
    throw new CopyIncompleteError(
      `Copied ${copiedPaths.length} and skipped ${skipped} of ${accepted} photos; nothing registered`,
    );
  }
  if (copiedPaths.length === 0)
    throw new NoPhotosError(`None of the ${accepted} photos has image content; nothing registered`);
  const copied = copiedPaths.length;
  await recordPrepared(deps, prepared, 'registering', { copied });
  const keys = copiedPaths.map((relativePath) => `${keyPrefix}/${relativePath}`);
  const api = await deps.pix4d();
  const { registered, calls } = await api.registerImages(input.inspectionId, keys);
  deps.logger.info('Photos registered', { inspectionId: input.inspectionId, registered, calls });
  return { copied, registered, calls };
}
