import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../local/simulator/simulator';
import { ManifestError } from '../../src/batch/manifest';
import { decideForEvent, type InspectionRequest } from '../../src/ingest/batch-events';
import type { Pix4dInspectClient } from '../../src/pix4d/client';
import {
  type BatchSummary,
  FolderNameError,
  prepareInspection,
  type RunImage,
} from '../../src/workflow/prepare-inspection';
import { chunkImagesName, RUN_FILES } from '../../src/workflow/run-files';
import { RunStore } from '../../src/workflow/run-store';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { copyChunk, registerPhotos } from '../../src/workflow/transfer-steps';
import { type DroppedFile, dropFlight, jpegBytes } from '../helpers/flights';
import { relativePathOfBytes } from '../helpers/long-paths';
import { rejectionOf } from '../helpers/rejection';
import { stepDependenciesIn, stepWorldPerFile } from '../helpers/step-world';

/**
 * The prepare step refuses what Pix4Dinspect would refuse before it creates anything, and skips the photos whose
 * key in Inspect's bucket would pass S3's limit: against the embedded S3 server and the simulator over HTTP.
 */

const DROP_BUCKET = 'drop-prepare-limits';
const FIXTURES = join(__dirname, '..', 'fixtures', 'manifest-limits');
const PHOTOS: DroppedFile[] = [
  { relativePath: 'DCIM/DJI_0001.JPG', body: jpegBytes(2_000, 1) },
  { relativePath: 'DCIM/DJI_0002.JPG', body: jpegBytes(2_000, 2) },
];

const world = stepWorldPerFile(DROP_BUCKET);
let s3: S3Client;
let simulator: Simulator;
let api: Pix4dInspectClient;

beforeAll(() => {
  ({ s3, simulator, api } = world());
});

/** Step dependencies with a new, empty work bucket. */
async function dependencies(): Promise<StepDependencies> {
  return (await stepDependenciesIn(world(), 'prepare-limits')).deps;
}

/** Drops the photos, then the manifest's bytes as they are, and takes the ingest function's decision for it. */
async function dropBatch(
  prefix: string,
  files: readonly DroppedFile[],
  manifest: Uint8Array | string,
): Promise<{ request: InspectionRequest; batchId: string }> {
  await dropFlight(s3, DROP_BUCKET, prefix, files);
  const key = `${prefix}manifest.json`;
  await s3.send(new PutObjectCommand({ Bucket: DROP_BUCKET, Key: key, Body: manifest }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: DROP_BUCKET, Key: key }));
  const encodedKey = key
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  const decision = decideForEvent(
    { bucket: DROP_BUCKET, encodedKey, eTag: head.ETag!, eventTime: new Date().toISOString() },
    { batchDepth: 2, quietPeriodSeconds: 600 },
  );
  if (decision.action !== 'start-inspection') throw new Error(`unexpected decision ${decision.action}`);
  return { request: decision.input, batchId: decision.executionName };
}

/** What the simulator holds and the POSTs it has answered, to show that nothing was created. */
function created(): { assets: number; inspections: number; posts: number } {
  const holdings = simulator.holdings();
  return {
    assets: holdings.assets.length,
    inspections: holdings.inspections.length,
    posts: simulator.requests.filter((request) => request.method === 'POST').length,
  };
}

describe('prepare refuses what Pix4Dinspect would refuse, before creating anything', () => {
  it('an inspection name of 300 characters: ManifestError naming it, and no asset created', async () => {
    // Prepare: a manifest that names a new asset, so that the old order would have created it first
    const deps = await dependencies();
    const manifest = readFileSync(join(FIXTURES, 'inspection-name-300.json'));
    const { request, batchId } = await dropBatch('tower-long-name/flight-1/', PHOTOS, manifest);
    const before = created();

    // Act
    const failure = await rejectionOf(prepareInspection(request, batchId, deps));

    // Assess
    expect(failure).toBeInstanceOf(ManifestError);
    expect(failure.message).toBe('manifest.json is invalid: inspection.name: 300 characters, over the limit of 255');
    expect(created()).toEqual(before);
    expect(simulator.holdings().assets.map((asset) => asset.name)).not.toContain('tower-long-name');
  });

  it('a 5 MB description: ManifestError naming the field, its limit and its size', async () => {
    // Prepare
    const deps = await dependencies();
    const manifest = JSON.stringify({ inspection: { name: 'Flight 1', description: 'x'.repeat(5 * 1024 * 1024) } });
    const { request, batchId } = await dropBatch('tower-long-description/flight-1/', PHOTOS, manifest);
    const before = created();

    // Act
    const failure = await rejectionOf(prepareInspection(request, batchId, deps));

    // Assess
    expect(failure).toBeInstanceOf(ManifestError);
    expect(failure.message).toBe(
      'manifest.json is invalid: inspection.description: 5,242,880 characters, over the limit of 1,913 (2,000 less the run id)',
    );
    expect(created()).toEqual(before);
  });

  it('a manifest saved as UTF-16: ManifestError "must be UTF-8 (found UTF-16)"', async () => {
    // Prepare
    const deps = await dependencies();
    const { request, batchId } = await dropBatch(
      'tower-utf16/flight-1/',
      PHOTOS,
      readFileSync(join(FIXTURES, 'utf16le-bom.json')),
    );
    const before = created();

    // Act
    const failure = await rejectionOf(prepareInspection(request, batchId, deps));

    // Assess
    expect(failure).toBeInstanceOf(ManifestError);
    expect(failure.message).toBe('manifest.json must be UTF-8 (found UTF-16)');
    expect(created()).toEqual(before);
  });

  it('a flight folder of 300 characters that would name the inspection: FolderNameError, before the folder is even listed', async () => {
    // Prepare: a quiet-period close (no manifest); the folder holds nothing, as it is never read
    const deps = await dependencies();
    const flightName = 'f'.repeat(300);
    const request: InspectionRequest = {
      batch: {
        bucket: DROP_BUCKET,
        prefix: `tower-long-folder/${flightName}/`,
        assetName: 'tower-long-folder',
        flightName,
      },
      closedBy: 'quiet-period',
      closedAt: new Date().toISOString(),
    };
    const before = created();

    // Act
    const failure = await rejectionOf(prepareInspection(request, 'q-tower-long-folder', deps));

    // Assess
    expect(failure).toBeInstanceOf(FolderNameError);
    expect(failure.name).toBe('FolderNameError');
    expect(failure.message).toMatch(
      /the flight folder name "f+…", used as inspection\.name: 300 characters, over the limit of 255 \(set inspection\.name in manifest\.json\)$/,
    );
    expect(created()).toEqual(before);
  });
});

describe('prepare accepts', () => {
  it('a manifest with a UTF-8 byte order mark, which it ignores', async () => {
    // Prepare
    const deps = await dependencies();
    const { request, batchId } = await dropBatch(
      'tower-bom/flight-1/',
      PHOTOS,
      readFileSync(join(FIXTURES, 'utf8-bom.json')),
    );

    // Act
    const prepared = await prepareInspection(request, batchId, deps);

    // Assess
    expect(prepared.inspection.name).toBe('Flight 1');
    expect(simulator.holdings().inspections.find((inspection) => inspection.id === prepared.inspection.id)?.name).toBe(
      'Flight 1',
    );
  });
});

describe("prepare skips a photo whose key in Inspect's bucket would pass 1,024 bytes", () => {
  it('skips the photo one byte over with its reason, keeps the one at the limit, and the rest is copied and registered', async () => {
    // Prepare: the simulator's prefixes are `user-<uuid>/project-<6 digits>` (56 bytes), and "/" joins the path
    const deps = await dependencies();
    const prefix = 'tower-keys/flight-1/';
    const prefixBytes = 56;
    const atLimit = relativePathOfBytes(1_024 - prefixBytes - 1, 'AT_LIMIT.JPG', 'a');
    const overLimit = relativePathOfBytes(1_024 - prefixBytes, 'OVER_LIMIT.JPG', 'b');
    const files: DroppedFile[] = [
      ...PHOTOS,
      { relativePath: atLimit, body: jpegBytes(2_000, 3) },
      { relativePath: overLimit, body: jpegBytes(2_000, 4) },
    ];
    const { request, batchId } = await dropBatch(
      prefix,
      files,
      JSON.stringify({ inspection: { name: 'Flight keys' } }),
    );

    // Act
    const prepared = await prepareInspection(request, batchId, deps);
    const store = new RunStore(s3, deps.config.workBucket);
    const copy = await Promise.all(
      prepared.chunks.map((chunk) =>
        copyChunk(
          {
            runPrefix: prepared.runPrefix,
            dropBucket: DROP_BUCKET,
            inspectionId: prepared.inspection.id,
            chunkIndex: chunk.index,
          },
          deps,
        ),
      ),
    );
    const registration = await registerPhotos(
      { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id, copy },
      deps,
    );

    // Assess
    const { keyPrefix } = await api.getS3Credentials(prepared.inspection.id);
    expect(Buffer.byteLength(keyPrefix)).toBe(prefixBytes);
    expect(prepared.images).toEqual({ found: 4, accepted: 3, skipped: 1 });
    const summary = await store.read<BatchSummary>(prepared.runPrefix, RUN_FILES.summary);
    expect(summary.skipped).toEqual([
      {
        key: `${prefix}${overLimit}`,
        reason: "key too long for Inspect's bucket: 1,025 bytes with Inspect's prefix (limit 1,024)",
      },
    ]);
    const chunks = await Promise.all(
      prepared.chunks.map((chunk) => store.read<RunImage[]>(prepared.runPrefix, chunkImagesName(chunk.index))),
    );
    expect(
      chunks
        .flat()
        .map((image) => image.relativePath)
        .sort(),
    ).toEqual([...PHOTOS.map((photo) => photo.relativePath), atLimit].sort());
    expect(registration).toEqual({ copied: 3, registered: 3, calls: 1 });
    expect(
      simulator.holdings().inspections.find((inspection) => inspection.id === prepared.inspection.id)?.images,
    ).toBe(3);
  });
});
