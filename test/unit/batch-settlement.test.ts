import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import type { BatchRef } from '../../src/ingest/batch-events';
import { ABANDONED_UPLOAD_HOURS, checkSettlement } from '../../src/ingest/batch-settlement';
import { dropFlight, jpegBytes, photos } from '../helpers/flights';

/**
 * Whether a batch has been quiet long enough, read from a real (embedded) S3 bucket over HTTP; the clock is
 * injected, computed from the objects' own LastModified.
 */

const BUCKET = 'drop-settlement';
const QUIET_SECONDS = 600;

let embedded: EmbeddedS3;
let s3: S3Client;

beforeAll(async () => {
  embedded = await startEmbeddedS3({ buckets: [BUCKET] });
  s3 = embedded.client();
});

afterAll(async () => {
  await embedded.close();
});

function batchAt(prefix: string): BatchRef {
  const [assetName = '', flightName = ''] = prefix.split('/');
  return { bucket: BUCKET, prefix, assetName, flightName };
}

/** The newest LastModified under the prefix, as the bucket reports it. */
async function newestLastModified(prefix: string): Promise<number> {
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  const times = (listing.Contents ?? []).map((object) => object.LastModified!.getTime());
  expect(times.length).toBeGreaterThan(0);
  return Math.max(...times);
}

describe('checkSettlement', () => {
  it('waits, with the seconds left, while the newest object is recent', async () => {
    // Prepare
    const prefix = 'tower-1/flight-waiting/';
    await dropFlight(s3, BUCKET, prefix, photos(3));
    const newest = await newestLastModified(prefix);

    // Act
    const settlement = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date(newest + 100_000));

    // Assess
    expect(settlement).toEqual({
      state: 'waiting',
      waitSeconds: 500,
      objects: 3,
      uploadsInProgress: 0,
      uploadSeenAt: null,
    });
  });

  it('waits at least one second just before the quiet period ends', async () => {
    // Prepare
    const prefix = 'tower-1/flight-almost/';
    await dropFlight(s3, BUCKET, prefix, photos(1));
    const newest = await newestLastModified(prefix);

    // Act
    const settlement = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date(newest + QUIET_SECONDS * 1000 - 1),
    );

    // Assess
    expect(settlement).toEqual({
      state: 'waiting',
      waitSeconds: 1,
      objects: 1,
      uploadsInProgress: 0,
      uploadSeenAt: null,
    });
  });

  it('is settled after the quiet period, with a content-derived name that is stable and changes when an object is added', async () => {
    // Prepare
    const prefix = 'tower 2/flight+settled/';
    const batch = batchAt(prefix);
    await dropFlight(s3, BUCKET, prefix, photos(3));
    const newest = await newestLastModified(prefix);
    const later = newest + QUIET_SECONDS * 1000 + 1_000;

    // Act
    const first = await checkSettlement(batch, QUIET_SECONDS, s3, new Date(later));
    const second = await checkSettlement(batch, QUIET_SECONDS, s3, new Date(later + 3_600_000));
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/late arrival.JPG`, Body: jpegBytes(1_024, 99) }),
    );
    const newestAfterAdd = await newestLastModified(prefix);
    const afterAdd = await checkSettlement(
      batch,
      QUIET_SECONDS,
      s3,
      new Date(newestAfterAdd + QUIET_SECONDS * 1000 + 1_000),
    );

    // Assess
    expect(first).toEqual({
      state: 'settled',
      executionName: expect.stringMatching(/^q-tower-2-flight-settled-[0-9a-f]{24}$/),
      input: { batch, closedBy: 'quiet-period', closedAt: new Date(newest + QUIET_SECONDS * 1000).toISOString() },
      abandonedUploads: [],
    });
    expect(second).toEqual(first);
    expect(afterAdd.state).toBe('settled');
    if (afterAdd.state !== 'settled' || first.state !== 'settled') throw new Error('not settled');
    expect(afterAdd.executionName).not.toBe(first.executionName);
    expect(afterAdd.executionName.length).toBeLessThanOrEqual(80);
  });

  it('gives a different name when an object is overwritten with other content', async () => {
    // Prepare
    const prefix = 'tower-3/flight-overwritten/';
    await dropFlight(s3, BUCKET, prefix, photos(2));
    const before = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date((await newestLastModified(prefix)) + 3_600_000),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/IMG_0000.JPG`, Body: jpegBytes(2_048, 42) }),
    );

    // Act
    const after = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date((await newestLastModified(prefix)) + 3_600_000),
    );

    // Assess
    expect(before.state).toBe('settled');
    expect(after.state).toBe('settled');
    if (before.state !== 'settled' || after.state !== 'settled') throw new Error('not settled');
    expect(after.executionName).not.toBe(before.executionName);
  });

  it('stands down when manifest.json is in the folder', async () => {
    // Prepare
    const prefix = 'tower-4/flight-manifest/';
    await dropFlight(s3, BUCKET, prefix, photos(2), { inspection: { name: 'Flight 4' } });

    // Act
    const settlement = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date(0));

    // Assess
    expect(settlement).toEqual({ state: 'closed-by-manifest' });
  });

  it('does not stand down for files that came after manifest.json: they are late, and settling reports them', async () => {
    // Prepare
    const prefix = 'tower-4/flight-late/';
    await dropFlight(s3, BUCKET, prefix, photos(2), { inspection: { name: 'Flight 4' } });
    await sleep(1_100); // a later second than the manifest (S3 dates objects to the second)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/late.JPG`, Body: jpegBytes(1_024, 5) }));

    // Act
    const settlement = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date((await newestLastModified(prefix)) + 3_600_000),
    );

    // Assess
    expect(settlement.state).toBe('settled');
  });

  it('does not take a manifest.json in a sub-folder, nor a neighbour folder sharing the prefix, as closing the batch', async () => {
    // Prepare
    const prefix = 'tower-5/flight-1/';
    await dropFlight(s3, BUCKET, prefix, [{ relativePath: 'DCIM/manifest.json', body: '{}' }, ...photos(1)]);
    await dropFlight(s3, BUCKET, 'tower-5/flight-10/', photos(1), {});
    const newest = await newestLastModified(prefix);

    // Act
    const settlement = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date(newest + 10_000));

    // Assess
    expect(settlement).toEqual({
      state: 'waiting',
      waitSeconds: QUIET_SECONDS - 10,
      objects: 2,
      uploadsInProgress: 0,
      uploadSeenAt: null,
    });
  });

  it('reports an empty folder (nothing, or only a folder marker)', async () => {
    // Prepare
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tower-6/flight-marker/', Body: new Uint8Array(0) }));

    // Act
    const nothing = await checkSettlement(batchAt('tower-6/flight-none/'), QUIET_SECONDS, s3, new Date());
    const markerOnly = await checkSettlement(batchAt('tower-6/flight-marker/'), QUIET_SECONDS, s3, new Date());

    // Assess
    expect(nothing).toEqual({ state: 'empty' });
    expect(markerOnly).toEqual({ state: 'empty' });
  });

  it('waits while a multipart upload is in progress under the folder, however quiet its objects look', async () => {
    // Prepare
    const prefix = 'tower-7/flight-uploading/';
    await dropFlight(s3, BUCKET, prefix, photos(2));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/video.MP4` }),
    );
    const now = new Date((await newestLastModified(prefix)) + 3_600_000);

    // Act
    const settlement = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, now);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/video.MP4`, UploadId }));

    // Assess
    expect(settlement).toEqual({
      state: 'waiting',
      waitSeconds: QUIET_SECONDS,
      objects: 2,
      uploadsInProgress: 1,
      uploadSeenAt: now.toISOString(),
    });
  });

  it('waits a quiet period after the first check that no longer sees an upload: it may have ended just before, and S3 dates its object from its start', async () => {
    // Prepare
    const prefix = 'tower-7/flight-uploaded/';
    const key = `${prefix}DCIM/video.MP4`;
    await dropFlight(s3, BUCKET, prefix, photos(2));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: jpegBytes(1_024, 7) }),
    );
    const seen = new Date((await newestLastModified(prefix)) + 3_600_000);
    const held = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, seen);
    if (held.state !== 'waiting') throw new Error(`not held: ${held.state}`);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
      }),
    );
    // The waiter passes each check's answer to the next one.
    const previous = (settlement: typeof held) => ({
      uploadSeenAt: settlement.uploadSeenAt,
      uploadsInProgressBefore: settlement.uploadsInProgress,
    });

    // Act: the next check comes a whole quiet period after the one that saw the upload
    const gone = new Date(seen.getTime() + QUIET_SECONDS * 1000);
    const first = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, gone, previous(held));
    if (first.state !== 'waiting') throw new Error(`not held after the upload ended: ${first.state}`);
    const soon = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date(gone.getTime() + 60_000),
      previous(first),
    );
    const later = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date(gone.getTime() + QUIET_SECONDS * 1000),
      previous(first),
    );

    // Assess
    expect(first).toEqual({
      state: 'waiting',
      waitSeconds: QUIET_SECONDS,
      objects: 3,
      uploadsInProgress: 0,
      uploadSeenAt: gone.toISOString(),
    });
    expect(soon).toEqual({
      state: 'waiting',
      waitSeconds: QUIET_SECONDS - 60,
      objects: 3,
      uploadsInProgress: 0,
      uploadSeenAt: gone.toISOString(),
    });
    expect(later).toMatchObject({ state: 'settled', abandonedUploads: [] });
  });

  it(`settles without an upload initiated more than ${ABANDONED_UPLOAD_HOURS} hours ago, and names it`, async () => {
    // Prepare
    const prefix = 'tower-7/flight-abandoned/';
    const key = `${prefix}DCIM/never finished.MP4`;
    await dropFlight(s3, BUCKET, prefix, photos(2));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
    const initiated = listed.Uploads?.[0]?.Initiated?.getTime() ?? Number.NaN;

    // Act
    const settlement = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date(initiated + ABANDONED_UPLOAD_HOURS * 3_600_000 + 1_000),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Assess
    expect(settlement).toMatchObject({ state: 'settled', abandonedUploads: [key] });
  });

  it('is not held by an upload in a neighbour folder sharing the prefix', async () => {
    // Prepare
    const prefix = 'tower-8/flight-1/';
    await dropFlight(s3, BUCKET, prefix, photos(1));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'tower-8/flight-10/DCIM/video.MP4' }),
    );

    // Act
    const settlement = await checkSettlement(
      batchAt(prefix),
      QUIET_SECONDS,
      s3,
      new Date((await newestLastModified(prefix)) + 3_600_000),
    );
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'tower-8/flight-10/DCIM/video.MP4', UploadId }),
    );

    // Assess
    expect(settlement.state).toBe('settled');
  });
});
