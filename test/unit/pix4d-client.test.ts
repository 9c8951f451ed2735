import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../local/s3/embedded-s3';
import { DEFAULT_SIMULATOR_SETTINGS } from '../../local/simulator/settings';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { type Pix4dClientOptions, Pix4dInspectClient } from '../../src/pix4d/client';
import {
  ImageRegistrationMismatchError,
  Pix4dAuthenticationError,
  Pix4dBadRequestError,
  Pix4dClientError,
  Pix4dForbiddenError,
  Pix4dNotFoundError,
  Pix4dServerError,
  Pix4dTimeoutError,
  Pix4dUnauthorizedError,
  Pix4dUnexpectedResponseError,
} from '../../src/pix4d/errors';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';
import type { TemporaryS3Credentials } from '../../src/pix4d/temporary-s3-credentials';
import { rejectionOf } from '../helpers/rejection';

const account = {
  username: 'drone.ops+client-test@example.com',
  password: 'Pa55-client-test-Zq9!',
  apiKey: 'apikey-client-test-7f3a9c1e',
};

let simulator: Simulator;

beforeAll(async () => {
  simulator = await startSimulator({ account });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  Object.assign(simulator.settings, DEFAULT_SIMULATOR_SETTINGS);
});

/** A client for the simulator whose waits are recorded and shortened, so retries cost no test time. */
function clientFor(options: Partial<Pix4dClientOptions> = {}) {
  const delays: number[] = [];
  const client = new Pix4dInspectClient({
    account,
    authUrl: simulator.apiUrl,
    apiUrl: simulator.apiUrl,
    requestTimeoutMs: 5_000,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
  return { client, delays };
}

function requestsSince(mark: number) {
  return simulator.requests.slice(mark);
}

function s3ClientFor(credentials: TemporaryS3Credentials): S3Client {
  return createS3Client({
    endpoint: simulator.s3Endpoint,
    region: credentials.region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    },
  });
}

let assetsCreated = 0;

/** An inspection of a new asset; each asset has its own name, as the pipeline's registry keeps them. */
async function newInspection(client: Pix4dInspectClient) {
  assetsCreated += 1;
  const asset = await client.createAsset({ name: `Tower ${assetsCreated}`, type: 1 });
  return client.createInspection({ asset: asset.id, processing_parameters: DEFAULT_PROCESSING_PARAMETERS });
}

type S3Failure = Error & { $metadata: { httpStatusCode: number } };

function expectNoCredentialIn(text: string) {
  expect(text).not.toContain(account.password);
  expect(text).not.toContain(account.apiKey);
  expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
}

describe('the tutorial path, end to end', () => {
  it('creates an asset and an inspection, uploads with the returned credentials, registers, processes and completes', async () => {
    // Prepare
    simulator.settings.processingSeconds = 0.3;
    const { client } = clientFor({ sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const photo = Buffer.from('\xff\xd8\xff\xe0 tutorial photo', 'latin1');

    // Act
    const asset = await client.createAsset({ name: 'Demo Cell Tower', type: 1, latitude: 4.02, longitude: 9.8 });
    const inspection = await client.createInspection({
      asset: asset.id,
      name: 'My first inspection',
      inspection_date: '2026-11-28T10:00:00Z',
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });
    const credentials = await client.getS3Credentials(inspection.id);
    const key = credentials.keyFor('DCIM/100MEDIA/DJI_0389.JPG');
    const s3 = s3ClientFor(credentials);
    await s3.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: photo }));
    s3.destroy();
    const registration = await client.registerImages(inspection.id, [key]);
    const start = await client.startProcessing(inspection.id);
    let detail = await client.getInspection(inspection.id);
    while (detail.status.id !== 7) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      detail = await client.getInspection(inspection.id);
    }

    // Assess
    expect(asset).toMatchObject({ name: 'Demo Cell Tower', type: 1, latitude: '4.02000000' });
    expect(inspection).toMatchObject({ name: 'My first inspection' });
    expect(credentials.keyPrefix).toMatch(/^user-[\w-]+\/project-\d+$/);
    expect(credentials.remainingMs()).toBeGreaterThan(3_000_000);
    expect(registration).toEqual({ registered: 1, calls: 1 });
    expect(start.confirmedByStatus).toBe(false);
    expect(start.status.id).not.toBe(7);
    expect(detail).toMatchObject({ status: { id: 7, name: 'Processing completed' }, report_status: 'available' });
    expect(detail.project_id).toEqual(expect.any(Number));
    const stored = await simulator.embeddedS3
      .client()
      .send(new GetObjectCommand({ Bucket: simulator.bucket, Key: key }));
    expect(Buffer.from(await stored.Body!.transformToByteArray())).toEqual(photo);
  });
});

describe('authentication', () => {
  it('sends the form fields, the API key and the organization header, and caches the token', async () => {
    // Prepare
    const organizationUuid = '3f2b8c1e-0d4a-4e59-9a6b-2c7d8e9f0a1b';
    const organization = await startSimulator({ account: { ...account, organizationUuid } });
    const withHeader = new Pix4dInspectClient({
      account: { ...account, organizationUuid },
      authUrl: organization.apiUrl,
      apiUrl: organization.apiUrl,
    });
    const withoutHeader = new Pix4dInspectClient({
      account,
      authUrl: organization.apiUrl,
      apiUrl: organization.apiUrl,
    });

    try {
      // Act
      const asset = await withHeader.createAsset({ name: 'Org tower', type: 1 });
      await withHeader.createAsset({ name: 'Org tower 2', type: 1 });
      const refused = await rejectionOf(withoutHeader.createAsset({ name: 'No org', type: 1 }));

      // Assess
      expect(asset.id).toEqual(expect.any(Number));
      expect(organization.requests.filter((r) => r.path === '/v1/auth/token/')).toHaveLength(2);
      expect(refused).toBeInstanceOf(Pix4dForbiddenError);
    } finally {
      await organization.close();
    }
  });

  it('authenticates again before the token expires, mid-run', async () => {
    // Prepare
    simulator.settings.tokenTtlSeconds = 1;
    const { client } = clientFor();
    const inspection = await newInspection(client);
    const mark = simulator.requests.length;

    // Act
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await client.getInspection(inspection.id);
    await client.getInspection(inspection.id);

    // Assess
    const seen = requestsSince(mark);
    expect(seen.filter((r) => r.path === '/v1/auth/token/')).toHaveLength(1);
    expect(seen.filter((r) => r.status === 401)).toHaveLength(0);
  });

  it('recovers from a 401 on a revoked token with one new token and one repeat', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    simulator.revokeTokens();
    const mark = simulator.requests.length;

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
    expect(requestsSince(mark).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /v1/inspections/${inspection.id}/ 401`,
      'POST /v1/auth/token/ 200',
      `GET /v1/inspections/${inspection.id}/ 200`,
    ]);
  });

  it('gives up with Pix4dUnauthorizedError when a fresh token is refused too', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({ action: 'answer', status: 401, pathIncludes: '/v1/inspections/' });
    simulator.injectFault({ action: 'answer', status: 401, pathIncludes: '/v1/inspections/' });

    // Act
    const error = await rejectionOf(client.getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dUnauthorizedError);
    expect((error as Pix4dUnauthorizedError).status).toBe(401);
    expectNoCredentialIn((error as Error).message);
  });

  it('shares one authentication between concurrent calls', async () => {
    // Prepare
    const { client } = clientFor();
    const mark = simulator.requests.length;

    // Act
    await Promise.all(Array.from({ length: 5 }, (_, i) => client.createAsset({ name: `Tower ${i}`, type: 1 })));

    // Assess
    expect(requestsSince(mark).filter((r) => r.path === '/v1/auth/token/')).toHaveLength(1);
  });

  it('reports a wrong password as Pix4dAuthenticationError and a wrong API key as Pix4dForbiddenError, without them', async () => {
    // Prepare
    const wrongPassword = clientFor({ account: { ...account, password: 'Wrong-Password-0042' } }).client;
    const wrongKey = clientFor({ account: { ...account, apiKey: 'wrong-api-key-0042' } }).client;

    // Act
    const passwordError = await rejectionOf<Error>(wrongPassword.createAsset({ name: 'x', type: 1 }));
    const keyError = await rejectionOf<Error>(wrongKey.createAsset({ name: 'x', type: 1 }));

    // Assess
    expect(passwordError).toBeInstanceOf(Pix4dAuthenticationError);
    expect(passwordError.name).toBe('Pix4dAuthenticationError');
    expect(passwordError.message).toContain('POST /v1/auth/token/');
    expect(passwordError.message).not.toContain('Wrong-Password-0042');
    expect(keyError).toBeInstanceOf(Pix4dForbiddenError);
    expect(keyError.message).toContain('403');
    expect(keyError.message).not.toContain('wrong-api-key-0042');
  });
});

describe('retries', () => {
  it('waits at least Retry-After on a 429, then succeeds', async () => {
    // Prepare
    const { client, delays } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: 3,
      pathIncludes: `/inspections/${inspection.id}/`,
    });

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(3_000);
  });

  it('rides out a burst of 502, 503 and 504 with growing, jittered delays', async () => {
    // Prepare
    const { client, delays } = clientFor({ random: () => 0.999 });
    const inspection = await newInspection(client);
    for (const status of [502, 503, 504, 503]) {
      simulator.injectFault({ action: 'answer', status, pathIncludes: `/inspections/${inspection.id}/` });
    }

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
    expect(delays).toHaveLength(4);
    expect(delays.every((delay, i) => i === 0 || delay > delays[i - 1]!)).toBe(true);
    expect(delays[0]).toBeLessThan(500);
  });

  it('stops after the attempt budget with Pix4dServerError naming status and endpoint', async () => {
    // Prepare
    const { client, delays } = clientFor({
      backoff: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, maxTotalMs: 10_000 },
    });
    const inspection = await newInspection(client);
    for (let i = 0; i < 5; i++)
      simulator.injectFault({ action: 'answer', status: 503, pathIncludes: `/inspections/${inspection.id}/` });

    // Act
    const error = await rejectionOf<Pix4dServerError>(client.getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dServerError);
    expect(error.transient).toBe(true);
    expect(error.status).toBe(503);
    expect(error.endpoint).toBe(`GET /v1/inspections/${inspection.id}/`);
    expect(delays).toHaveLength(2);
  });

  it('stops when the next wait would pass the total time budget', async () => {
    // Prepare
    const { client, delays } = clientFor({
      backoff: { maxAttempts: 10, baseDelayMs: 10, maxDelayMs: 100, maxTotalMs: 2_000 },
    });
    const inspection = await newInspection(client);
    simulator.injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: 5,
      pathIncludes: `/inspections/${inspection.id}/`,
    });

    // Act
    const error = await rejectionOf<Error>(client.getInspection(inspection.id));

    // Assess
    expect(error.name).toBe('Pix4dThrottledError');
    expect(delays).toHaveLength(0);
  });

  it('cuts a request that does not answer in time and repeats it', async () => {
    // Prepare
    const { client } = clientFor({ requestTimeoutMs: 300 });
    const inspection = await newInspection(client);
    simulator.injectFault({ action: 'delay', ms: 1_500, pathIncludes: `/inspections/${inspection.id}/` });

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
  });

  it('reports Pix4dTimeoutError when every attempt times out', async () => {
    // Prepare
    const { client } = clientFor({
      requestTimeoutMs: 200,
      backoff: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 5_000 },
    });
    const inspection = await newInspection(client);
    for (let i = 0; i < 2; i++)
      simulator.injectFault({ action: 'delay', ms: 1_000, pathIncludes: `/inspections/${inspection.id}/` });

    // Act
    const error = await rejectionOf<Error>(client.getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dTimeoutError);
    expect(error.message).toContain('200 ms');
  });

  it('repeats after a dropped connection', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({ action: 'disconnect', pathIncludes: `/inspections/${inspection.id}/` });

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
  });

  it('completes a whole run under random 5xx and 429 faults', async () => {
    // Prepare
    Object.assign(simulator.settings, { errorRate: 0.2, rateLimitRate: 0.1, retryAfterSeconds: 0 });
    const { client } = clientFor({ backoff: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 60_000 } });
    const mark = simulator.requests.length;

    // Act
    const inspection = await newInspection(client);
    const credentials = await client.getS3Credentials(inspection.id);
    const keys = ['a.jpg', 'b.jpg', 'c.jpg'].map((name) => credentials.keyFor(name));
    const bucket = simulator.embeddedS3.client();
    await Promise.all(
      keys.map((Key) => bucket.send(new PutObjectCommand({ Bucket: simulator.bucket, Key, Body: 'x' }))),
    );
    const registration = await client.registerImages(inspection.id, keys);
    await client.startProcessing(inspection.id);
    const statuses = [];
    for (let i = 0; i < 15; i++) statuses.push((await client.getInspection(inspection.id)).status);

    // Assess
    expect(registration.registered).toBe(3);
    expect(statuses).toHaveLength(15);
    // About 30% of some 25 requests fail; that none does is a 1-in-7,000 chance.
    expect(requestsSince(mark).filter((r) => r.fault === 'injected').length).toBeGreaterThan(0);
  });
});

describe('errors for other 4xx answers', () => {
  it('maps 400 to Pix4dBadRequestError with endpoint, status and the answer excerpt', async () => {
    // Prepare
    const { client } = clientFor();

    // Act
    const error = await rejectionOf<Pix4dBadRequestError>(
      client.createInspection({ asset: 999_999, processing_parameters: DEFAULT_PROCESSING_PARAMETERS }),
    );

    // Assess
    expect(error).toBeInstanceOf(Pix4dBadRequestError);
    expect(error.status).toBe(400);
    expect(error.endpoint).toBe('POST /v1/inspections/');
    expect(error.bodyExcerpt).toContain('999999');
    expectNoCredentialIn(error.message);
  });

  it('maps 404 to Pix4dNotFoundError', async () => {
    // Prepare
    const { client } = clientFor();

    // Act
    const error = await rejectionOf<Error>(client.getInspection(987_654));

    // Assess
    expect(error).toBeInstanceOf(Pix4dNotFoundError);
    expect(error.message).toContain('GET /v1/inspections/987654/');
  });

  it('maps any other 4xx to Pix4dClientError and never repeats it', async () => {
    // Prepare
    const { client, delays } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({ action: 'answer', status: 409, pathIncludes: `/inspections/${inspection.id}/` });

    // Act
    const error = await rejectionOf<Pix4dClientError>(client.getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dClientError);
    expect(error.status).toBe(409);
    expect(delays).toHaveLength(0);
  });

  it('removes credentials the service echoes back from the excerpt', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({
      action: 'answer',
      status: 400,
      body: {
        detail: `bad request from ${account.username} with key ${account.apiKey} and password ${account.password}`,
      },
      pathIncludes: `/inspections/${inspection.id}/`,
    });

    // Act
    const error = await rejectionOf<Error>(client.getInspection(inspection.id));

    // Assess
    expect(error.message).toContain('[redacted]');
    expectNoCredentialIn(error.message);
    expect(error.message).not.toContain(account.username);
  });

  it('rejects an answer of the wrong shape with Pix4dUnexpectedResponseError naming the field', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({
      action: 'answer',
      status: 200,
      body: { id: 'not-a-number', status: {} },
      pathIncludes: `/inspections/${inspection.id}/`,
    });

    // Act
    const error = await rejectionOf<Error>(client.getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dUnexpectedResponseError);
    expect(error.message).toMatch(/\bid\b/);
    expect(error.message).toContain('status.id');
  });
});

describe('image registration', () => {
  it('registers 1,200 images in calls of fewer than 500 keys and checks the count', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    const credentials = await client.getS3Credentials(inspection.id);
    const keys = Array.from({ length: 1_200 }, (_, i) => credentials.keyFor(`DCIM/${String(i).padStart(4, '0')}.JPG`));
    const bucket = simulator.embeddedS3.client();
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys
          .slice(i, i + 50)
          .map((Key) => bucket.send(new PutObjectCommand({ Bucket: simulator.bucket, Key, Body: 'x' }))),
      );
    }
    const mark = simulator.requests.length;

    // Act
    const registration = await client.registerImages(inspection.id, keys);

    // Assess
    expect(registration).toEqual({ registered: 1_200, calls: 3 });
    const calls = requestsSince(mark).filter((r) => r.path.endsWith('/register_images/'));
    expect(calls.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('throws ImageRegistrationMismatchError when the service registers fewer than sent', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    simulator.injectFault({
      action: 'answer',
      status: 200,
      body: { nb_images_registered: 1 },
      pathIncludes: '/register_images/',
    });

    // Act
    const error = await rejectionOf<ImageRegistrationMismatchError>(
      client.registerImages(inspection.id, ['p/a.jpg', 'p/b.jpg']),
    );

    // Assess
    expect(error).toBeInstanceOf(ImageRegistrationMismatchError);
    expect(error.message).toContain('sent 2');
    expect(error.message).toContain('registered 1');
  });
});

describe('starting processing consumes allowance', () => {
  async function readyInspection(client: Pix4dInspectClient) {
    const inspection = await newInspection(client);
    const credentials = await client.getS3Credentials(inspection.id);
    const key = credentials.keyFor('DJI_0001.JPG');
    await simulator.embeddedS3.client().send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));
    await client.registerImages(inspection.id, [key]);
    return inspection;
  }

  it('after a lost answer, reads the status and does not send process/ again', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await readyInspection(client);
    simulator.injectFault({ action: 'lose-answer', status: 502, pathIncludes: '/process/' });
    const mark = simulator.requests.length;

    // Act
    const start = await client.startProcessing(inspection.id);

    // Assess
    expect(start.confirmedByStatus).toBe(true);
    const processCalls = requestsSince(mark).filter((r) => r.path.endsWith('/process/'));
    expect(processCalls).toEqual([expect.objectContaining({ status: 502, fault: 'lost answer' })]);
  });

  it('after a failure that had no effect, sends process/ again once the status shows it did not start', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await readyInspection(client);
    simulator.injectFault({ action: 'answer', status: 503, pathIncludes: '/process/' });
    const mark = simulator.requests.length;

    // Act
    const start = await client.startProcessing(inspection.id);

    // Assess
    expect(start.confirmedByStatus).toBe(false);
    const processCalls = requestsSince(mark).filter((r) => r.path.endsWith('/process/'));
    expect(processCalls.map((r) => r.status)).toEqual([503, 202]);
  });

  it('refuses processing twice with Pix4dBadRequestError', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await readyInspection(client);
    await client.startProcessing(inspection.id);

    // Act
    const error = await rejectionOf<Error>(client.startProcessing(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dBadRequestError);
  });
});

describe('temporary S3 credentials', () => {
  it('carry every field of the answer, judged against the service clock, and never print their secrets', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 600;
    const { client } = clientFor();
    const inspection = await newInspection(client);

    // Act
    const credentials = await client.getS3Credentials(inspection.id);
    const printed = [
      JSON.stringify(credentials),
      inspect(credentials),
      `${JSON.stringify({ state: credentials })}`,
    ].join('\n');

    // Assess
    expect(credentials.bucket).toBe(simulator.bucket);
    expect(credentials.region).toBe('us-east-1');
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(credentials.expiration.getTime() - credentials.serverTime.getTime()).toBe(
      600_000 - credentials.serverTime.getMilliseconds(),
    );
    expect(credentials.remainingMs()).toBeGreaterThan(590_000);
    expect(printed).not.toContain(credentials.secretAccessKey);
    expect(printed).not.toContain(credentials.sessionToken);
    expect(printed).toContain(credentials.accessKeyId);
  });

  it('are refused by S3 once expired (400 ExpiredToken) and outside the prefix (403 AccessDenied)', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 1;
    const { client } = clientFor();
    const inspection = await newInspection(client);
    const credentials = await client.getS3Credentials(inspection.id);
    const s3 = s3ClientFor(credentials);

    // Act
    const outside = await rejectionOf<S3Failure>(
      s3.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: 'someone-else/photo.jpg', Body: 'x' })),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const expired = await rejectionOf<S3Failure>(
      s3.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: credentials.keyFor('late.jpg'), Body: 'x' })),
    );
    s3.destroy();

    // Assess
    expect(outside.name).toBe('AccessDenied');
    expect(outside.$metadata.httpStatusCode).toBe(403);
    expect(expired.name).toBe('ExpiredToken');
    expect(expired.$metadata.httpStatusCode).toBe(400);
    expect(credentials.remainingMs()).toBeLessThanOrEqual(0);
  });

  it('write a large photo by multipart, byte-identical', async () => {
    // Prepare
    const { client } = clientFor();
    const inspection = await newInspection(client);
    const credentials = await client.getS3Credentials(inspection.id);
    const body = Buffer.alloc(11 * 1024 * 1024, 7);
    body.write('multipart check', 5_000_000);
    const { Upload } = await import('@aws-sdk/lib-storage');
    const s3 = s3ClientFor(credentials);
    const key = credentials.keyFor('video/flight.mp4');

    // Act
    await new Upload({
      client: s3,
      params: { Bucket: credentials.bucket, Key: key, Body: body },
      partSize: 5 * 1024 * 1024,
    }).done();
    s3.destroy();

    // Assess
    const stored = await simulator.embeddedS3
      .client()
      .send(new GetObjectCommand({ Bucket: simulator.bucket, Key: key }));
    const bytes = Buffer.from(await stored.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });
});
