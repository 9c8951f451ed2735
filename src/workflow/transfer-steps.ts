import { copyPhotos } from '../copy/copier';
import { InspectionCredentials } from '../copy/credentials-source';
import { RunImage, RUN_FILES } from './prepare-inspection';
import { RunStore } from './run-store';
import type { StepDependencies } from './step-dependencies';
import type { CopyChunkInput, CopyChunkResult, RegisterInput, RegistrationResult } from './workflow-state';

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
  const images = await store.read<RunImage[]>(input.runPrefix, RUN_FILES.images);
  const size = deps.config.photosPerChunk;
  const chunk = images.slice(input.chunkIndex * size, (input.chunkIndex + 1) * size);
  const credentials = new InspectionCredentials(await deps.pix4d(), input.inspectionId);
  const { keyPrefix } = await credentials.current();
  const result = await copyPhotos(chunk, { client: deps.s3, bucket: input.dropBucket }, credentials, {
    ...deps.config.copy,
    ...(deps.destinationEndpoint ? { destinationEndpoint: deps.destinationEndpoint } : {}),
  });
  deps.metrics.count('PhotosCopied', result.copied.length);
  deps.metrics.count('BytesCopied', result.bytes);
  deps.logger.info('Chunk copied', { inspectionId: input.inspectionId, chunk: input.chunkIndex, photos: result.copied.length, bytes: result.bytes });
  return { chunkIndex: input.chunkIndex, copied: result.copied.length, bytes: result.bytes, keyPrefix };
}

/** Step 3: register every copied photo; the service must count exactly as many as were copied. */
export async function registerPhotos(input: RegisterInput, deps: StepDependencies): Promise<RegistrationResult> {
  const store = new RunStore(deps.s3, deps.config.workBucket);
  const images = await store.read<RunImage[]>(input.runPrefix, RUN_FILES.images);
  const copied = input.copy.reduce((sum, chunk) => sum + chunk.copied, 0);
  const keyPrefix = input.copy[0]?.keyPrefix;
  if (copied !== images.length || !keyPrefix) {
    throw new CopyIncompleteError(`Copied ${copied} of ${images.length} photos; nothing registered`);
  }
  const keys = images.map((image) => `${keyPrefix}/${image.relativePath}`);
  const api = await deps.pix4d();
  const { registered, calls } = await api.registerImages(input.inspectionId, keys);
  deps.logger.info('Photos registered', { inspectionId: input.inspectionId, registered, calls });
  return { copied, registered, calls };
}
