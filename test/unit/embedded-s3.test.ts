import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3rverEvent } from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3.js';

/**
 * The embedded S3 server (s3rver behind `startEmbeddedS3`): pagination across thousands of keys (which needs the
 * patch of its continuation tokens on Node 17+), streamed bodies, in-process events, and a clean shutdown.
 */

const BUCKET = 'embedded-test-bucket';
const KEY_COUNT = 2_500;

let s3: EmbeddedS3;
let client: S3Client;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function putMany(target: S3Client, bucket: string, keys: readonly string[], concurrency = 32): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < keys.length) {
      const key = keys[next++] as string;
      await target.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** The temporary directory of a running server, found by the (unique) bucket it holds. */
async function findServerDirectory(bucket: string): Promise<string | undefined> {
  const candidates = (await readdir(tmpdir())).filter((name) => name.startsWith('inspect-pipeline-s3-'));
  return candidates.map((name) => join(tmpdir(), name)).find((directory) => existsSync(join(directory, bucket)));
}

beforeAll(async () => {
  s3 = await startEmbeddedS3({ buckets: [BUCKET] });
  client = s3.client();
});

afterAll(async () => {
  await s3?.close();
});

describe('startEmbeddedS3', () => {
  it(`lists all ${KEY_COUNT} keys through ListObjectsV2 pagination (continuation tokens)`, async () => {
    // Prepare
    const keys = Array.from({ length: KEY_COUNT }, (_, index) => `paged/${String(index).padStart(5, '0')}.jpg`);
    await putMany(client, BUCKET, keys);

    // Act
    const listed: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'paged/', ContinuationToken: token }),
      );
      pages += 1;
      listed.push(...(page.Contents ?? []).map((object) => object.Key as string));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated) expect(page.NextContinuationToken).toBeTruthy();
    } while (token !== undefined && pages < 10);

    // Assess
    expect(pages).toBe(3);
    expect(listed).toHaveLength(KEY_COUNT);
    expect(new Set(listed).size).toBe(KEY_COUNT);
    expect([...listed].sort()).toEqual(keys);
  }, 120_000); // 2,500 PUTs and 3 pages: about 5 s alone, over 30 s with two test runs side by side

  it('honours MaxKeys and StartAfter in pagination', async () => {
    // Prepare
    const keys = Array.from({ length: 7 }, (_, index) => `small/${index}.jpg`);
    await putMany(client, BUCKET, keys, 4);

    // Act
    const first = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'small/', MaxKeys: 3 }));
    const second = await client.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: 'small/',
        MaxKeys: 3,
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    const after = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'small/', StartAfter: 'small/4.jpg' }),
    );

    // Assess
    expect(first.IsTruncated).toBe(true);
    expect((first.Contents ?? []).map((object) => object.Key)).toEqual(keys.slice(0, 3));
    expect((second.Contents ?? []).map((object) => object.Key)).toEqual(keys.slice(3, 6));
    expect((after.Contents ?? []).map((object) => object.Key)).toEqual(keys.slice(5));
  });

  it('stores a streamed PutObject (Readable body with ContentLength) byte for byte', async () => {
    // Prepare
    const chunks = Array.from({ length: 16 }, () => randomBytes(64 * 1024 + 17));
    const body = Buffer.concat(chunks);
    const key = 'streamed/DJI_0001.JPG';

    // Act
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from(chunks), ContentLength: body.length }),
    );

    // Assess
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const stored = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
    expect(stored.length).toBe(body.length);
    expect(sha256(stored)).toBe(sha256(body));
  });

  it('delivers an object event with the key for a put', async () => {
    // Prepare
    const key = `events/photo ${randomBytes(4).toString('hex')}.jpg`;
    const received = new Promise<S3rverEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event for ${key} within 5 s`)), 5_000);
      s3.onObjectEvent((event) => {
        if (event.Records.some((record) => record.s3.object.key === key)) {
          clearTimeout(timer);
          resolve(event);
        }
      });
    });

    // Act
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'event body' }));
    const event = await received;

    // Assess
    const record = event.Records.find((candidate) => candidate.s3.object.key === key);
    expect(record?.eventName).toMatch(/^ObjectCreated:/);
    expect(record?.s3.bucket.name).toBe(BUCKET);
    expect(record?.s3.object.size).toBe('event body'.length);
  });

  it('lists multipart uploads in progress by prefix, page by page, until completed or aborted, and dates them as S3 does', async () => {
    // Prepare
    const prefix = 'uploads/flight-1/';
    const keys = [`${prefix}a.MP4`, `${prefix}b.MP4`, `${prefix}c.MP4`, 'uploads/flight-10/d.MP4'];
    const ids = new Map<string, string>();
    for (const key of keys)
      ids.set(key, (await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId ?? '');

    // Act
    const first = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix, MaxUploads: 2 }));
    const second = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: BUCKET,
        Prefix: prefix,
        MaxUploads: 2,
        KeyMarker: first.NextKeyMarker,
        UploadIdMarker: first.NextUploadIdMarker,
      }),
    );
    await sleep(1_100); // completed in a later second than initiated
    const { ETag } = await client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: keys[0], UploadId: ids.get(keys[0]!), PartNumber: 1, Body: 'part' }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: keys[0],
        UploadId: ids.get(keys[0]!),
        MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
      }),
    );
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: keys[1], UploadId: ids.get(keys[1]!) }));
    const after = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
    const completed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: keys[0] }));
    const abortAgain: unknown = await client
      .send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: keys[1], UploadId: ids.get(keys[1]!) }))
      .catch((error: unknown) => error);
    for (const key of keys.slice(2))
      await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: ids.get(key) }));

    // Assess
    expect(first.Uploads?.map((upload) => upload.Key)).toStrictEqual(keys.slice(0, 2));
    expect(first.IsTruncated).toBe(true);
    expect(second.Uploads?.map((upload) => upload.Key)).toStrictEqual([keys[2]]);
    expect(second.IsTruncated).toBe(false);
    expect(first.Uploads?.[0]?.Initiated).toBeInstanceOf(Date);
    expect(after.Uploads?.map((upload) => upload.Key)).toStrictEqual([keys[2]]);
    // As S3 does, the completed object is dated from the upload's initiation (HTTP dates have whole seconds).
    expect(Math.floor(completed.Contents![0]!.LastModified!.getTime() / 1000)).toBe(
      Math.floor(first.Uploads![0]!.Initiated!.getTime() / 1000),
    );
    expect(abortAgain).toMatchObject({ name: 'NoSuchUpload' });
  });

  it('creates buckets on demand with createBucket', async () => {
    // Prepare
    const bucket = `created-${randomBytes(4).toString('hex')}`;

    // Act
    await s3.createBucket(bucket);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.jpg', Body: 'a' }));

    // Assess
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((object) => object.Key)).toEqual(['a.jpg']);
  });
});

describe('close()', () => {
  it('stops the server and removes its temporary directory', async () => {
    // Prepare
    const bucket = `close-check-${randomBytes(6).toString('hex')}`;
    const server = await startEmbeddedS3({ buckets: [bucket] });
    const own = server.client();
    await own.send(new PutObjectCommand({ Bucket: bucket, Key: 'kept.jpg', Body: 'x' }));
    const directory = await findServerDirectory(bucket);
    const before = await fetch(`${server.endpoint}/${bucket}/kept.jpg`);
    await before.arrayBuffer();

    // Act
    await server.close();

    // Assess
    expect(directory).toBeDefined();
    expect(before.status).toBe(200);
    await expect(fetch(`${server.endpoint}/${bucket}/kept.jpg`)).rejects.toThrow();
    expect(existsSync(directory as string)).toBe(false);
  });

  it('keeps a directory it was given', async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), 'embedded-s3-given-'));
    const bucket = 'given-dir-bucket';
    const server = await startEmbeddedS3({ buckets: [bucket], directory });
    await server.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'kept.jpg', Body: 'x' }));

    // Act
    await server.close();

    // Assess
    try {
      expect(existsSync(directory)).toBe(true);
      expect(existsSync(join(directory, bucket))).toBe(true);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
