import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_SETTINGS } from '../../local/simulator/settings';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { PHOTO_CONTENT_CHECK } from '../../src/batch/image-completeness';
import {
  type CopyItem,
  type CopyOptions,
  CopySizeMismatchError,
  copyPhotos,
  PhotoChangedError,
  PhotoCopyError,
  peakBufferBytes,
} from '../../src/copy/copier';
import {
  defaultRefreshMarginMs,
  InspectionCredentials,
  type InspectionCredentialsOptions,
} from '../../src/copy/credentials-source';
import { Pix4dInspectClient } from '../../src/pix4d/client';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';
import { TemporaryS3Credentials } from '../../src/pix4d/temporary-s3-credentials';
import { listBucket } from '../helpers/bucket-contents';
import { jpegBytes } from '../helpers/flights';

/**
 * The copy engine against the Pix4Dinspect simulator: a real drop bucket on the embedded S3 server, real
 * credentials from the simulated API, and the simulator's S3 endpoint, which refuses expired credentials and
 * writes outside the inspection's prefix. Copies are read back from the embedded server directly.
 */

const MiB = 1024 * 1024;
const DROP_BUCKET = 'drop';

let simulator: Simulator;
let api: Pix4dInspectClient;
let assetId: number;
/** Reads and writes the drop bucket and the simulator's bucket directly, without credential checks. */
let direct: S3Client;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  simulator = await startSimulator();
  await simulator.embeddedS3.createBucket(DROP_BUCKET);
  direct = simulator.embeddedS3.client();
  api = new Pix4dInspectClient({ account: simulator.account, authUrl: simulator.apiUrl, apiUrl: simulator.apiUrl });
  assetId = (await api.createAsset({ name: 'Tower copier', type: 1 })).id;
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  Object.assign(simulator.settings, DEFAULT_SIMULATOR_SETTINGS);
});

async function newInspectionId(): Promise<number> {
  const inspection = await api.createInspection({
    asset: assetId,
    processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
  });
  return inspection.id;
}

/** Puts objects in the drop bucket below `folder/` and returns the items to copy with their hashes. */
async function dropPhotos(folder: string, photos: readonly { path: string; bytes: number }[]) {
  const files = photos.map(({ path, bytes }) => ({ path, body: randomBytes(bytes) }));
  const items = await dropBodies(folder, files);
  return { items, hashes: new Map(files.map(({ path, body }) => [path, sha256(body)])) };
}

async function destinationHash(key: string): Promise<string> {
  const answer = await direct.send(new GetObjectCommand({ Bucket: simulator.bucket, Key: key }));
  return sha256(await answer.Body!.transformToByteArray());
}

function options(extra: CopyOptions = {}): CopyOptions {
  return { destinationEndpoint: simulator.s3Endpoint, ...extra };
}

const source = () => ({ client: direct, bucket: DROP_BUCKET });

/**
 * The drop bucket as a slow source: the first GetObject of `sourceKey` is held until `until` (epoch ms), either
 * before its answer (`before-answer`: the copy then starts writing after that), or halfway through its body
 * (`mid-body`: the write has started, and ends after that). Every other read is served at once.
 */
function slowSource(sourceKey: string, until: number, where: 'before-answer' | 'mid-body') {
  const client = simulator.embeddedS3.client();
  let held = false;
  const wait = () => sleep(Math.max(0, until - Date.now()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { Key?: string };
      if (context.commandName !== 'GetObjectCommand' || input.Key !== sourceKey || held) return result;
      held = true;
      const output = result.output as GetObjectCommandOutput;
      if (where === 'before-answer') {
        await wait();
        return result;
      }
      const body = output.Body as Readable;
      async function* halted() {
        let first = true;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (!first) {
            yield chunk;
            continue;
          }
          first = false;
          const half = Math.ceil(chunk.length / 2);
          yield chunk.subarray(0, half);
          await wait();
          yield chunk.subarray(half);
        }
      }
      output.Body = Readable.from(halted(), { objectMode: false }) as GetObjectCommandOutput['Body'];
      return result;
    },
    { step: 'initialize', name: 'slowSource' },
  );
  return { client, bucket: DROP_BUCKET };
}

/**
 * The copy's options for sending every object as a multipart upload, whose size check (HeadObject) is held until
 * `until` (epoch ms) the first time: the upload is accepted with valid credentials, and its check is sent after
 * they have expired.
 */
function multipartWithLateSizeCheck(until: number): CopyOptions {
  let held = false;
  return options({
    multipartThresholdBytes: 0,
    instrumentClient: (client) => {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'HeadObjectCommand' && !held) {
            held = true;
            await sleep(Math.max(0, until - Date.now()));
          }
          return next(args);
        },
        { step: 'initialize', name: 'slowSizeCheck' },
      );
      return client;
    },
  });
}

/**
 * A 200 KB photo in the drop bucket, and a credentials source whose first credentials live 3 s on the S3 endpoint's
 * clock (those after them an hour). `expired`: a moment just after the first have expired there (epoch ms); `mark`:
 * where the gateway's requests stood.
 */
async function onePhotoWithShortCredentials(credentialsOptions: InspectionCredentialsOptions) {
  simulator.settings.credentialsTtlSeconds = 3;
  const inspectionId = await newInspectionId();
  const credentials = new InspectionCredentials(api, inspectionId, credentialsOptions);
  const stale = await credentials.current();
  simulator.settings.credentialsTtlSeconds = 3_600;
  const { items, hashes } = await dropPhotos(`tower-1/flight-${inspectionId}`, [
    { path: 'DCIM/slow.jpg', bytes: 200_000 },
  ]);
  const expired = stale.serverTime.getTime() + 3_100;
  return { inspectionId, credentials, stale, items, hashes, expired, mark: simulator.s3Requests.length };
}

/** The gateway's requests since `mark` for keys below `keyPrefix/`, as `METHOD relative-path status [code]`. */
function requestsSince(mark: number, keyPrefix: string): string[] {
  return simulator.s3Requests
    .slice(mark)
    .filter((request) => request.key?.startsWith(`${keyPrefix}/`))
    .map((request) =>
      [request.method, request.key!.slice(keyPrefix.length + 1), request.status, request.code]
        .filter(Boolean)
        .join(' '),
    );
}

const credentialRequests = (inspectionId: number) =>
  simulator.requests.filter((request) => request.path === `/v1/inspections/${inspectionId}/s3_credentials/`).length;

describe('copyPhotos', () => {
  it('copies photos with awkward names byte for byte below the inspection prefix, keeping their relative paths', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const awkward = [
      'DCIM/100MEDIA/DJI_0001.JPG',
      'DCIM/101MEDIA/DJI_0001.JPG',
      'with space/photo 1.jpg',
      'plus+sign/a+b.jpg',
      'percent%20literal/100%.jpg',
      'unicode/Mâst façade ü.jpg',
      'unicode/鉄塔-写真.jpeg',
      'symbols/(1) [a] {b} ~c! @d $e & f=g; h,i.tif',
      'deep/a/b/c/d/e/IMG.TIFF',
    ];
    const photos = [
      ...awkward.map((path, index) => ({ path, bytes: 1_000 + index * 7_919 })),
      ...Array.from({ length: 21 }, (_, index) => ({
        path: `DCIM/102MEDIA/DJI_${String(index).padStart(4, '0')}.JPG`,
        bytes: 50_000 + index * 1_013,
      })),
    ];
    const { items, hashes } = await dropPhotos(`tower-1/flight-${inspectionId}`, photos);
    const reported: string[] = [];

    // Act
    const result = await copyPhotos(
      items,
      source(),
      credentials,
      options({ onObjectCopied: ({ relativePath }) => reported.push(relativePath) }),
    );

    // Assess
    const { keyPrefix } = await credentials.current();
    expect(result.copied.map((photo) => photo.relativePath)).toEqual(photos.map((photo) => photo.path));
    expect(result.copied.map((photo) => photo.key)).toEqual(photos.map((photo) => `${keyPrefix}/${photo.path}`));
    expect(result.bytes).toBe(photos.reduce((sum, photo) => sum + photo.bytes, 0));
    expect(reported.sort()).toEqual(photos.map((photo) => photo.path).sort());
    for (const photo of result.copied) {
      expect(await destinationHash(photo.key), photo.relativePath).toBe(hashes.get(photo.relativePath));
    }
    expect(await destinationHash(`${keyPrefix}/DCIM/100MEDIA/DJI_0001.JPG`)).not.toBe(
      await destinationHash(`${keyPrefix}/DCIM/101MEDIA/DJI_0001.JPG`),
    );
  });

  it('sends a large object as a multipart upload, and a small one as a single PutObject, both intact', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const { items, hashes } = await dropPhotos(`tower-1/flight-${inspectionId}`, [
      { path: 'DCIM/large.tif', bytes: 40 * MiB },
      { path: 'DCIM/small.jpg', bytes: 6 * MiB },
    ]);
    const mark = simulator.s3Requests.length;

    // Act
    const result = await copyPhotos(items, source(), credentials, options({ partSizeBytes: 5 * MiB, queueSize: 3 }));

    // Assess
    const [large, small] = result.copied;
    const requests = simulator.s3Requests.slice(mark);
    const putsOf = (key: string) => requests.filter((request) => request.method === 'PUT' && request.key === key);
    expect(putsOf(large!.key)).toHaveLength(8);
    expect(putsOf(large!.key).every((request) => request.status === 200)).toBe(true);
    // CreateMultipartUpload and CompleteMultipartUpload.
    expect(requests.filter((request) => request.method === 'POST' && request.key === large!.key)).toHaveLength(2);
    expect(putsOf(small!.key)).toHaveLength(1);
    expect(requests.filter((request) => request.method === 'POST' && request.key === small!.key)).toHaveLength(0);
    expect(await destinationHash(large!.key)).toBe(hashes.get('DCIM/large.tif'));
    expect(await destinationHash(small!.key)).toBe(hashes.get('DCIM/small.jpg'));
    expect(result.bytes).toBe(46 * MiB);
  });

  it('refreshes short-lived credentials before they expire, across calls sharing one credentials source', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 3;
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const folder = `tower-1/flight-${inspectionId}`;
    const photos = Array.from({ length: 24 }, (_, index) => ({ path: `DCIM/DJI_${index}.JPG`, bytes: 20_000 + index }));
    const { items, hashes } = await dropPhotos(folder, photos);

    // Act
    const first = await copyPhotos(items.slice(0, 12), source(), credentials, options({ concurrency: 2 }));
    const firstCredentials = await credentials.current();
    await sleep(3_200);
    const second = await copyPhotos(items.slice(12), source(), credentials, options({ concurrency: 2 }));

    // Assess
    const copied = [...first.copied, ...second.copied];
    expect(copied).toHaveLength(24);
    for (const photo of copied) expect(await destinationHash(photo.key)).toBe(hashes.get(photo.relativePath));
    expect(credentialRequests(inspectionId)).toBeGreaterThan(1);
    expect(await credentials.current()).not.toBe(firstCredentials);
  });

  it('answers an ExpiredToken by refreshing the credentials and copying the object again', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 1;
    const inspectionId = await newInspectionId();
    // A local clock that stands still: nothing looks due, so only the destination's refusal can cause a refresh.
    const frozen = new Date();
    const credentials = new InspectionCredentials(api, inspectionId, { refreshMarginMs: 0, now: () => frozen });
    const stale = await credentials.current();
    const { items, hashes } = await dropPhotos(`tower-1/flight-${inspectionId}`, [
      { path: 'DCIM/a.jpg', bytes: 10_000 },
      { path: 'DCIM/b.jpg', bytes: 20_000 },
      { path: 'DCIM/c.jpg', bytes: 30_000 },
      { path: 'DCIM/d.tif', bytes: 11 * MiB },
    ]);
    await sleep(1_200);
    // The refreshed credentials last, so that a slow machine does not see them expire too during the 11 MiB upload.
    simulator.settings.credentialsTtlSeconds = 3_600;
    const mark = simulator.s3Requests.length;

    // Act
    const result = await copyPhotos(
      items,
      source(),
      credentials,
      options({ concurrency: 4, partSizeBytes: 5 * MiB, multipartThresholdBytes: 8 * MiB }),
    );

    // Assess
    const refusals = simulator.s3Requests.slice(mark).filter((request) => request.code === 'ExpiredToken');
    // Objects that started before the first refusal was answered met the stale credentials (how many did depends on
    // the machine's load); each of them was copied again with the fresh ones, the multipart upload included.
    const keyOf = (path: string) => `${stale.keyPrefix}/${path}`;
    expect(refusals.length).toBeGreaterThan(0);
    const refusedKeys = new Set(refusals.map((request) => request.key));
    expect([...refusedKeys].every((key) => result.copied.some((photo) => photo.key === key))).toBe(true);
    expect(refusals.every((request) => (request.method === 'POST') === (request.key === keyOf('DCIM/d.tif')))).toBe(
      true,
    );
    expect(credentials.fetches).toBeGreaterThanOrEqual(2);
    expect(result.copied).toHaveLength(4);
    expect(await credentials.current()).not.toBe(stale);
    for (const photo of result.copied) expect(await destinationHash(photo.key)).toBe(hashes.get(photo.relativePath));
  });

  it('refreshes credentials that expire in the middle of a copy when a PutObject meets them (400 ExpiredToken)', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 3;
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId, { refreshMarginMs: 0 });
    const stale = await credentials.current();
    simulator.settings.credentialsTtlSeconds = 3_600;
    const photos = ['DCIM/1.jpg', 'DCIM/2.jpg', 'DCIM/3.jpg', 'DCIM/4.jpg'].map((path) => ({ path, bytes: 30_000 }));
    const { items, hashes } = await dropPhotos(`tower-1/flight-${inspectionId}`, photos);
    // The third photo is read after the credentials have expired on the S3 endpoint's clock.
    const slow = slowSource(items[2]!.sourceKey, stale.serverTime.getTime() + 3_100, 'before-answer');
    const mark = simulator.s3Requests.length;

    // Act
    const result = await copyPhotos(items, slow, credentials, options({ concurrency: 1 }));

    // Assess
    expect(result.copied.map((photo) => photo.relativePath)).toEqual(photos.map((photo) => photo.path));
    for (const photo of result.copied) expect(await destinationHash(photo.key)).toBe(hashes.get(photo.relativePath));
    const requests = requestsSince(mark, stale.keyPrefix);
    expect(requests.filter((request) => / 400 /.test(request))).toEqual(['PUT DCIM/3.jpg 400 ExpiredToken']);
    expect(requests.slice(-2)).toEqual(['PUT DCIM/3.jpg 200', 'PUT DCIM/4.jpg 200']);
    expect(credentialRequests(inspectionId)).toBe(2);
    expect(await credentials.current()).not.toBe(stale);
  });

  it('copies a photo once when its credentials expire while its single PutObject streams: S3 accepted the request as it began', async () => {
    // Prepare
    const { inspectionId, credentials, stale, items, hashes, expired, mark } = await onePhotoWithShortCredentials({
      refreshMarginMs: 0,
    });
    const slow = slowSource(items[0]!.sourceKey, expired, 'mid-body');

    // Act
    const result = await copyPhotos(items, slow, credentials, options());

    // Assess
    expect(await destinationHash(result.copied[0]!.key)).toBe(hashes.get('DCIM/slow.jpg'));
    // Its Content-Length is the listed size, which S3 stores exactly or refuses: no request checks it afterwards.
    expect(requestsSince(mark, stale.keyPrefix)).toEqual(['PUT DCIM/slow.jpg 200']);
    expect(credentialRequests(inspectionId)).toBe(1);
  });

  it('refreshes credentials that expire before the size check (HeadObject) of a multipart upload, which meets them with a bare 400', async () => {
    // Prepare
    const { inspectionId, credentials, stale, items, hashes, expired, mark } = await onePhotoWithShortCredentials({
      refreshMarginMs: 0,
    });

    // Act
    const result = await copyPhotos(items, source(), credentials, multipartWithLateSizeCheck(expired));

    // Assess
    expect(result.copied).toHaveLength(1);
    expect(await destinationHash(result.copied[0]!.key)).toBe(hashes.get('DCIM/slow.jpg'));
    expect(requestsSince(mark, stale.keyPrefix)).toEqual([
      'PUT DCIM/slow.jpg 200',
      'HEAD DCIM/slow.jpg 400 ExpiredToken',
      'PUT DCIM/slow.jpg 200',
      'HEAD DCIM/slow.jpg 200',
    ]);
    expect(credentialRequests(inspectionId)).toBe(2);
    expect(credentials.fetches).toBe(2);
  });

  it('takes a bare 400 of the size check of a multipart upload for expiry when the credentials are due, even those the source still hands out', async () => {
    // Prepare
    // A margin longer than their lifetime makes the credentials due as they arrive; after asking once more, the
    // source keeps them, and the local clock standing still, it keeps handing them out: only the copier's reading of
    // the bare 400 can cause the refresh.
    const frozen = new Date();
    const { inspectionId, credentials, stale, items, hashes, expired, mark } = await onePhotoWithShortCredentials({
      refreshMarginMs: 10 * 60_000,
      now: () => frozen,
    });

    // Act
    const result = await copyPhotos(items, source(), credentials, multipartWithLateSizeCheck(expired));

    // Assess
    expect(await destinationHash(result.copied[0]!.key)).toBe(hashes.get('DCIM/slow.jpg'));
    expect(requestsSince(mark, stale.keyPrefix)).toEqual([
      'PUT DCIM/slow.jpg 200',
      'HEAD DCIM/slow.jpg 400 ExpiredToken',
      'PUT DCIM/slow.jpg 200',
      'HEAD DCIM/slow.jpg 200',
    ]);
    // Two for the credentials due on arrival, one after the bare 400.
    expect(credentialRequests(inspectionId)).toBe(3);
  });

  it('does not take a bare 400 of the size check of a multipart upload for expiry while the credentials are not due, and refreshes on the ExpiredToken that follows', async () => {
    // Prepare
    // A local clock that stands still: the credentials never look due, so only S3's ExpiredToken can cause a refresh.
    const frozen = new Date();
    const { inspectionId, credentials, stale, items, hashes, expired, mark } = await onePhotoWithShortCredentials({
      refreshMarginMs: 0,
      now: () => frozen,
    });

    // Act
    const result = await copyPhotos(items, source(), credentials, multipartWithLateSizeCheck(expired));

    // Assess
    expect(await destinationHash(result.copied[0]!.key)).toBe(hashes.get('DCIM/slow.jpg'));
    expect(requestsSince(mark, stale.keyPrefix)).toEqual([
      'PUT DCIM/slow.jpg 200',
      'HEAD DCIM/slow.jpg 400 ExpiredToken',
      'PUT DCIM/slow.jpg 400 ExpiredToken',
      'PUT DCIM/slow.jpg 200',
      'HEAD DCIM/slow.jpg 200',
    ]);
    expect(credentialRequests(inspectionId)).toBe(2);
  });

  it('fails with PhotoCopyError naming the path when a source object has disappeared, and starts no further object', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const folder = `tower-1/flight-${inspectionId}`;
    const { items } = await dropPhotos(folder, [
      { path: 'DCIM/before.jpg', bytes: 1_000 },
      { path: 'DCIM/gone photo.jpg', bytes: 1_000 },
      { path: 'DCIM/after.jpg', bytes: 1_000 },
    ]);
    await direct.send(new DeleteObjectCommand({ Bucket: DROP_BUCKET, Key: `${folder}/DCIM/gone photo.jpg` }));

    // Act
    const outcome = await copyPhotos(items, source(), credentials, options({ concurrency: 1 })).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(outcome).toBeInstanceOf(PhotoCopyError);
    const error = outcome as PhotoCopyError;
    expect(error.name).toBe('PhotoCopyError');
    expect(error.message).toContain('"DCIM/gone photo.jpg"');
    expect(error.message).toContain('NoSuchKey');
    expect(error).toMatchObject({
      relativePath: 'DCIM/gone photo.jpg',
      failedAt: 'source',
      lastErrorName: 'NoSuchKey',
      attempts: 1,
    });
    const { keyPrefix, secretAccessKey, sessionToken } = await credentials.current();
    const written = simulator.s3Requests.filter(
      (request) => request.method === 'PUT' && request.key?.startsWith(`${keyPrefix}/`),
    );
    expect(written.map((request) => request.key)).toEqual([`${keyPrefix}/DCIM/before.jpg`]);
    for (const text of [error.message, JSON.stringify(error), inspect(error)]) {
      expect(text).not.toContain(secretAccessKey);
      expect(text).not.toContain(sessionToken);
    }
  });

  it('gives up after the attempts when every credential it gets has expired, without revealing any of them', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 0;
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const { items } = await dropPhotos(`tower-1/flight-${inspectionId}`, [{ path: 'DCIM/never.jpg', bytes: 5_000 }]);

    // Act
    const outcome = await copyPhotos(items, source(), credentials, options({ maxObjectAttempts: 3 })).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(outcome).toBeInstanceOf(PhotoCopyError);
    const error = outcome as PhotoCopyError;
    expect(error).toMatchObject({
      relativePath: 'DCIM/never.jpg',
      attempts: 3,
      failedAt: 'destination',
      lastErrorName: 'ExpiredToken',
    });
    expect(error.message).toContain('DCIM/never.jpg');
    expect(error.message).toContain('3 attempt(s)');
    // Two requests for the first credentials (expired on arrival: asked for once more), one after the first
    // refusal; the replacement, refused in turn, is not replaced before it is due.
    expect(credentials.fetches).toBe(3);
    expect(credentialRequests(inspectionId)).toBe(3);
    const last = await credentials.current();
    for (const text of [error.message, JSON.stringify(error), inspect(error)]) {
      expect(text).not.toContain(last.secretAccessKey);
      expect(text).not.toContain(last.sessionToken);
    }
  });

  it.each([
    { route: 'a single PutObject', multipartThresholdBytes: undefined },
    { route: 'a multipart upload', multipartThresholdBytes: 0 },
  ])(
    'fails with PhotoChangedError, writing nothing, when the source no longer has the listed size ($route)',
    async ({ multipartThresholdBytes }) => {
      // Prepare
      const inspectionId = await newInspectionId();
      const credentials = new InspectionCredentials(api, inspectionId);
      const { items } = await dropPhotos(`tower-1/flight-${inspectionId}`, [
        { path: 'DCIM/replaced.jpg', bytes: 12_345 },
      ]);
      // The listing saw another version of the object.
      const listed: CopyItem = { ...items[0]!, size: 10_000 };
      const mark = simulator.s3Requests.length;

      // Act
      const outcome = await copyPhotos(
        [listed],
        source(),
        credentials,
        options({ maxObjectAttempts: 3, multipartThresholdBytes }),
      ).catch((error: unknown) => error);

      // Assess
      expect(outcome).toBeInstanceOf(PhotoChangedError);
      expect(outcome).toMatchObject({
        name: 'PhotoChangedError',
        relativePath: 'DCIM/replaced.jpg',
        listedBytes: 10_000,
        actualBytes: 12_345,
      });
      expect((outcome as Error).message).toBe(
        'Photo "DCIM/replaced.jpg" has 12345 bytes in the drop bucket instead of the 10000 it had when listed: it changed after the batch closed',
      );
      // Another attempt cannot change the source: none is made, and nothing reaches Inspect's bucket.
      expect(simulator.s3Requests.slice(mark)).toEqual([]);
    },
  );

  it('fails with CopySizeMismatchError when the copy of a multipart upload does not have the listed size', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const { items } = await dropPhotos(`tower-1/flight-${inspectionId}`, [{ path: 'DCIM/cut.jpg', bytes: 6 * MiB }]);
    // Bytes lost on the way: the source stream ends early without an error. The upload's two parts are complete in
    // themselves, so only the size check can see it.
    const cut = { client: simulator.embeddedS3.client(), bucket: DROP_BUCKET };
    cut.client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = result.output as GetObjectCommandOutput;
        if (output.Body) {
          const whole = await output.Body.transformToByteArray();
          output.Body = Readable.from([Buffer.from(whole.subarray(0, 5.5 * MiB))]) as GetObjectCommandOutput['Body'];
        }
        return result;
      },
      { step: 'initialize', name: 'cutSource' },
    );

    // Act
    const outcome = await copyPhotos(
      items,
      cut,
      credentials,
      options({ maxObjectAttempts: 2, multipartThresholdBytes: 0, partSizeBytes: 5 * MiB }),
    ).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(CopySizeMismatchError);
    expect(outcome).toMatchObject({
      name: 'CopySizeMismatchError',
      relativePath: 'DCIM/cut.jpg',
      expectedBytes: 6 * MiB,
      actualBytes: 5.5 * MiB,
    });
    expect((outcome as Error).message).toBe('The copy of photo "DCIM/cut.jpg" has 5767168 bytes instead of 6291456');
  });

  it('refuses items that would collide or leave the prefix before copying anything', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const item = (relativePath: string): CopyItem => ({ sourceKey: `x/${relativePath}`, relativePath, size: 1 });
    const mark = simulator.requests.length;

    // Act
    const duplicate = copyPhotos([item('DCIM/a.jpg'), item('/DCIM/a.jpg')], source(), credentials, options());
    const escaping = copyPhotos([item('DCIM/../../other/a.jpg')], source(), credentials, options());
    const tooSmallParts = copyPhotos([item('a.jpg')], source(), credentials, options({ partSizeBytes: MiB }));

    // Assess
    await expect(duplicate).rejects.toThrow(/relative path "\/DCIM\/a.jpg"/);
    await expect(escaping).rejects.toThrow(RangeError);
    await expect(tooSmallParts).rejects.toThrow(/partSizeBytes/);
    expect(simulator.requests.length).toBe(mark);
  });
});

/** Puts the given bodies in the drop bucket below `folder/` and returns the items to copy. */
async function dropBodies(folder: string, files: readonly { path: string; body: Buffer }[]): Promise<CopyItem[]> {
  for (const { path, body } of files) {
    await direct.send(
      new PutObjectCommand({ Bucket: DROP_BUCKET, Key: `${folder}/${path}`, Body: body, ContentType: 'image/jpeg' }),
    );
  }
  return files.map(({ path, body }) => ({ sourceKey: `${folder}/${path}`, relativePath: path, size: body.length }));
}

/** Keys of the simulator's bucket below `keyPrefix/`, relative to it. */
async function destinationPaths(keyPrefix: string): Promise<string[]> {
  return (await listBucket(direct, simulator.bucket, `${keyPrefix}/`)).map((object) =>
    object.key.slice(keyPrefix.length + 1),
  );
}

describe('copyPhotos with the completeness check', () => {
  it('skips truncated JPEGs sent as single PutObjects, stores nothing for them, and copies the complete ones byte for byte', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const complete = [
      { path: 'DCIM/DJI_0001.JPG', body: jpegBytes(300_000, 1) },
      { path: 'DCIM/DJI_0003.JPG', body: jpegBytes(20_000, 3) },
    ];
    const truncated = [
      { path: 'DCIM/DJI_0002.JPG', body: jpegBytes(300_000, 2).subarray(0, 250_000) },
      { path: 'DCIM/DJI_0004.JPG', body: Buffer.from([0xff, 0xd8, 0xff]) },
    ];
    const items = await dropBodies(`tower-1/flight-${inspectionId}`, [
      complete[0]!,
      truncated[0]!,
      complete[1]!,
      truncated[1]!,
    ]);
    const { keyPrefix } = await credentials.current();
    const mark = simulator.s3Requests.length;

    // Act
    const result = await copyPhotos(items, source(), credentials, options({ checkContent: PHOTO_CONTENT_CHECK }));

    // Assess
    expect(result.copied.map((photo) => photo.relativePath)).toEqual(['DCIM/DJI_0001.JPG', 'DCIM/DJI_0003.JPG']);
    expect(result.skipped).toEqual([
      {
        relativePath: 'DCIM/DJI_0002.JPG',
        reason: 'truncated JPEG: its 250,000 bytes end before the end-of-image marker (FF D9)',
      },
      {
        relativePath: 'DCIM/DJI_0004.JPG',
        reason: 'truncated JPEG: its 3 bytes end before the end-of-image marker (FF D9)',
      },
    ]);
    expect(result.bytes).toBe(320_000);
    expect(await destinationPaths(keyPrefix)).toEqual(['DCIM/DJI_0001.JPG', 'DCIM/DJI_0003.JPG']);
    for (const { path, body } of complete) expect(await destinationHash(`${keyPrefix}/${path}`)).toBe(sha256(body));
    // The PutObjects of the truncated photos were cut off before their last bytes: none succeeded, none was checked.
    const requests = requestsSince(mark, keyPrefix).filter((request) => /DJI_000[24]/.test(request));
    expect(requests.filter((request) => / 200/.test(request) || request.startsWith('HEAD'))).toEqual([]);
  });

  it('aborts the multipart upload of a truncated JPEG after streaming its parts, and completes that of a complete one', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const large = jpegBytes(12 * MiB, 5);
    const cut = jpegBytes(14 * MiB, 6).subarray(0, 13 * MiB);
    const items = await dropBodies(`tower-1/flight-${inspectionId}`, [
      { path: 'DCIM/large.JPG', body: large },
      { path: 'DCIM/cut.JPG', body: cut },
    ]);
    const { keyPrefix } = await credentials.current();
    const mark = simulator.s3Requests.length;

    // Act
    const result = await copyPhotos(
      items,
      source(),
      credentials,
      options({ checkContent: PHOTO_CONTENT_CHECK, partSizeBytes: 5 * MiB, multipartThresholdBytes: 8 * MiB }),
    );

    // Assess
    expect(result.copied.map((photo) => photo.relativePath)).toEqual(['DCIM/large.JPG']);
    expect(result.skipped).toEqual([
      {
        relativePath: 'DCIM/cut.JPG',
        reason: 'truncated JPEG: its 13,631,488 bytes end before the end-of-image marker (FF D9)',
      },
    ]);
    expect(await destinationHash(`${keyPrefix}/DCIM/large.JPG`)).toBe(sha256(large));
    expect(await destinationPaths(keyPrefix)).toEqual(['DCIM/large.JPG']);
    // CreateMultipartUpload, the two whole parts, AbortMultipartUpload: never the third part, never the completion.
    expect(requestsSince(mark, keyPrefix).filter((request) => request.includes('cut.JPG'))).toEqual([
      'POST DCIM/cut.JPG 200',
      'PUT DCIM/cut.JPG 200',
      'PUT DCIM/cut.JPG 200',
      'DELETE DCIM/cut.JPG 204',
    ]);
    const uploads = await direct.send(
      new ListMultipartUploadsCommand({ Bucket: simulator.bucket, Prefix: `${keyPrefix}/` }),
    );
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('retries a source that ends before its Content-Length as a failed read, not a truncated photo', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const photo = jpegBytes(100_000, 7);
    const items = await dropBodies(`tower-1/flight-${inspectionId}`, [{ path: 'DCIM/DJI_0007.JPG', body: photo }]);
    // The first read of the photo ends, without an error, halfway through.
    const client = simulator.embeddedS3.client();
    let reads = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName !== 'GetObjectCommand' || ++reads > 1) return result;
        const output = result.output as GetObjectCommandOutput;
        const body = Buffer.from(await output.Body!.transformToByteArray());
        output.Body = Readable.from([body.subarray(0, 50_000)]) as GetObjectCommandOutput['Body'];
        return result;
      },
      { step: 'initialize', name: 'shortSource' },
    );
    const { keyPrefix } = await credentials.current();

    // Act
    const result = await copyPhotos(
      items,
      { client, bucket: DROP_BUCKET },
      credentials,
      options({ checkContent: PHOTO_CONTENT_CHECK }),
    );

    // Assess
    expect(reads).toBe(2);
    expect(result.skipped).toEqual([]);
    expect(result.copied.map((copied) => copied.relativePath)).toEqual(['DCIM/DJI_0007.JPG']);
    expect(await destinationHash(`${keyPrefix}/DCIM/DJI_0007.JPG`)).toBe(sha256(photo));
  });
});

describe('peakBufferBytes', () => {
  it('is concurrency x (queueSize + 2) x part size: 256 MiB with the defaults', () => {
    // Prepare
    const overrides = { concurrency: 2, partSizeBytes: 5 * MiB, queueSize: 4 };

    // Act
    const defaults = peakBufferBytes();
    const custom = peakBufferBytes(overrides);

    // Assess
    expect(defaults).toBe(256 * MiB);
    expect(custom).toBe(60 * MiB);
  });
});

describe('InspectionCredentials', () => {
  const answer = (lifetimeSeconds: number) => {
    const serverTime = new Date('2026-11-28T10:00:00.000Z');
    return TemporaryS3Credentials.fromApi(
      {
        access_key: 'ASIAEXAMPLE',
        secret_key: 'secret',
        session_token: 'token',
        expiration: new Date(serverTime.getTime() + lifetimeSeconds * 1000),
        bucket: 'bucket',
        key: 'user/project-1',
        server_time: serverTime,
        region: 'us-east-1',
      },
      serverTime,
    );
  };

  it('refreshes by default min(5 minutes, 25% of the lifetime) early', () => {
    // Prepare
    const hour = answer(3_600);
    const fiveSeconds = answer(5);

    // Act
    const margins = [defaultRefreshMarginMs(hour), defaultRefreshMarginMs(fiveSeconds)];

    // Assess
    expect(margins).toEqual([300_000, 1_250]);
  });

  it('asks once more for credentials due on arrival, shared by concurrent callers, then keeps them', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    // One-hour credentials inside a margin larger than their lifetime: due as they arrive.
    const dueOnArrival = new InspectionCredentials(api, inspectionId, { refreshMarginMs: 3_700_000 });
    const before = credentialRequests(inspectionId);

    // Act
    const together = await Promise.all(Array.from({ length: 20 }, () => dueOnArrival.current()));
    const again = await dueOnArrival.current();

    // Assess
    expect(new Set(together).size).toBe(1);
    expect(again).toBe(together[0]);
    expect(credentialRequests(inspectionId) - before).toBe(2);
  });

  it('keeps valid credentials, and refreshes once for many callers refused with the same credentials', async () => {
    // Prepare
    const inspectionId = await newInspectionId();
    const credentials = new InspectionCredentials(api, inspectionId);
    const refused = await credentials.current();
    const before = credentialRequests(inspectionId);

    // Act
    const cached = await credentials.current();
    const concurrent = await Promise.all([
      credentials.refresh(refused),
      credentials.refresh(),
      credentials.refresh(refused),
    ]);
    const late = await credentials.refresh(refused);

    // Assess
    expect(cached).toBe(refused);
    expect(new Set(concurrent).size).toBe(1);
    expect(concurrent[0]).not.toBe(refused);
    expect(late).toBe(concurrent[0]);
    expect(credentialRequests(inspectionId) - before).toBe(1);
    expect(credentials.isDue(late)).toBe(false);
  });
});
