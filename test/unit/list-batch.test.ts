import { createHash } from 'node:crypto';
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { type BatchObject, classifyBatch, listBatch, readFirstBytes } from '../../src/batch/list-batch';

/**
 * Listing and classifying a batch against a real S3 API (the embedded s3rver): odd key characters, sub-folders
 * holding equal file names, empty and mislabelled files, pagination, manifest selection, and a bucket left as it
 * was.
 */

const BUCKET = 'drop';
const PREFIX = 'tower-1/flight-1/';

const jpeg = (marker: number) =>
  Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
    Buffer.from('JFIF\0', 'latin1'),
    Buffer.from([0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, marker, 0xff, 0xd9]),
  ]);
const tiff = Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.from([0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);
const quickTime = Buffer.concat([Buffer.from([0, 0, 0, 0x14]), Buffer.from('ftypqt  \0\0\0\0', 'latin1')]);
const ODD_NAME = 'Tower 1 + antenna 100% café 🚁.jpg';

/** The drop bucket's content: the batch under test, a neighbour batch sharing its prefix, a stray object. */
const OBJECTS: Record<string, Uint8Array | string> = {
  [`${PREFIX}DCIM/`]: '',
  [`${PREFIX}DCIM/100MEDIA/DJI_0001.JPG`]: jpeg(1),
  [`${PREFIX}DCIM/101MEDIA/DJI_0001.JPG`]: jpeg(2),
  [`${PREFIX}DCIM/manifest.json`]: '{}',
  [`${PREFIX}${ODD_NAME}`]: jpeg(3),
  [`${PREFIX}empty.jpg`]: new Uint8Array(0),
  [`${PREFIX}manifest.json`]: '{ "asset": { "id": 915 } }',
  [`${PREFIX}notes-as-photo.jpg`]: 'These are flight notes, not a photo.',
  [`${PREFIX}notes.txt`]: 'Wind 3 m/s',
  [`${PREFIX}ortho/tile 1.tif`]: tiff,
  [`${PREFIX}video/DJI_0002.MOV`]: quickTime,
  'tower-1/flight-10/DJI_0001.JPG': jpeg(4),
  'tower-1/flight-10/manifest.json': '{}',
  'tower-1/stray.jpg': jpeg(5),
};

const md5 = (body: Uint8Array | string) => createHash('md5').update(body).digest('hex');
const key = (relativePath: string) => `${PREFIX}${relativePath}`;

let s3: EmbeddedS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startEmbeddedS3({ buckets: [BUCKET] });
  client = s3.client();
  for (const [objectKey, body] of Object.entries(OBJECTS)) {
    // An explicit length: the SDK cannot tell the length of an empty body and warns about streams otherwise.
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: body, ContentLength: Buffer.byteLength(body) }),
    );
  }
});

afterAll(async () => {
  await s3?.close();
});

/** Every object of the drop bucket with its ETag and date: what "unchanged" means. */
async function snapshotBucket(): Promise<string[]> {
  const lines: string[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }),
    );
    for (const entry of page.Contents ?? [])
      lines.push(`${entry.Key} ${entry.ETag} ${entry.Size} ${entry.LastModified?.toISOString()}`);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return lines;
}

/** A client that counts its ListObjectsV2 calls (an SDK middleware, not a mock: the calls still reach S3). */
function countingClient(): { client: S3Client; listCalls: () => number } {
  let calls = 0;
  const counted = s3.client();
  counted.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ListObjectsV2Command') calls += 1;
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client: counted, listCalls: () => calls };
}

describe('listBatch', () => {
  it('lists the batch sorted, sub-folders and odd characters kept, folder markers and other batches left out', async () => {
    // Prepare
    const expectedPaths = [
      'DCIM/100MEDIA/DJI_0001.JPG',
      'DCIM/101MEDIA/DJI_0001.JPG',
      'DCIM/manifest.json',
      ODD_NAME,
      'empty.jpg',
      'notes-as-photo.jpg',
      'notes.txt',
      'ortho/tile 1.tif',
      'video/DJI_0002.MOV',
    ];

    // Act
    const { objects } = await listBatch(client, BUCKET, PREFIX);

    // Assess
    expect(objects.map((object) => object.relativePath)).toEqual(expectedPaths);
    expect(objects.map((object) => object.key)).toEqual(expectedPaths.map(key));
    for (const object of objects) {
      const body = OBJECTS[object.key] as Uint8Array | string;
      expect(object.size).toBe(Buffer.byteLength(body));
      expect(object.etag).toBe(md5(body));
      expect(new Date(object.lastModified).toISOString()).toBe(object.lastModified);
    }
  });

  it('returns the batch manifest apart, not one of a sub-folder or of another batch', async () => {
    // Prepare
    const body = OBJECTS[key('manifest.json')] as string;

    // Act
    const { manifest, objects } = await listBatch(client, BUCKET, PREFIX);

    // Assess
    expect(manifest).toMatchObject({
      key: key('manifest.json'),
      relativePath: 'manifest.json',
      size: body.length,
      etag: md5(body),
    });
    expect(objects.some((object) => object.relativePath === 'manifest.json')).toBe(false);
  });

  it('gives no manifest when the batch has none', async () => {
    // Prepare
    const prefix = 'tower-1/';

    // Act
    const { manifest, objects } = await listBatch(client, BUCKET, prefix);

    // Assess
    expect(manifest).toBeUndefined();
    expect(objects.map((object) => object.relativePath)).toContain('stray.jpg');
  });

  it('with pages of 2 keys, follows every page to the same result', async () => {
    // Prepare
    const counting = countingClient();
    const whole = await listBatch(client, BUCKET, PREFIX);

    // Act
    const paged = await listBatch(counting.client, BUCKET, PREFIX, { pageSize: 2 });

    // Assess
    expect(paged).toEqual(whole);
    // 11 keys under the prefix (folder marker and manifest included): 6 pages.
    expect(counting.listCalls()).toBe(6);
  });

  it('refuses a prefix that is not a folder, which would take in flight-10 as well', async () => {
    // Prepare
    const prefix = 'tower-1/flight-1';

    // Act
    const listing = listBatch(client, BUCKET, prefix);

    // Assess
    await expect(listing).rejects.toThrow(/must be a folder ending with "\/"/);
  });
});

describe('readFirstBytes', () => {
  it('reads the first 12 bytes of a photo', async () => {
    // Prepare
    const photo = key('DCIM/100MEDIA/DJI_0001.JPG');

    // Act
    const bytes = await readFirstBytes(client, BUCKET, photo);

    // Assess
    expect([...bytes]).toEqual([...jpeg(1).subarray(0, 12)]);
  });

  it('reads a key with spaces, "+", "%" and unicode', async () => {
    // Prepare
    const photo = key(ODD_NAME);

    // Act
    const bytes = await readFirstBytes(client, BUCKET, photo, 3);

    // Assess
    expect([...bytes]).toEqual([0xff, 0xd8, 0xff]);
  });

  it('gives what there is of a shorter object', async () => {
    // Prepare
    const notes = key('notes.txt');

    // Act
    const bytes = await readFirstBytes(client, BUCKET, notes, 100);

    // Assess
    expect(Buffer.from(bytes).toString()).toBe('Wind 3 m/s');
  });

  it('gives an empty array for an empty object', async () => {
    // Prepare
    const empty = key('empty.jpg');

    // Act
    const bytes = await readFirstBytes(client, BUCKET, empty);

    // Assess
    expect(bytes).toHaveLength(0);
  });

  it('fails with NoSuchKey for a missing object', async () => {
    // Prepare
    const missing = key('missing.jpg');

    // Act
    const reading = readFirstBytes(client, BUCKET, missing);

    // Assess
    await expect(reading).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});

describe('classifyBatch', () => {
  let objects: BatchObject[];

  beforeAll(async () => {
    ({ objects } = await listBatch(client, BUCKET, PREFIX));
  });

  it('takes valid photos, both equal file names kept, and skips the rest with reasons', async () => {
    // Prepare
    const options = { isVideo: false };

    // Act
    const result = await classifyBatch(client, BUCKET, objects, options);

    // Assess
    expect(result.images).toEqual([
      { key: key('DCIM/100MEDIA/DJI_0001.JPG'), relativePath: 'DCIM/100MEDIA/DJI_0001.JPG', size: jpeg(1).length },
      { key: key('DCIM/101MEDIA/DJI_0001.JPG'), relativePath: 'DCIM/101MEDIA/DJI_0001.JPG', size: jpeg(2).length },
      { key: key(ODD_NAME), relativePath: ODD_NAME, size: jpeg(3).length },
      { key: key('ortho/tile 1.tif'), relativePath: 'ortho/tile 1.tif', size: tiff.length },
    ]);
    expect(result.skipped).toEqual([
      {
        key: key('DCIM/manifest.json'),
        reason: expect.stringMatching(/^not read as the batch's manifest \(it is in a sub-folder\)/),
      },
      { key: key('empty.jpg'), reason: 'empty file (0 bytes)' },
      { key: key('notes-as-photo.jpg'), reason: 'content is not a JPEG image (named .jpg)' },
      { key: key('notes.txt'), reason: 'unsupported extension (.txt)' },
      { key: key('video/DJI_0002.MOV'), reason: 'video file but processing_parameters.is_video is false' },
    ]);
  });

  it('takes the video and skips the photos when is_video is true', async () => {
    // Prepare
    const options = { isVideo: true, concurrency: 1 };

    // Act
    const result = await classifyBatch(client, BUCKET, objects, options);

    // Assess
    expect(result.images).toEqual([
      { key: key('video/DJI_0002.MOV'), relativePath: 'video/DJI_0002.MOV', size: quickTime.length },
    ]);
    expect(
      result.skipped.filter((skip) => skip.reason === 'photo file but processing_parameters.is_video is true'),
    ).toHaveLength(6);
  });

  it('with a manifest selection: only the listed images, a listed missing one and the unlisted ones skipped', async () => {
    // Prepare
    const selection = ['DCIM/100MEDIA/DJI_0001.JPG', ODD_NAME, 'notes-as-photo.jpg', 'DCIM/102MEDIA/DJI_0009.JPG'];

    // Act
    const result = await classifyBatch(client, BUCKET, objects, { isVideo: false, selection });

    // Assess
    expect(result.images.map((image) => image.relativePath)).toEqual(['DCIM/100MEDIA/DJI_0001.JPG', ODD_NAME]);
    expect(result.skipped).toEqual([
      { key: key('DCIM/101MEDIA/DJI_0001.JPG'), reason: 'not listed in manifest.json images' },
      { key: key('DCIM/102MEDIA/DJI_0009.JPG'), reason: 'listed in manifest.json images but not found' },
      { key: key('DCIM/manifest.json'), reason: 'not listed in manifest.json images' },
      { key: key('empty.jpg'), reason: 'not listed in manifest.json images' },
      { key: key('notes-as-photo.jpg'), reason: 'content is not a JPEG image (named .jpg)' },
      { key: key('notes.txt'), reason: 'not listed in manifest.json images' },
      { key: key('ortho/tile 1.tif'), reason: 'not listed in manifest.json images' },
      { key: key('video/DJI_0002.MOV'), reason: 'not listed in manifest.json images' },
    ]);
  });

  it('names missing selected images under the given prefix when the batch holds no objects', async () => {
    // Prepare
    const options = { isVideo: false, selection: ['DJI_0001.JPG'], prefix: 'tower-2/flight-1/' };

    // Act
    const result = await classifyBatch(client, BUCKET, [], options);

    // Assess
    expect(result).toEqual({
      images: [],
      skipped: [{ key: 'tower-2/flight-1/DJI_0001.JPG', reason: 'listed in manifest.json images but not found' }],
    });
  });

  it('skips an object deleted since the listing instead of failing the batch', async () => {
    // Prepare
    const gone: BatchObject = {
      key: key('DCIM/100MEDIA/DJI_0404.JPG'),
      relativePath: 'DCIM/100MEDIA/DJI_0404.JPG',
      size: 1234,
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      lastModified: new Date().toISOString(),
    };

    // Act
    const result = await classifyBatch(client, BUCKET, [gone], { isVideo: false });

    // Assess
    expect(result).toEqual({
      images: [],
      skipped: [{ key: gone.key, reason: 'deleted from the bucket before it could be read' }],
    });
  });
});

describe('the drop bucket', () => {
  it('is exactly as it was after listing, reading and classifying', async () => {
    // Prepare
    const before = await snapshotBucket();

    // Act
    const { objects } = await listBatch(client, BUCKET, PREFIX, { pageSize: 3 });
    await classifyBatch(client, BUCKET, objects, { isVideo: false });
    await classifyBatch(client, BUCKET, objects, { isVideo: true, selection: ['video/DJI_0002.MOV', 'x.mov'] });
    for (const object of objects) await readFirstBytes(client, BUCKET, object.key);
    const after = await snapshotBucket();

    // Assess
    expect(before).toHaveLength(Object.keys(OBJECTS).length);
    expect(after).toEqual(before);
  });
});
