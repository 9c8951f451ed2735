import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorSettings } from '../../local/simulator/settings.js';
import { type Simulator, startSimulator } from '../../local/simulator/simulator.js';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';

/**
 * The simulated Pix4Dinspect API, spoken to over HTTP only (global fetch and the real curl), to show it is as
 * strict as the service: 403 for the API key, 401 for the token, 400 with field errors, 404, 405, the documented
 * limits, the status progression and the injected faults.
 */

const run = promisify(execFile);
const CURL = '/usr/bin/curl';

const PROCESSING_PARAMETERS = DEFAULT_PROCESSING_PARAMETERS;
const IN_PROGRESS_STATUS_IDS = [3, 4, 6];

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** The raw `s3_credentials/` answer, as the service sends it. */
/** The simulator's `s3_credentials/` answer: every field a string, as in the tutorial's example. */
type S3Credentials = Record<
  'access_key' | 'secret_key' | 'session_token' | 'expiration' | 'bucket' | 'key' | 'server_time' | 'region',
  string
>;

interface InspectionView {
  id: number;
  project_id: number | null;
  status: { id: number; name: string };
  pcs_task_uuid: string | null;
  report_status: string;
}

let simulator: Simulator;
let bucketClient: S3Client;
let token: string;
let assetId: number;
let initialSettings: SimulatorSettings;

function apiHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Authorization: `Bearer ${token}`,
    'X-Api-Key': simulator.account.apiKey,
    'Content-Type': 'application/json',
    ...extra,
  };
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; baseUrl?: string } = {},
): Promise<Answer> {
  const response = await fetch(`${options.baseUrl ?? simulator.apiUrl}${path}`, {
    method,
    headers: options.headers ?? apiHeaders(),
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

async function requestToken(baseUrl: string, username: string, password: string, apiKey: string): Promise<string> {
  const answer = await call('POST', '/v1/auth/token/', {
    baseUrl,
    headers: { 'X-Api-Key': apiKey, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  expect(answer.status).toBe(200);
  return (answer.body as { api_token: string }).api_token;
}

async function createInspection(): Promise<{ id: number; key: string }> {
  const created = await call('POST', '/v1/inspections/', {
    body: { asset: assetId, processing_parameters: PROCESSING_PARAMETERS },
  });
  expect(created.status).toBe(201);
  const id = (created.body as { id: number }).id;
  const credentials = await call('GET', `/v1/inspections/${id}/s3_credentials/`);
  expect(credentials.status).toBe(200);
  return { id, key: (credentials.body as S3Credentials).key };
}

/** Puts objects into the simulator's bucket directly through the embedded server (no credential checks). */
async function putObjects(keys: readonly string[]): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < keys.length) {
      const key = keys[next++] as string;
      await bucketClient.send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: `photo ${key}` }));
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** An inspection with `count` uploaded and registered images, ready for `process/`. */
async function registeredInspection(count = 2): Promise<{ id: number; key: string }> {
  const inspection = await createInspection();
  const keys = Array.from(
    { length: count },
    (_, index) => `${inspection.key}/DJI_${String(index).padStart(4, '0')}.JPG`,
  );
  await putObjects(keys);
  const registered = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
    body: { image_keys: keys },
  });
  expect(registered.status).toBe(200);
  return inspection;
}

/** Every key of a (possibly nested) DRF-style field-error body, dotted. */
function errorFields(body: unknown, prefix = ''): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  return Object.entries(body as Record<string, unknown>).flatMap(([name, value]) => {
    const field = prefix ? `${prefix}.${name}` : name;
    return Array.isArray(value) ? [field] : [field, ...errorFields(value, field)];
  });
}

function expectFieldError(answer: Answer, field: string): void {
  expect(answer.status).toBe(400);
  expect(answer.headers.get('content-type')).toMatch(/application\/json/);
  expect(errorFields(answer.body)).toContain(field);
  // Nested errors may be flattened (`a.b`) or nested (`{a: {b: [...]}}`); either way the value is a list of messages.
  const body = answer.body as Record<string, unknown>;
  const list =
    field in body
      ? body[field]
      : field.split('.').reduce<unknown>((value, name) => (value as Record<string, unknown> | undefined)?.[name], body);
  expect(Array.isArray(list)).toBe(true);
  expect((list as unknown[]).length).toBeGreaterThan(0);
  for (const message of list as unknown[]) expect(typeof message).toBe('string');
}

async function pollUntil(
  id: number,
  done: (view: InspectionView) => boolean,
  limitMs = 10_000,
): Promise<InspectionView[]> {
  const seen: InspectionView[] = [];
  const deadline = Date.now() + limitMs;
  for (;;) {
    const answer = await call('GET', `/v1/inspections/${id}/`);
    expect(answer.status).toBe(200);
    const view = answer.body as InspectionView;
    seen.push(view);
    if (done(view) || Date.now() > deadline) return seen;
    await sleep(100);
  }
}

beforeAll(async () => {
  simulator = await startSimulator();
  initialSettings = { ...simulator.settings };
  bucketClient = simulator.embeddedS3.client();
  token = await requestToken(
    simulator.apiUrl,
    simulator.account.username,
    simulator.account.password,
    simulator.account.apiKey,
  );
  const asset = await call('POST', '/v1/assets/', { body: { name: 'Demo Cell Tower', type: 1 } });
  expect(asset.status).toBe(201);
  assetId = (asset.body as { id: number }).id;
});

afterEach(() => {
  Object.assign(simulator.settings, initialSettings);
});

afterAll(async () => {
  bucketClient?.destroy();
  await simulator?.close();
});

describe('API key (X-Api-Key)', () => {
  it('answers 403 at the token endpoint when the API key is missing', async () => {
    // Prepare
    const body = new URLSearchParams({
      username: simulator.account.username,
      password: simulator.account.password,
    }).toString();

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).not.toHaveProperty('api_token');
  });

  it('answers 403 at the token endpoint when the API key is wrong', async () => {
    // Prepare
    const body = new URLSearchParams({
      username: simulator.account.username,
      password: simulator.account.password,
    }).toString();

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': `${simulator.account.apiKey}x`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).not.toHaveProperty('api_token');
  });

  it('answers 403 at an API endpoint when the API key is missing, even with a valid token', async () => {
    // Prepare
    const headers = { Authorization: `Bearer ${token}` };

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`, { headers });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).toHaveProperty('detail');
  });

  it('answers 403 at an API endpoint when the API key is wrong, even with a valid token', async () => {
    // Prepare
    const headers = apiHeaders({ 'X-Api-Key': 'not-the-key' });

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`, { headers });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).toHaveProperty('detail');
  });
});

describe('token (Authorization: Bearer)', () => {
  it('answers 401 without an Authorization header', async () => {
    // Prepare
    const headers = { 'X-Api-Key': simulator.account.apiKey };

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`, { headers });

    // Assess
    expect(answer.status).toBe(401);
  });

  it('answers 401 for a malformed token (Bearer abc)', async () => {
    // Prepare
    const headers = apiHeaders({ Authorization: 'Bearer abc' });

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`, { headers });

    // Assess
    expect(answer.status).toBe(401);
  });

  it('answers 401 for a token whose signature is wrong', async () => {
    // Prepare
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    const headers = apiHeaders({ Authorization: `Bearer ${header}.${payload}.${flipped}` });

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`, { headers });

    // Assess
    expect(answer.status).toBe(401);
  });

  it('answers 401 for a token whose payload was altered (later exp) under the old signature', async () => {
    // Prepare
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 1_000_000 })).toString(
      'base64url',
    );
    const headers = apiHeaders({ Authorization: `Bearer ${header}.${forged}.${signature}` });

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`, { headers });

    // Assess
    expect(answer.status).toBe(401);
  });

  it('answers 401 for an expired token', async () => {
    // Prepare
    simulator.settings.tokenTtlSeconds = 1;
    const shortLived = await requestToken(
      simulator.apiUrl,
      simulator.account.username,
      simulator.account.password,
      simulator.account.apiKey,
    );
    const before = await call('GET', `/v1/assets/${assetId}/`, {
      headers: apiHeaders({ Authorization: `Bearer ${shortLived}` }),
    });
    await sleep(1_200);

    // Act
    const after = await call('GET', `/v1/assets/${assetId}/`, {
      headers: apiHeaders({ Authorization: `Bearer ${shortLived}` }),
    });

    // Assess
    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
  });

  it('answers 401 at the token endpoint for a wrong password', async () => {
    // Prepare
    const body = new URLSearchParams({
      username: simulator.account.username,
      password: `${simulator.account.password}!`,
    }).toString();

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body).not.toHaveProperty('api_token');
  });
});

describe('token endpoint body forms', () => {
  async function expectUsableToken(answer: Answer): Promise<void> {
    expect(answer.status).toBe(200);
    const body = answer.body as { api_token: string; expires_in: number };
    expect(body.api_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(body.expires_in).toBe(simulator.settings.tokenTtlSeconds);
    const used = await call('GET', `/v1/assets/${assetId}/`, {
      headers: apiHeaders({ Authorization: `Bearer ${body.api_token}` }),
    });
    expect(used.status).toBe(200);
  }

  it('accepts an urlencoded body', async () => {
    // Prepare
    const body = new URLSearchParams({
      username: simulator.account.username,
      password: simulator.account.password,
    }).toString();

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });

    // Assess
    await expectUsableToken(answer);
  });

  it('accepts a multipart body', async () => {
    // Prepare
    const form = new FormData();
    form.append('username', simulator.account.username);
    form.append('password', simulator.account.password);

    // Act
    const response = await fetch(`${simulator.apiUrl}/v1/auth/token/`, {
      method: 'POST',
      headers: { 'X-Api-Key': simulator.account.apiKey },
      body: form,
    });
    const answer: Answer = { status: response.status, headers: response.headers, body: await response.json() };

    // Assess
    await expectUsableToken(answer);
  });

  it("accepts the tutorial's `-d username=..&password=..` under Content-Type: application/json", async () => {
    // Prepare
    const body = `username=${simulator.account.username}&password=${simulator.account.password}`;

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/json' },
      body,
    });

    // Assess
    await expectUsableToken(answer);
  });

  it('accepts a JSON body', async () => {
    // Prepare
    const body = { username: simulator.account.username, password: simulator.account.password };

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/json' },
      body,
    });

    // Assess
    await expectUsableToken(answer);
  });

  it("accepts the tutorial's curl --form username=... --form password=... with Content-Type: application/json (real curl)", async () => {
    // Prepare
    const args = [
      '--silent',
      '--show-error',
      '--request',
      'POST',
      '--url',
      `${simulator.apiUrl}/v1/auth/token/`,
      '--header',
      `X-Api-Key: ${simulator.account.apiKey}`,
      '--header',
      'Content-Type: application/json',
      '--form',
      `username=${simulator.account.username}`,
      '--form',
      `password=${simulator.account.password}`,
      '--write-out',
      '\n%{http_code}',
    ];

    // Act
    const { stdout } = await run(CURL, args);

    // Assess
    const [json, code] = stdout.split('\n') as [string, string];
    expect(code).toBe('200');
    await expectUsableToken({ status: Number(code), headers: new Headers(), body: JSON.parse(json) });
  });

  it('accepts the tutorial\'s curl -d "username=...&password=..." with Content-Type: application/json (real curl)', async () => {
    // Prepare
    const args = [
      '--silent',
      '--show-error',
      '-X',
      'POST',
      '-d',
      `username=${simulator.account.username}&password=${simulator.account.password}`,
      '--header',
      `X-Api-Key: ${simulator.account.apiKey}`,
      '--header',
      'Content-Type: application/json',
      '--write-out',
      '\n%{http_code}',
      `${simulator.apiUrl}/v1/auth/token/`,
    ];

    // Act
    const { stdout } = await run(CURL, args);

    // Assess
    const [json, code] = stdout.split('\n') as [string, string];
    expect(code).toBe('200');
    await expectUsableToken({ status: Number(code), headers: new Headers(), body: JSON.parse(json) });
  });

  it('answers 400 with field errors when the password is absent', async () => {
    // Prepare
    const body = { username: simulator.account.username };

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/json' },
      body,
    });

    // Assess
    expectFieldError(answer, 'password');
  });
});

describe('validation (400 with field errors)', () => {
  it('refuses an asset without a name', async () => {
    // Prepare
    const body = { type: 1 };

    // Act
    const answer = await call('POST', '/v1/assets/', { body });

    // Assess
    expectFieldError(answer, 'name');
  });

  it('refuses an asset whose type is not a number', async () => {
    // Prepare
    const body = { name: 'Tower', type: 'cell tower' };

    // Act
    const answer = await call('POST', '/v1/assets/', { body });

    // Assess
    expectFieldError(answer, 'type');
  });

  it('refuses an inspection of an unknown asset', async () => {
    // Prepare
    const body = { asset: 987_654, processing_parameters: PROCESSING_PARAMETERS };

    // Act
    const answer = await call('POST', '/v1/inspections/', { body });

    // Assess
    expectFieldError(answer, 'asset');
  });

  it('refuses an inspection without processing_parameters', async () => {
    // Prepare
    const body = { asset: assetId };

    // Act
    const answer = await call('POST', '/v1/inspections/', { body });

    // Assess
    expectFieldError(answer, 'processing_parameters');
  });

  it('refuses an inspection with a mistyped processing parameter', async () => {
    // Prepare
    const body = { asset: assetId, processing_parameters: { ...PROCESSING_PARAMETERS, clipping_radius: 'far' } };

    // Act
    const answer = await call('POST', '/v1/inspections/', { body });

    // Assess
    expectFieldError(answer, 'processing_parameters.clipping_radius');
  });

  it("refuses to register keys outside the inspection's prefix", async () => {
    // Prepare
    const inspection = await createInspection();
    const other = await createInspection();
    const foreignKey = `${other.key}/DJI_0001.JPG`;
    await putObjects([foreignKey]);

    // Act
    const answer = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
      body: { image_keys: [foreignKey] },
    });

    // Assess
    expectFieldError(answer, 'image_keys');
    const view = await call('GET', `/v1/inspections/${inspection.id}/`);
    expect((view.body as InspectionView).status.id).toBe(1);
  });

  it("refuses to register a key that climbs out of the inspection's prefix with `..` to another inspection's object", async () => {
    // Prepare
    const inspection = await createInspection();
    const other = await createInspection();
    await putObjects([`${other.key}/DJI_0001.JPG`]);
    const otherProject = other.key.split('/').at(-1) as string;
    const climbing = `${inspection.key}/../${otherProject}/DJI_0001.JPG`;

    // Act
    const answer = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
      body: { image_keys: [climbing] },
    });

    // Assess
    expectFieldError(answer, 'image_keys');
  });

  it('refuses to register a key that is not in the bucket', async () => {
    // Prepare
    const inspection = await createInspection();
    const present = `${inspection.key}/DJI_0001.JPG`;
    await putObjects([present]);

    // Act
    const answer = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
      body: { image_keys: [present, `${inspection.key}/DJI_0002.JPG`] },
    });

    // Assess
    expectFieldError(answer, 'image_keys');
    expect(JSON.stringify(answer.body)).toContain('DJI_0002.JPG');
  });

  it('refuses 500 keys in one call, and accepts 499 present keys', async () => {
    // Prepare
    const inspection = await createInspection();
    const keys = Array.from(
      { length: 500 },
      (_, index) => `${inspection.key}/IMG_${String(index).padStart(4, '0')}.jpg`,
    );
    await putObjects(keys);

    // Act
    const tooMany = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
      body: { image_keys: keys },
    });
    const justEnough = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
      body: { image_keys: keys.slice(0, 499) },
    });

    // Assess
    expectFieldError(tooMany, 'image_keys');
    expect(justEnough.status).toBe(200);
    expect(justEnough.body).toEqual({ nb_images_registered: 499 });
  });

  it('refuses an empty list of keys', async () => {
    // Prepare
    const inspection = await createInspection();

    // Act
    const answer = await call('POST', `/v1/inspections/${inspection.id}/register_images/`, {
      body: { image_keys: [] },
    });

    // Assess
    expectFieldError(answer, 'image_keys');
  });

  it('refuses to process an inspection without registered images', async () => {
    // Prepare
    const inspection = await createInspection();

    // Act
    const answer = await call('POST', `/v1/inspections/${inspection.id}/process/`);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toHaveProperty('detail');
    const view = await call('GET', `/v1/inspections/${inspection.id}/`);
    expect((view.body as InspectionView).pcs_task_uuid).toBeNull();
  });

  it('refuses to process an inspection twice', async () => {
    // Prepare
    const inspection = await registeredInspection();
    const first = await call('POST', `/v1/inspections/${inspection.id}/process/`);
    const taskUuid = (first.body as InspectionView).pcs_task_uuid;

    // Act
    const second = await call('POST', `/v1/inspections/${inspection.id}/process/`);

    // Assess
    expect(first.status).toBeGreaterThanOrEqual(200);
    expect(first.status).toBeLessThan(300);
    expect(second.status).toBe(400);
    expect(second.body).toHaveProperty('detail');
    const view = await call('GET', `/v1/inspections/${inspection.id}/`);
    expect((view.body as InspectionView).pcs_task_uuid).toBe(taskUuid);
  });
});

describe('404 and 405', () => {
  it('answers 404 for an unknown inspection id', async () => {
    // Prepare
    const path = '/v1/inspections/99999999/';

    // Act
    const answer = await call('GET', path);

    // Assess
    expect(answer.status).toBe(404);
  });

  it('answers 404 for the s3_credentials of an unknown inspection id', async () => {
    // Prepare
    const path = '/v1/inspections/99999999/s3_credentials/';

    // Act
    const answer = await call('GET', path);

    // Assess
    expect(answer.status).toBe(404);
  });

  it('answers 404 for an unknown asset id', async () => {
    // Prepare
    const path = '/v1/assets/99999999/';

    // Act
    const answer = await call('GET', path);

    // Assess
    expect(answer.status).toBe(404);
  });

  it('answers 404 for unknown paths', async () => {
    // Prepare
    const paths = ['/v1/unknown/', '/v2/assets/', '/nothing', '/v1/inspections/1417/unknown_action/'];

    // Act
    const answers = await Promise.all(paths.map((path) => call('GET', path)));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 404]);
  });

  it('answers 405 for a wrong method', async () => {
    // Prepare
    const inspection = await createInspection();

    // Act
    const tokenGet = await call('GET', '/v1/auth/token/', { headers: { 'X-Api-Key': simulator.account.apiKey } });
    const processGet = await call('GET', `/v1/inspections/${inspection.id}/process/`);
    const inspectionDelete = await call('DELETE', `/v1/inspections/${inspection.id}/`);

    // Assess
    expect(tokenGet.status).toBe(405);
    expect(processGet.status).toBe(405);
    expect(processGet.headers.get('allow')).toContain('POST');
    expect(inspectionDelete.status).toBe(405);
    const view = await call('GET', `/v1/inspections/${inspection.id}/`);
    expect(view.status).toBe(200);
    expect((view.body as InspectionView).pcs_task_uuid).toBeNull();
  });
});

describe('organization accounts', () => {
  let organizationSimulator: Simulator;
  let organizationToken: string;
  const organizationUuid = randomUUID();

  beforeAll(async () => {
    organizationSimulator = await startSimulator({ account: { organizationUuid } });
    const { username, password, apiKey } = organizationSimulator.account;
    organizationToken = await requestToken(organizationSimulator.apiUrl, username, password, apiKey);
  });

  afterAll(async () => {
    await organizationSimulator?.close();
  });

  it('answers 403 without the pix4d-organization-uuid header', async () => {
    // Prepare
    const headers = { Authorization: `Bearer ${organizationToken}`, 'X-Api-Key': organizationSimulator.account.apiKey };

    // Act
    const answer = await call('GET', '/v1/assets/', { baseUrl: organizationSimulator.apiUrl, headers });

    // Assess
    expect(answer.status).toBe(403);
  });

  it('answers 403 with another organization in the header', async () => {
    // Prepare
    const headers = {
      Authorization: `Bearer ${organizationToken}`,
      'X-Api-Key': organizationSimulator.account.apiKey,
      'pix4d-organization-uuid': randomUUID(),
    };

    // Act
    const answer = await call('GET', '/v1/assets/', { baseUrl: organizationSimulator.apiUrl, headers });

    // Assess
    expect(answer.status).toBe(403);
  });

  it('answers 200 with the pix4d-organization-uuid header', async () => {
    // Prepare
    const headers = {
      Authorization: `Bearer ${organizationToken}`,
      'X-Api-Key': organizationSimulator.account.apiKey,
      'pix4d-organization-uuid': organizationUuid,
    };

    // Act
    const answer = await call('GET', '/v1/assets/', { baseUrl: organizationSimulator.apiUrl, headers });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ count: 0, results: [] });
  });
});

describe('processing', () => {
  it('goes through in-progress statuses to {id: 7, name: "Processing completed"} with the report available', async () => {
    // Prepare
    simulator.settings.processingSeconds = 1.5;
    simulator.settings.processingOutcome = 'completed';
    const inspection = await registeredInspection();

    // Act
    const started = await call('POST', `/v1/inspections/${inspection.id}/process/`);
    const seen = await pollUntil(inspection.id, (view) => !IN_PROGRESS_STATUS_IDS.includes(view.status.id));

    // Assess
    expect(started.status).toBeGreaterThanOrEqual(200);
    expect(started.status).toBeLessThan(300);
    const final = seen.at(-1) as InspectionView;
    expect(final.status).toEqual({ id: 7, name: 'Processing completed' });
    expect(final.report_status).toBe('available');
    expect(final.project_id).toEqual(expect.any(Number));
    expect(final.pcs_task_uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const before = [(started.body as InspectionView).status, ...seen.slice(0, -1).map((view) => view.status)];
    expect(before.length).toBeGreaterThan(0);
    for (const status of before) expect(IN_PROGRESS_STATUS_IDS).toContain(status.id);
    for (const view of seen.slice(0, -1)) expect(view.report_status).not.toBe('available');
  });

  it('ends in a failure status when the outcome is failed', async () => {
    // Prepare
    simulator.settings.processingSeconds = 1;
    simulator.settings.processingOutcome = 'failed';
    const inspection = await registeredInspection();

    // Act
    await call('POST', `/v1/inspections/${inspection.id}/process/`);
    const seen = await pollUntil(inspection.id, (view) => !IN_PROGRESS_STATUS_IDS.includes(view.status.id));

    // Assess
    const final = seen.at(-1) as InspectionView;
    expect(final.status.id).not.toBe(7);
    expect(IN_PROGRESS_STATUS_IDS).not.toContain(final.status.id);
    expect(final.status.name).toMatch(/fail/i);
    expect(final.report_status).not.toBe('available');
  });

  it('stays in progress after the duration when the outcome is never', async () => {
    // Prepare
    simulator.settings.processingSeconds = 0.5;
    simulator.settings.processingOutcome = 'never';
    const inspection = await registeredInspection();

    // Act
    await call('POST', `/v1/inspections/${inspection.id}/process/`);
    await sleep(1_000);
    const answer = await call('GET', `/v1/inspections/${inspection.id}/`);

    // Assess
    const view = answer.body as InspectionView;
    expect(IN_PROGRESS_STATUS_IDS).toContain(view.status.id);
    expect(view.report_status).not.toBe('available');
  });

  it('uses the outcome that was set when processing started, not a later change', async () => {
    // Prepare
    simulator.settings.processingSeconds = 0.5;
    simulator.settings.processingOutcome = 'completed';
    const inspection = await registeredInspection();
    await call('POST', `/v1/inspections/${inspection.id}/process/`);

    // Act
    simulator.settings.processingOutcome = 'failed';
    const seen = await pollUntil(inspection.id, (view) => !IN_PROGRESS_STATUS_IDS.includes(view.status.id));

    // Assess
    expect((seen.at(-1) as InspectionView).status).toEqual({ id: 7, name: 'Processing completed' });
  });
});

describe('s3_credentials', () => {
  it("has every field of the tutorial's answer, with expiration = server_time + credentialsTtlSeconds", async () => {
    // Prepare
    simulator.settings.credentialsTtlSeconds = 900;
    const created = await call('POST', '/v1/inspections/', {
      body: { asset: assetId, processing_parameters: PROCESSING_PARAMETERS },
    });
    const id = (created.body as { id: number }).id;

    // Act
    const answer = await call('GET', `/v1/inspections/${id}/s3_credentials/`);

    // Assess
    expect(answer.status).toBe(200);
    const body = answer.body as S3Credentials;
    for (const field of [
      'access_key',
      'secret_key',
      'session_token',
      'expiration',
      'bucket',
      'key',
      'server_time',
      'region',
    ] as const) {
      expect(typeof body[field], field).toBe('string');
      expect(body[field].length, field).toBeGreaterThan(0);
    }
    expect(body.bucket).toBe(simulator.bucket);
    expect(body.region).toBe('us-east-1');
    expect(body.key).not.toMatch(/^\/|\/$/);
    expect(body.expiration).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(body.server_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    const expected = Date.parse(body.server_time) + 900 * 1000;
    expect(Math.abs(Date.parse(body.expiration) - expected)).toBeLessThanOrEqual(1_000);
  });

  it('hands out a prefix per inspection', async () => {
    // Prepare
    const first = await createInspection();

    // Act
    const second = await createInspection();

    // Assess
    expect(second.key).not.toBe(first.key);
    expect(second.key.startsWith(`${first.key}/`)).toBe(false);
    expect(first.key.startsWith(`${second.key}/`)).toBe(false);
  });
});

describe('injected faults', () => {
  it('answers 502, 503 or 504 with errorRate = 1, and the request has no effect', async () => {
    // Prepare
    const countBefore = ((await call('GET', '/v1/assets/')).body as { count: number }).count;
    simulator.settings.errorRate = 1;

    // Act
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call('POST', '/v1/assets/', { body: { name: 'Never created', type: 1 } })),
    );

    // Assess
    for (const answer of answers) expect([502, 503, 504]).toContain(answer.status);
    simulator.settings.errorRate = 0;
    const after = await call('GET', '/v1/assets/');
    expect((after.body as { count: number }).count).toBe(countBefore);
  });

  it('answers 429 with Retry-After equal to retryAfterSeconds with rateLimitRate = 1', async () => {
    // Prepare
    simulator.settings.rateLimitRate = 1;
    simulator.settings.retryAfterSeconds = 7;

    // Act
    const answer = await call('GET', `/v1/assets/${assetId}/`);

    // Assess
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('7');
  });

  it('rate-limits the token endpoint too', async () => {
    // Prepare
    simulator.settings.rateLimitRate = 1;
    simulator.settings.retryAfterSeconds = 3;

    // Act
    const answer = await call('POST', '/v1/auth/token/', {
      headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/json' },
      body: { username: simulator.account.username, password: simulator.account.password },
    });

    // Assess
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('3');
  });

  it('with lostAnswerRate = 1, performs every request, then answers 502 or 504 or drops the connection', async () => {
    // Prepare
    const countBefore = ((await call('GET', '/v1/assets/')).body as { count: number }).count;
    simulator.settings.lostAnswerRate = 1;

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () =>
        call('POST', '/v1/assets/', { body: { name: 'Created, answer lost', type: 1 } }).then(
          (answer) => answer.status,
          () => 'dropped',
        ),
      ),
    );

    // Assess
    simulator.settings.lostAnswerRate = 0;
    for (const outcome of outcomes) expect([502, 504, 'dropped']).toContain(outcome);
    const after = await call('GET', '/v1/assets/');
    expect((after.body as { count: number }).count).toBe(countBefore + 12);
    expect(simulator.requests.filter((request) => request.fault === 'lost answer').length).toBeGreaterThanOrEqual(12);
  });

  it('lose-answer on process/ answers 502 although processing started', async () => {
    // Prepare
    simulator.settings.processingSeconds = 60;
    const inspection = await registeredInspection();
    simulator.injectFault({ action: 'lose-answer', status: 502, pathIncludes: '/process/' });

    // Act
    const answer = await call('POST', `/v1/inspections/${inspection.id}/process/`);

    // Assess
    expect(answer.status).toBe(502);
    const view = (await call('GET', `/v1/inspections/${inspection.id}/`)).body as InspectionView;
    expect(IN_PROGRESS_STATUS_IDS).toContain(view.status.id);
    expect(view.pcs_task_uuid).not.toBeNull();
    const retry = await call('POST', `/v1/inspections/${inspection.id}/process/`);
    expect(retry.status).toBe(400);
    expect(
      simulator.requests.some(
        (request) => request.path === `/v1/inspections/${inspection.id}/process/` && request.status === 502,
      ),
    ).toBe(true);
  });
});

describe('lists', () => {
  it('pages inspections as Django REST Framework does: 100 a page, absolute next and previous links, 404 past the end', async () => {
    // Prepare
    while (simulator.holdings().inspections.length < 120) await createInspection();
    const total = simulator.holdings().inspections.length;

    // Act
    const first = await call('GET', '/v1/inspections/');
    const firstPage = first.body as {
      count: number;
      next: string | null;
      previous: string | null;
      results: { id: number }[];
    };
    const second = await fetch(firstPage.next!, { headers: apiHeaders() }).then(
      (response) => response.json() as Promise<typeof firstPage>,
    );
    const past = await call('GET', '/v1/inspections/?page=99');

    // Assess
    expect(first.status).toBe(200);
    expect(firstPage).toMatchObject({
      count: total,
      previous: null,
      next: `${simulator.apiUrl}/v1/inspections/?page=2`,
    });
    expect(firstPage.results).toHaveLength(100);
    expect(second.previous).toBe(`${simulator.apiUrl}/v1/inspections/?page=1`);
    expect([...firstPage.results, ...second.results].map((inspection) => inspection.id)).toEqual(
      simulator
        .holdings()
        .inspections.map((inspection) => inspection.id)
        .slice(0, firstPage.results.length + second.results.length),
    );
    expect(past).toMatchObject({ status: 404, body: { detail: 'Invalid page.' } });
  });
});

describe('stall', () => {
  /** Waits until `count` requests have been recorded since `mark`, so that the next request arrives after them. */
  async function untilRecorded(mark: number, count: number): Promise<void> {
    for (let i = 0; i < 200 && simulator.requests.length - mark < count; i++) await sleep(10);
  }

  it('holds matching requests unanswered and without effect, serves the others, and closes the held ones when it ends', async () => {
    // Prepare
    const countBefore = ((await call('GET', '/v1/assets/')).body as { count: number }).count;
    simulator.injectFault({ action: 'answer', status: 503, method: 'POST', pathIncludes: '/v1/assets/' });
    const mark = simulator.requests.length;
    simulator.stall(600, { method: 'POST', pathIncludes: '/v1/assets/' });
    const startedAt = Date.now();

    // Act
    const stalled = call('POST', '/v1/assets/', { body: { name: 'Stalled', type: 1 } }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    await untilRecorded(mark, 1);
    const other = await call('GET', '/v1/assets/');
    const stalledOutcome = await stalled;
    const heldFor = Date.now() - startedAt;
    const afterStall = await call('POST', '/v1/assets/', { body: { name: 'After the stall', type: 1 } });
    const next = await call('POST', '/v1/assets/', { body: { name: 'Next', type: 1 } });

    // Assess
    expect(other.status).toBe(200);
    // The held connection is closed without an answer: fetch fails.
    expect(stalledOutcome).toBeInstanceOf(TypeError);
    expect(heldFor).toBeGreaterThanOrEqual(550);
    // The stalled request took no scripted fault and created nothing.
    expect(afterStall.status).toBe(503);
    expect(next.status).toBe(201);
    const countAfter = ((await call('GET', '/v1/assets/')).body as { count: number }).count;
    expect(countAfter).toBe(countBefore + 1);
    expect(simulator.requests.slice(mark, mark + 4)).toEqual([
      { method: 'POST', path: '/v1/assets/', status: 0, fault: 'stalled' },
      { method: 'GET', path: '/v1/assets/', status: 200 },
      { method: 'POST', path: '/v1/assets/', status: 503, fault: 'scripted' },
      { method: 'POST', path: '/v1/assets/', status: 201 },
    ]);
  });

  it('stalls every request, the token endpoint included, when no match is given, and serves requests that arrive after it', async () => {
    // Prepare
    const mark = simulator.requests.length;
    simulator.stall(300);

    // Act
    const during = await Promise.allSettled([
      call('POST', '/v1/auth/token/', {
        headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          username: simulator.account.username,
          password: simulator.account.password,
        }).toString(),
      }),
      call('GET', `/v1/assets/${assetId}/`),
    ]);
    const after = await call('GET', `/v1/assets/${assetId}/`);

    // Assess
    expect(during.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(after.status).toBe(200);
    const seen = simulator.requests.slice(mark);
    expect(
      seen
        .filter((request) => request.fault === 'stalled')
        .map((request) => `${request.method} ${request.path}`)
        .sort(),
    ).toEqual([`GET /v1/assets/${assetId}/`, 'POST /v1/auth/token/']);
    expect(seen.at(-1)).toEqual({ method: 'GET', path: `/v1/assets/${assetId}/`, status: 200 });
  });

  it('refuses a stall of a negative or endless duration', () => {
    // Prepare
    const durations = [-1, Number.NaN, Number.POSITIVE_INFINITY];

    // Act
    const attempts = durations.map((ms) => () => simulator.stall(ms));

    // Assess
    for (const attempt of attempts) expect(attempt).toThrow(RangeError);
  });
});
