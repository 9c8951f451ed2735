import { GetObjectCommand } from '@aws-sdk/client-s3';
import { AssetRegistry, type ResolvedAsset } from '../assets/asset-registry';
import { destinationKeyProblem, keyBytes, runIdSuffix } from '../batch/limits';
import { type BatchImage, classifyBatch, listBatch, type SkippedObject } from '../batch/list-batch';
import { folderNameProblems, type Manifest, parseManifestBytes } from '../batch/manifest';
import { manifestSizeError } from '../batch/manifest-encoding';
import { mapWithConcurrency } from '../copy/pool';
import type { InspectionRequest } from '../ingest/batch-events';
import type { Pix4dInspectApi } from '../pix4d/client';
import type { CreateInspectionInput, ProcessingParameters } from '../pix4d/schemas';
import {
  assessFlight,
  type FlightSummary,
  PreflightError,
  type PreflightResult,
  withOverrides,
} from '../preflight/preflight';
import { closeFolder } from './close-decision';
import { recordPrepared } from './record-progress';
import { chunkImagesName, RUN_FILES } from './run-files';
import { RunStore } from './run-store';
import type { StepDependencies } from './step-dependencies';
import type { PreparedInspection } from './workflow-state';

/** A closed batch with no photo the pipeline can send. */
export class NoPhotosError extends Error {
  override name = 'NoPhotosError';
}

/** A folder name that stands in for the asset's or the inspection's name is one Pix4Dinspect would refuse. */
export class FolderNameError extends Error {
  // A fixed string: Step Functions Catch matches on it, and bundlers rename classes.
  override name = 'FolderNameError';
}

export interface RunImage {
  readonly sourceKey: string;
  readonly relativePath: string;
  readonly size: number;
}

/** The run's summary of the batch, kept for the notification whatever happens later. */
export interface BatchSummary {
  readonly found: number;
  readonly skipped: readonly SkippedObject[];
  /** What the photos' metadata tells; absent for a video, or a run that stopped before reading it. */
  readonly flight?: FlightSummary;
  /** The pre-flight's warnings. */
  readonly warnings?: readonly string[];
}

interface InspectionRequestRecord {
  readonly requestedAt: string;
}

/** The inspection the run created, as the later steps need it. */
type CreatedInspection = PreparedInspection['inspection'];

/**
 * Step 1: read the manifest, list and classify the photos, keep the lists in the work bucket, resolve the asset
 * and create the inspection. A retried step returns what the first attempt prepared, so a batch never gets two
 * inspections from one run.
 */
export async function prepareInspection(
  request: InspectionRequest,
  batchId: string,
  deps: StepDependencies,
): Promise<PreparedInspection> {
  const store = new RunStore(deps.s3, deps.config.workBucket);
  const runPrefix = RunStore.prefixFor(batchId);
  deps.metrics.about(batchId);
  // Read together: a retried Prepare that got as far as the summary does not count the close again.
  const [earlier, summarized] = await Promise.all([
    store.find<PreparedInspection>(runPrefix, RUN_FILES.prepared),
    store.find(runPrefix, RUN_FILES.summary),
  ]);
  if (earlier) return earlier;
  if (!summarized) deps.metrics.record('BatchesClosed', 1, { trigger: request.closedBy });

  const { batch } = request;
  const manifest = request.manifest ? await readManifest(deps, batch.bucket, request.manifest.key) : {};
  // Like the manifest's own values, before anything is created: refused by the service, the name would fail the run
  // once its asset exists.
  const folderProblems = folderNameProblems(manifest, batch);
  if (folderProblems.length > 0) throw new FolderNameError(`${batch.prefix}: ${folderProblems.join('; ')}`);
  const parameters: ProcessingParameters = {
    ...deps.config.defaultProcessingParameters,
    ...manifest.processing_parameters,
  };

  const { objects } = await listBatch(deps.s3, batch.bucket, batch.prefix);
  // One ranged read per photo: its first bytes for the content check and its metadata for the pre-flight.
  const { images, skipped } = await classifyBatch(deps.s3, batch.bucket, objects, {
    isVideo: parameters.is_video,
    prefix: batch.prefix,
    readMetadata: true,
    concurrency: METADATA_READS_IN_FLIGHT,
    ...(manifest.images ? { selection: manifest.images } : {}),
  });
  const runImages: RunImage[] = images.map((image) => ({
    sourceKey: image.key,
    relativePath: image.relativePath,
    size: image.size,
  }));
  deps.logger.info('Batch classified', {
    batch: batch.prefix,
    found: objects.length,
    accepted: images.length,
    skipped: skipped.length,
  });
  // Before anything is created in Pix4Dinspect: is this run the folder's one decision? A refused run's notification
  // lists the files it refuses instead of the batch's.
  const refusal = images.length > 0 ? await closeFolder(request, batchId, objects, deps) : undefined;
  const preflight =
    refusal || images.length === 0 || parameters.is_video ? undefined : preflightOf(images, manifest, deps);
  const summary: BatchSummary = refusal
    ? { found: refusal.files.length, skipped: refusal.files }
    : {
        found: objects.length,
        skipped,
        ...(preflight ? { flight: preflight.flight, warnings: preflight.warnings } : {}),
      };
  await store.write(runPrefix, RUN_FILES.summary, summary);
  if (images.length === 0) throw noPhotos(batch.prefix, objects.length, skipped);
  if (refusal) throw refusal.error;
  // Refused before the inspection is created: nothing exists in Pix4Dinspect and no allowance is spent.
  if (preflight?.refusal !== undefined)
    throw new PreflightError(`${batch.prefix}: the pre-flight refused the flight: ${preflight.refusal}`);

  const api = await deps.pix4d();
  const asset = await resolveAsset(manifest, batch.assetName, preflight?.flight.centroid ?? null, api, deps);
  // The manifest's date wins; else the flight's first capture.
  const inspectionDate = manifest.inspection?.inspection_date ?? preflight?.flight.capturedFrom ?? undefined;
  const inspection = await createInspectionOnce(store, runPrefix, api, deps, {
    asset: asset.id,
    name: manifest.inspection?.name ?? batch.flightName,
    processing_parameters: parameters,
    description: describeInspection(manifest.inspection?.description, batch, batchId),
    ...(inspectionDate ? { inspection_date: inspectionDate } : {}),
  });

  // Inspect's key prefix comes with the inspection's credentials, so only now can a photo whose key there would pass
  // S3's limit be told; it is skipped before anything is copied, and the rest of the flight goes on.
  const credentials = await api.getS3Credentials(inspection.id);
  const tooLong: SkippedObject[] = [];
  const accepted = runImages.filter((image) => {
    const reason = destinationKeyProblem(keyBytes(credentials.keyFor(image.relativePath)));
    if (reason !== undefined) tooLong.push({ key: image.sourceKey, reason });
    return reason === undefined;
  });
  const allSkipped = [...skipped, ...tooLong];
  if (tooLong.length > 0) {
    await store.write(runPrefix, RUN_FILES.summary, { ...summary, skipped: allSkipped } satisfies BatchSummary);
    deps.logger.info("Photos skipped: key too long for Inspect's bucket", {
      batch: batch.prefix,
      inspectionId: inspection.id,
      skipped: tooLong.length,
    });
  }
  // The inspection stays without photos, which uses no allowance (that is spent when processing starts).
  if (accepted.length === 0) throw noPhotos(batch.prefix, objects.length, allSkipped);
  const chunkCount = Math.ceil(accepted.length / deps.config.photosPerChunk);
  const chunks = Array.from({ length: chunkCount }, (_, index) => ({ index }));
  await mapWithConcurrency(chunks, 8, ({ index }) =>
    store.write(
      runPrefix,
      chunkImagesName(index),
      accepted.slice(index * deps.config.photosPerChunk, (index + 1) * deps.config.photosPerChunk),
    ),
  );
  const prepared: PreparedInspection = {
    batchId,
    batch,
    runPrefix,
    asset: { id: asset.id, name: asset.name, source: asset.source },
    inspection,
    images: { found: objects.length, accepted: accepted.length, skipped: allSkipped.length },
    chunks,
  };
  await store.write(runPrefix, RUN_FILES.prepared, prepared);
  await recordPrepared(deps, prepared, 'copying');
  deps.logger.info('Inspection created', { batch: batch.prefix, assetId: asset.id, inspectionId: inspection.id });
  return prepared;
}

/**
 * One inspection per run, whatever fails around its creation: an attempt first records that it asks, and records
 * the inspection as soon as it has it. A later attempt takes the recorded inspection, or, when only the request was
 * recorded, lets the client look for what that request created before creating.
 */
async function createInspectionOnce(
  store: RunStore,
  runPrefix: string,
  api: Pix4dInspectApi,
  deps: StepDependencies,
  input: CreateInspectionInput & { readonly name: string },
): Promise<CreatedInspection> {
  const recorded = await store.find<CreatedInspection>(runPrefix, RUN_FILES.inspection);
  if (recorded) return recorded;
  const earlier = await store.find<InspectionRequestRecord>(runPrefix, RUN_FILES.inspectionRequested);
  if (!earlier)
    await store.write(runPrefix, RUN_FILES.inspectionRequested, {
      requestedAt: deps.now().toISOString(),
    } satisfies InspectionRequestRecord);
  const inspection = await api.createInspection(
    input,
    earlier ? { earlierAttemptAt: Date.parse(earlier.requestedAt) } : {},
  );
  const created: CreatedInspection = {
    id: inspection.id,
    projectId: inspection.project_id ?? null,
    name: inspection.name ?? input.name,
  };
  await store.write(runPrefix, RUN_FILES.inspection, created);
  return created;
}

/**
 * The manifest's description, or where the photos came from, followed by the run id: the client tells the run's
 * own inspection from another of the same asset and name by it, when a create's answer is lost.
 */
function describeInspection(
  described: string | undefined,
  batch: { bucket: string; prefix: string },
  batchId: string,
): string {
  return `${described ? described : `Photos from s3://${batch.bucket}/${batch.prefix}`}${runIdSuffix(batchId)}`;
}

function noPhotos(prefix: string, found: number, skipped: readonly SkippedObject[]): NoPhotosError {
  const example = skipped[0] ? ` (for example ${skipped[0].key}: ${skipped[0].reason})` : '';
  return new NoPhotosError(
    `No photo to process in ${prefix}: ${found} object(s) found, ${skipped.length} skipped${example}`,
  );
}

async function readManifest(deps: StepDependencies, bucket: string, key: string): Promise<Manifest> {
  const answer = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  // Refused by its size before its body is read: the function's memory is bounded.
  const tooLarge = manifestSizeError(answer.ContentLength ?? 0);
  if (tooLarge) {
    (answer.Body as { destroy?: () => void } | undefined)?.destroy?.();
    throw tooLarge;
  }
  return parseManifestBytes(await answer.Body!.transformToByteArray());
}

/** Photos whose first bytes are read at once: S3 answers each in tens of milliseconds, and each holds 128 KiB. */
const METADATA_READS_IN_FLIGHT = 32;

/** The pre-flight of the flight's photos, with the stack's thresholds under the manifest's. */
function preflightOf(images: readonly BatchImage[], manifest: Manifest, deps: StepDependencies): PreflightResult {
  const thresholds = withOverrides(deps.config.preflight, manifest.preflight);
  const result = assessFlight(
    images.map((image) => ({ name: image.relativePath, metadata: image.metadata ?? {} })),
    thresholds,
  );
  for (const warning of result.warnings) deps.logger.info('Pre-flight warning', { warning });
  return result;
}

/**
 * Manifest `asset.id`, else the registry by name, else a new asset recorded in the registry, placed where the
 * manifest says or else at the centre of the flight's geotagged photos.
 */
async function resolveAsset(
  manifest: Manifest,
  folderName: string,
  centroid: FlightSummary['centroid'],
  api: Pix4dInspectApi,
  deps: StepDependencies,
): Promise<ResolvedAsset> {
  const asset = manifest.asset;
  if (asset && 'id' in asset) return { id: asset.id, name: folderName, source: 'manifest' };
  const registry = new AssetRegistry({ s3: deps.s3, bucket: deps.config.workBucket });
  // A position is one pair: a manifest's latitude alone does not mix with the photos' longitude.
  const given = asset?.latitude !== undefined || asset?.longitude !== undefined;
  const latitude = given ? asset?.latitude : centroid?.latitude;
  const longitude = given ? asset?.longitude : centroid?.longitude;
  return registry.resolve(
    {
      name: asset?.name ?? folderName,
      type: asset?.type ?? deps.config.defaultAssetType,
      ...(latitude === undefined ? {} : { latitude }),
      ...(longitude === undefined ? {} : { longitude }),
      ...(asset?.description === undefined ? {} : { description: asset.description }),
    },
    api,
  );
}
