import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import type { BatchRef } from '../../src/ingest/batch-events';
import { checkSettlement } from '../../src/ingest/batch-settlement';
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
    expect(settlement).toEqual({ state: 'waiting', waitSeconds: 500, objects: 3 });
  });

  it('waits at least one second just before the quiet period ends', async () => {
    // Prepare
    const prefix = 'tower-1/flight-almost/';
    await dropFlight(s3, BUCKET, prefix, photos(1));
    const newest = await newestLastModified(prefix);

    // Act
    const settlement = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date(newest + QUIET_SECONDS * 1000 - 1));

    // Assess
    expect(settlement).toEqual({ state: 'waiting', waitSeconds: 1, objects: 1 });
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
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/late arrival.JPG`, Body: jpegBytes(1_024, 99) }));
    const newestAfterAdd = await newestLastModified(prefix);
    const afterAdd = await checkSettlement(batch, QUIET_SECONDS, s3, new Date(newestAfterAdd + QUIET_SECONDS * 1000 + 1_000));

    // Assess
    expect(first).toEqual({
      state: 'settled',
      executionName: expect.stringMatching(/^q-tower-2-flight-settled-[0-9a-f]{24}$/),
      input: { batch, closedBy: 'quiet-period', closedAt: new Date(newest + QUIET_SECONDS * 1000).toISOString() },
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
    const before = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date((await newestLastModified(prefix)) + 3_600_000));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}DCIM/IMG_0000.JPG`, Body: jpegBytes(2_048, 42) }));

    // Act
    const after = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date((await newestLastModified(prefix)) + 3_600_000));

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

  it('does not take a manifest.json in a sub-folder, nor a neighbour folder sharing the prefix, as closing the batch', async () => {
    // Prepare
    const prefix = 'tower-5/flight-1/';
    await dropFlight(s3, BUCKET, prefix, [{ relativePath: 'DCIM/manifest.json', body: '{}' }, ...photos(1)]);
    await dropFlight(s3, BUCKET, 'tower-5/flight-10/', photos(1), {});
    const newest = await newestLastModified(prefix);

    // Act
    const settlement = await checkSettlement(batchAt(prefix), QUIET_SECONDS, s3, new Date(newest + 10_000));

    // Assess
    expect(settlement).toEqual({ state: 'waiting', waitSeconds: QUIET_SECONDS - 10, objects: 2 });
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
});
