import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createS3Client } from '../../local/s3/embedded-s3.js';
import { NodeSha256 } from '../../local/simulator/s3-request.js';
import type { SimulatorSettings } from '../../local/simulator/settings.js';
import { type Simulator, startSimulator } from '../../local/simulator/simulator.js';
import { DEFAULT_PROCESSING_PARAMETERS, type s3CredentialsResponseSchema } from '../../src/pix4d/schemas';

/**
 * The simulator's S3 endpoint, spoken to with SDK clients built from the `s3_credentials/` answer: it must accept
 * what the inspection's temporary credentials allow, store it byte for byte in the embedded server, and refuse
 * everything else with S3's own error codes.
 */

/** The raw `s3_credentials/` answer, as the service sends it. */
type S3Credentials = z.input<typeof s3CredentialsResponseSchema>;

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const PROCESSING_PARAMETERS = DEFAULT_PROCESSING_PARAMETERS;

let simulator: Simulator;
let initialSettings: SimulatorSettings;
let apiHeaders: Record<string, string>;
let assetId: number;
let credentials: S3Credentials;
let client: S3Client;
let direct: S3Client;
const clients: S3Client[] = [];

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function newInspectionCredentials(): Promise<S3Credentials> {
  const created = await fetch(`${simulator.apiUrl}/v1/inspections/`, {
    method: 'POST',
    headers: apiHeaders,
    body: JSON.stringify({ asset: assetId, processing_parameters: PROCESSING_PARAMETERS }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: number };
  const answer = await fetch(`${simulator.apiUrl}/v1/inspections/${id}/s3_credentials/`, { headers: apiHeaders });
  expect(answer.status).toBe(200);
  return (await answer.json()) as S3Credentials;
}

/** A client of the simulator's S3 endpoint, as a user of the tutorial would build it from s3_credentials. */
function gatewayClient(
  from: S3Credentials,
  overrides: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string | undefined } = {},
  config: Omit<S3ClientConfig, 'endpoint' | 'credentials'> = {},
): S3Client {
  const sessionToken = 'sessionToken' in overrides ? overrides.sessionToken : from.session_token;
  const created = createS3Client({
    endpoint: simulator.s3Endpoint,
    region: from.region ?? 'us-east-1',
    credentials: {
      accessKeyId: overrides.accessKeyId ?? from.access_key,
      secretAccessKey: overrides.secretAccessKey ?? from.secret_key,
      ...(sessionToken === undefined ? {} : { sessionToken }),
    },
    maxAttempts: 1,
    ...config,
  });
  clients.push(created);
  return created;
}

async function readDirect(key: string): Promise<Uint8Array> {
  const object = await direct.send(new GetObjectCommand({ Bucket: simulator.bucket, Key: key }));
  return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
}

async function existsDirect(key: string): Promise<boolean> {
  try {
    await direct.send(new HeadObjectCommand({ Bucket: simulator.bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as SdkError).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

/** Runs the send and returns the SDK error it failed with (fails the test when it succeeds). */
async function refusal(send: Promise<unknown>): Promise<{ code: string | undefined; status: number | undefined }> {
  const error = await send.then(
    () => undefined,
    (caught: unknown) => caught as SdkError,
  );
  expect(error, 'the request was expected to be refused').toBeDefined();
  return { code: error?.Code ?? error?.name, status: error?.$metadata?.httpStatusCode };
}

/**
 * A plain `fetch` of an object through the simulator's S3 endpoint, SigV4-signed with `from` and `sessionToken`
 * (null: none).
 */
async function signedFetch(
  method: 'GET' | 'HEAD',
  from: S3Credentials,
  key: string,
  sessionToken: string | null = from.session_token,
): Promise<Response> {
  const url = new URL(`${simulator.s3Endpoint}/${from.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`);
  const signer = new SignatureV4({
    service: 's3',
    region: from.region ?? 'us-east-1',
    credentials: {
      accessKeyId: from.access_key,
      secretAccessKey: from.secret_key,
      ...(sessionToken === null ? {} : { sessionToken }),
    },
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  return fetch(url, { method, headers: signed.headers });
}

/** What a plain HTTP client receives: status, the headers that matter here, and the body as text. */
async function received(answer: Response) {
  return {
    status: answer.status,
    contentType: answer.headers.get('content-type'),
    requestId: answer.headers.get('x-amz-request-id'),
    body: await answer.text(),
  };
}

beforeAll(async () => {
  simulator = await startSimulator();
  initialSettings = { ...simulator.settings };
  const { username, password, apiKey } = simulator.account;
  const tokenAnswer = await fetch(`${simulator.apiUrl}/v1/auth/token/`, {
    method: 'POST',
    headers: { 'X-Api-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const { api_token } = (await tokenAnswer.json()) as { api_token: string };
  apiHeaders = { Authorization: `Bearer ${api_token}`, 'X-Api-Key': apiKey, 'Content-Type': 'application/json' };
  const asset = await fetch(`${simulator.apiUrl}/v1/assets/`, {
    method: 'POST',
    headers: apiHeaders,
    body: JSON.stringify({ name: 'Demo Cell Tower', type: 1 }),
  });
  assetId = ((await asset.json()) as { id: number }).id;
  credentials = await newInspectionCredentials();
  client = gatewayClient(credentials);
  direct = simulator.embeddedS3.client();
});

afterEach(() => {
  Object.assign(simulator.settings, initialSettings);
});

afterAll(async () => {
  for (const created of clients) created.destroy();
  await simulator?.close();
});

describe('accepted writes', () => {
  it('stores a PutObject under the prefix byte for byte', async () => {
    // Prepare
    const body = randomBytes(256 * 1024);
    const key = `${credentials.key}/DJI_0001.JPG`;

    // Act
    const answer = await client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: body }));

    // Assess
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(sha256(await readDirect(key))).toBe(sha256(body));
  });

  it('handles keys with spaces, +, %, unicode and sub-folders (write, read back, list)', async () => {
    // Prepare
    const names = [
      'flight 1/DJI 0001.JPG',
      'a+b/c+d.jpg',
      '100% done/IMG%201.jpg',
      'tür/ĉielo ✓ 写真.jpg',
      'deep/er/and/deeper/x.jpg',
      "odd!'()*~=&;,$@ chars.jpg",
    ];
    const bodies = names.map((name) => Buffer.from(`photo ${name} ${randomBytes(8).toString('hex')}`));
    const keys = names.map((name) => `${credentials.key}/awkward/${name}`);

    // Act
    for (const [index, key] of keys.entries()) {
      await client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: bodies[index] }));
    }
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: credentials.bucket, Prefix: `${credentials.key}/awkward/` }),
    );

    // Assess
    for (const [index, key] of keys.entries()) {
      expect(sha256(await readDirect(key)), key).toBe(sha256(bodies[index] as Buffer));
      const viaGateway = await client.send(new GetObjectCommand({ Bucket: credentials.bucket, Key: key }));
      expect(sha256((await viaGateway.Body?.transformToByteArray()) ?? new Uint8Array()), key).toBe(
        sha256(bodies[index] as Buffer),
      );
    }
    expect((listed.Contents ?? []).map((object) => object.Key).sort()).toEqual([...keys].sort());
  });

  it('stores a ~12 MiB multipart Upload (lib-storage, 5 MiB parts) byte for byte', async () => {
    // Prepare
    const body = randomBytes(12 * 1024 * 1024 + 12_345);
    const key = `${credentials.key}/multipart/DJI_0100.JPG`;
    const before = simulator.s3Requests.length;

    // Act
    const upload = new Upload({
      client,
      params: { Bucket: credentials.bucket, Key: key, Body: body },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();

    // Assess
    expect(sha256(await readDirect(key))).toBe(sha256(body));
    const parts = simulator.s3Requests
      .slice(before)
      .filter((request) => request.method === 'PUT' && request.key === key);
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.status).toBe(200);
  });

  it("stores a streamed body sent with the SDK's default checksum behaviour (aws-chunked) byte for byte", async () => {
    // Prepare
    const defaultClient = gatewayClient(
      credentials,
      {},
      { requestChecksumCalculation: 'WHEN_SUPPORTED', responseChecksumValidation: 'WHEN_SUPPORTED' },
    );
    const sent: Record<string, string>[] = [];
    defaultClient.middlewareStack.add(
      (next) => async (args) => {
        sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'observeSentHeaders' },
    );
    const chunks = Array.from({ length: 8 }, () => randomBytes(100_000 + Math.floor(Math.random() * 1_000)));
    const body = Buffer.concat(chunks);
    const key = `${credentials.key}/streamed/DJI_0200.JPG`;

    // Act
    await defaultClient.send(
      new PutObjectCommand({
        Bucket: credentials.bucket,
        Key: key,
        Body: Readable.from(chunks),
        ContentLength: body.length,
      }),
    );

    // Assess
    const headers = sent.at(-1) ?? {};
    const chunked =
      /aws-chunked/i.test(headers['content-encoding'] ?? '') ||
      (headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
    expect(chunked, `the SDK did not send aws-chunked: ${JSON.stringify(headers)}`).toBe(true);
    const stored = await readDirect(key);
    expect(stored.length).toBe(body.length);
    expect(sha256(stored)).toBe(sha256(body));
  });

  it('lists with a prefix inside the inspection prefix', async () => {
    // Prepare
    const keys = [`${credentials.key}/list/a.jpg`, `${credentials.key}/list/b.jpg`];
    for (const key of keys)
      await client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' }));

    // Act
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: credentials.bucket, Prefix: `${credentials.key}/list/` }),
    );

    // Assess
    expect(listed.$metadata.httpStatusCode).toBe(200);
    expect((listed.Contents ?? []).map((object) => object.Key).sort()).toEqual(keys);
  });
});

describe('refusals', () => {
  it('refuses a write outside the prefix with 403 AccessDenied', async () => {
    // Prepare
    const other = await newInspectionCredentials();
    const keys = [
      `${other.key}/DJI_0001.JPG`,
      `${credentials.key}-sibling/DJI_0001.JPG`,
      `${credentials.key}/../${other.key.split('/').at(-1)}/DJI_0002.JPG`,
      'DJI_0001.JPG',
    ];

    // Act
    const refusals = [];
    for (const key of keys)
      refusals.push(
        await refusal(client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' }))),
      );

    // Assess
    for (const refused of refusals) expect(refused).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await existsDirect(`${other.key}/DJI_0001.JPG`)).toBe(false);
    expect(await existsDirect(`${other.key}/DJI_0002.JPG`)).toBe(false);
    expect(await existsDirect('DJI_0001.JPG')).toBe(false);
  });

  it('refuses another bucket with 403 AccessDenied', async () => {
    // Prepare
    await simulator.embeddedS3.createBucket('someone-elses-bucket');
    const key = `${credentials.key}/DJI_0001.JPG`;

    // Act
    const refused = await refusal(
      client.send(new PutObjectCommand({ Bucket: 'someone-elses-bucket', Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused).toEqual({ code: 'AccessDenied', status: 403 });
    const stolen = await refusal(direct.send(new HeadObjectCommand({ Bucket: 'someone-elses-bucket', Key: key })));
    expect(stolen.status).toBe(404);
  });

  it('refuses an unknown access key with 403 InvalidAccessKeyId', async () => {
    // Prepare
    const stranger = gatewayClient(credentials, { accessKeyId: 'ASIAUNKNOWN000000000' });
    const key = `${credentials.key}/unknown-key.jpg`;

    // Act
    const refused = await refusal(
      stranger.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    expect(await existsDirect(key)).toBe(false);
  });

  it('refuses a wrong secret with 403 SignatureDoesNotMatch', async () => {
    // Prepare
    // Another last character, whatever the real one is (a random secret ends with X one time in 64).
    const last = credentials.secret_key.endsWith('X') ? 'Y' : 'X';
    const forger = gatewayClient(credentials, { secretAccessKey: `${credentials.secret_key.slice(0, -1)}${last}` });
    const key = `${credentials.key}/wrong-secret.jpg`;

    // Act
    const refused = await refusal(
      forger.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(await existsDirect(key)).toBe(false);
  });

  it('refuses a wrong session token with 400 InvalidToken', async () => {
    // Prepare
    const other = await newInspectionCredentials();
    const mixed = gatewayClient(credentials, { sessionToken: other.session_token });
    const key = `${credentials.key}/wrong-token.jpg`;

    // Act
    const refused = await refusal(
      mixed.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused).toEqual({ code: 'InvalidToken', status: 400 });
    expect(await existsDirect(key)).toBe(false);
  });

  it('refuses a temporary access key sent without its session token with 403 InvalidAccessKeyId', async () => {
    // Prepare
    const tokenless = gatewayClient(credentials, { sessionToken: undefined });
    const key = `${credentials.key}/no-token.jpg`;

    // Act
    const refused = await refusal(
      tokenless.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    expect(await existsDirect(key)).toBe(false);
  });

  it('refuses expired credentials with 400 ExpiredToken, and a HeadObject with them with a bare 400', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 1;
    const shortLived = await newInspectionCredentials();
    const shortClient = gatewayClient(shortLived);
    const existing = `${shortLived.key}/before.jpg`;
    const before = await shortClient.send(
      new PutObjectCommand({ Bucket: shortLived.bucket, Key: existing, Body: 'x' }),
    );
    await sleep(1_200);
    const key = `${shortLived.key}/after.jpg`;
    const mark = simulator.s3Requests.length;

    // Act
    const refusedPut = await refusal(
      shortClient.send(new PutObjectCommand({ Bucket: shortLived.bucket, Key: key, Body: 'x' })),
    );
    const refusedHead = await refusal(
      shortClient.send(new HeadObjectCommand({ Bucket: shortLived.bucket, Key: existing })),
    );

    // Assess
    expect(before.$metadata.httpStatusCode).toBe(200);
    expect(refusedPut).toEqual({ code: 'ExpiredToken', status: 400 });
    // Without a body the SDK learns no code: it names the error `Unknown`.
    expect(refusedHead).toEqual({ code: 'Unknown', status: 400 });
    expect(simulator.s3Requests.slice(mark)).toEqual([
      { method: 'PUT', key, status: 400, code: 'ExpiredToken' },
      { method: 'HEAD', key: existing, status: 400, code: 'ExpiredToken' },
    ]);
    expect(await existsDirect(key)).toBe(false);
  });

  it("refuses the embedded S3 server's own S3RVER keys", async () => {
    // Prepare
    const insider = createS3Client({
      endpoint: simulator.s3Endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    clients.push(insider);
    const key = `${credentials.key}/insider.jpg`;

    // Act
    const refused = await refusal(
      insider.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('InvalidAccessKeyId');
    expect(await existsDirect(key)).toBe(false);
  });

  it('refuses an anonymous fetch PUT with 403', async () => {
    // Prepare
    const key = `${credentials.key}/anonymous.jpg`;
    const url = `${simulator.s3Endpoint}/${credentials.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

    // Act
    const answer = await fetch(url, { method: 'PUT', body: 'anonymous bytes' });

    // Assess
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain('<Code>AccessDenied</Code>');
    expect(await existsDirect(key)).toBe(false);
  });

  it('refuses DeleteObject of an object under the prefix with 403 AccessDenied', async () => {
    // Prepare
    const key = `${credentials.key}/keep-me.jpg`;
    await client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'keep' }));

    // Act
    const refused = await refusal(client.send(new DeleteObjectCommand({ Bucket: credentials.bucket, Key: key })));

    // Assess
    expect(refused).toEqual({ code: 'AccessDenied', status: 403 });
    expect(Buffer.from(await readDirect(key)).toString()).toBe('keep');
  });

  it("refuses a key that names another inspection's prefix and climbs back with `..` (403 AccessDenied, as S3's literal key match would)", async () => {
    // Prepare
    const other = await newInspectionCredentials();
    const mine = credentials.key.split('/').at(-1) as string;
    // Literally below the OTHER inspection's prefix; only a path normalisation makes it look like ours.
    const key = `${other.key}/../${mine}/climbed.jpg`;

    // Act
    const refused = await refusal(
      client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'x' })),
    );

    // Assess
    expect(refused).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await existsDirect(`${credentials.key}/climbed.jpg`)).toBe(false);
  });

  it('refuses DeleteObjects (bulk delete) of objects under the prefix with 403 AccessDenied', async () => {
    // Prepare
    const key = `${credentials.key}/keep-me-too.jpg`;
    await client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: key, Body: 'keep' }));

    // Act
    const refused = await refusal(
      client.send(new DeleteObjectsCommand({ Bucket: credentials.bucket, Delete: { Objects: [{ Key: key }] } })),
    );

    // Assess
    expect(refused).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await existsDirect(key)).toBe(true);
  });

  it("refuses CopyObject from another inspection's prefix into this one with 403 AccessDenied", async () => {
    // Prepare
    const other = await newInspectionCredentials();
    const source = `${other.key}/secret.jpg`;
    await direct.send(new PutObjectCommand({ Bucket: simulator.bucket, Key: source, Body: 'not yours' }));
    const target = `${credentials.key}/copied.jpg`;

    // Act
    const refused = await refusal(
      client.send(
        new CopyObjectCommand({
          Bucket: credentials.bucket,
          Key: target,
          CopySource: `${credentials.bucket}/${source}`,
        }),
      ),
    );

    // Assess
    expect(refused).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await existsDirect(target)).toBe(false);
  });

  it('refuses ListObjectsV2 without a prefix, or with a prefix outside the inspection', async () => {
    // Prepare
    const other = await newInspectionCredentials();

    // Act
    const noPrefix = await refusal(client.send(new ListObjectsV2Command({ Bucket: credentials.bucket })));
    const otherPrefix = await refusal(
      client.send(new ListObjectsV2Command({ Bucket: credentials.bucket, Prefix: `${other.key}/` })),
    );
    const userPrefix = await refusal(
      client.send(
        new ListObjectsV2Command({ Bucket: credentials.bucket, Prefix: `${credentials.key.split('/')[0]}/` }),
      ),
    );

    // Assess
    expect(noPrefix).toEqual({ code: 'AccessDenied', status: 403 });
    expect(otherPrefix).toEqual({ code: 'AccessDenied', status: 403 });
    expect(userPrefix).toEqual({ code: 'AccessDenied', status: 403 });
  });

  it('records the refusals in simulator.s3Requests', async () => {
    // Prepare
    const before = simulator.s3Requests.length;
    const stranger = gatewayClient(credentials, { accessKeyId: 'ASIAUNKNOWN000000001' });
    const forger = gatewayClient(credentials, { secretAccessKey: 'not-the-secret' });
    const tokenless = gatewayClient(credentials, { sessionToken: 'not-the-token' });
    const outside = `${credentials.key}-elsewhere/x.jpg`;

    // Act
    await refusal(client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: outside, Body: 'x' })));
    await refusal(
      stranger.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: `${credentials.key}/s.jpg`, Body: 'x' })),
    );
    await refusal(
      forger.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: `${credentials.key}/f.jpg`, Body: 'x' })),
    );
    await refusal(
      tokenless.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: `${credentials.key}/t.jpg`, Body: 'x' })),
    );

    // Assess
    const recorded = simulator.s3Requests.slice(before);
    expect(recorded).toEqual([
      { method: 'PUT', key: outside, status: 403, code: 'AccessDenied' },
      { method: 'PUT', key: `${credentials.key}/s.jpg`, status: 403, code: 'InvalidAccessKeyId' },
      { method: 'PUT', key: `${credentials.key}/f.jpg`, status: 403, code: 'SignatureDoesNotMatch' },
      { method: 'PUT', key: `${credentials.key}/t.jpg`, status: 400, code: 'InvalidToken' },
    ]);
  });
});

describe('refusals on the wire', () => {
  it('answers a HEAD with expired credentials with a bare 400, and a GET with the ExpiredToken document', async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 1;
    const shortLived = await newInspectionCredentials();
    const key = `${shortLived.key}/wire-expired.jpg`;
    await direct.send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));
    const beforeExpiry = await received(await signedFetch('HEAD', shortLived, key));
    await sleep(1_200);

    // Act
    const head = await received(await signedFetch('HEAD', shortLived, key));
    const get = await received(await signedFetch('GET', shortLived, key));

    // Assess
    expect(beforeExpiry.status).toBe(200);
    expect(head).toEqual({
      status: 400,
      contentType: 'application/xml',
      requestId: expect.stringMatching(/^[0-9A-F]{16}$/),
      body: '',
    });
    expect(get.status).toBe(400);
    expect(get.body).toContain('<Code>ExpiredToken</Code>');
    expect(get.body).toContain('<Message>The provided token has expired.</Message>');
    expect(get.body).toContain(`<RequestId>${get.requestId}</RequestId>`);
  });

  it('answers a HEAD without the session token with a bare 403, and a GET with InvalidAccessKeyId', async () => {
    // Prepare
    const key = `${credentials.key}/wire-tokenless.jpg`;
    await direct.send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));

    // Act
    const head = await received(await signedFetch('HEAD', credentials, key, null));
    const get = await received(await signedFetch('GET', credentials, key, null));

    // Assess
    expect(head).toMatchObject({ status: 403, body: '' });
    expect(get.status).toBe(403);
    expect(get.body).toContain('<Code>InvalidAccessKeyId</Code>');
  });

  it('answers a HEAD with a malformed session token with a bare 400, and a GET with InvalidToken', async () => {
    // Prepare
    const key = `${credentials.key}/wire-bad-token.jpg`;
    await direct.send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));

    // Act
    const head = await received(await signedFetch('HEAD', credentials, key, 'not-a-session-token'));
    const get = await received(await signedFetch('GET', credentials, key, 'not-a-session-token'));

    // Assess
    expect(head).toMatchObject({ status: 400, body: '' });
    expect(get.status).toBe(400);
    expect(get.body).toContain('<Code>InvalidToken</Code>');
    expect(get.body).toContain('<Message>The provided token is malformed or otherwise invalid.</Message>');
  });

  it('answers a HEAD of a missing object under the prefix with a bare 404', async () => {
    // Prepare
    const key = `${credentials.key}/wire-missing.jpg`;

    // Act
    const head = await received(await signedFetch('HEAD', credentials, key));

    // Assess
    expect(head).toMatchObject({ status: 404, body: '' });
  });
});
