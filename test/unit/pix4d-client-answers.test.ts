import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Pix4dInspectClient } from '../../src/pix4d/client';
import { Pix4dUnexpectedResponseError } from '../../src/pix4d/errors';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from '../helpers/scripted-server';

/**
 * The real client against answers the simulator does not give but the service may: the files of
 * test/fixtures/pix4d-answers served as they are. Tolerated oddities (numbers as strings, nulls, bare ids) reach
 * the caller as the values it uses; an answer without a field the pipeline needs fails, naming the field.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'pix4d-answers');
const answer = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

const account = {
  username: 'drone.ops+answers-test@example.com',
  password: 'Pa55-answers-test-Kq4!',
  apiKey: 'apikey-answers-test-2b8d41f0',
};

const TOKEN_ENDPOINT = 'POST /v1/auth/token/';
const TOKEN = answer('token-strings-and-extras.json') as { api_token: string };

let server: ScriptedServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server that answers `METHOD /path` from `routes`, the token endpoint with a string `expires_in`, else 404. */
async function serve(
  routes: Record<string, ScriptedAnswer | (() => ScriptedAnswer | 'drop')>,
): Promise<ScriptedServer> {
  server = await startScriptedServer(({ method, path }) => {
    const route =
      routes[`${method} ${path}`] ??
      (`${method} ${path}` === TOKEN_ENDPOINT ? { status: 200, body: TOKEN } : undefined);
    if (route === undefined) return { status: 404, body: { detail: 'Not found.' } };
    return typeof route === 'function' ? route() : route;
  });
  return server;
}

function clientOf(at: ScriptedServer): Pix4dInspectClient {
  return new Pix4dInspectClient({
    account,
    authUrl: at.url,
    apiUrl: at.url,
    requestTimeoutMs: 5_000,
    backoff: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 },
  });
}

const requestsTo = (at: ScriptedServer, endpoint: string) =>
  at.requests.filter(({ method, path }) => `${method} ${path}` === endpoint);

describe('Pix4dInspectClient reading the answers it may be given', () => {
  it('keeps a token whose expires_in is a string of digits for its lifetime', async () => {
    // Prepare
    const at = await serve({ 'GET /v1/inspections/1417/': { status: 200, body: answer('inspection-tutorial.json') } });
    const client = clientOf(at);

    // Act
    await client.getInspection(1417);
    await client.getInspection(1417);

    // Assess
    expect(requestsTo(at, TOKEN_ENDPOINT)).toHaveLength(1);
    const reads = requestsTo(at, 'GET /v1/inspections/1417/');
    expect(reads.map((request) => request.headers.authorization)).toEqual([
      `Bearer ${TOKEN.api_token}`,
      `Bearer ${TOKEN.api_token}`,
    ]);
  });

  it('reads an inspection with null in every field it can do without', async () => {
    // Prepare
    const at = await serve({ 'GET /v1/inspections/1418/': { status: 200, body: answer('inspection-nulls.json') } });

    // Act
    const inspection = await clientOf(at).getInspection(1418);

    // Assess
    expect(inspection).toMatchObject({
      id: 1418,
      project_id: null,
      status: { id: 1, name: 'Created' },
      pcs_task_uuid: null,
      name: null,
    });
    expect(inspection.created_at).toBeUndefined();
    expect(inspection.asset).toMatchObject({ id: 915 });
  });

  it('reads an inspection whose ids are strings of digits as numbers', async () => {
    // Prepare
    const at = await serve({ 'GET /v1/inspections/1417/': { status: 200, body: answer('inspection-strings.json') } });

    // Act
    const inspection = await clientOf(at).getInspection(1417);

    // Assess
    expect(inspection).toMatchObject({
      id: 1417,
      project_id: 745411,
      asset: { id: 915 },
      status: { id: 7, name: 'Processing completed' },
    });
  });

  it('reads a created inspection that gives its asset as a bare id', async () => {
    // Prepare
    const at = await serve({
      'POST /v1/inspections/': { status: 201, body: answer('inspection-created-bare-asset.json') },
    });

    // Act
    const inspection = await clientOf(at).createInspection({
      asset: 915,
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });

    // Assess
    expect(inspection).toMatchObject({ id: 1419, asset: 915, status: { id: 1, name: 'Created' } });
    expect(inspection.created_at).toEqual(new Date('2021-06-15T13:20:39.576Z'));
  });

  it("reads the tutorial's s3_credentials answer into credentials", async () => {
    // Prepare
    const at = await serve({
      'GET /v1/inspections/1417/s3_credentials/': { status: 200, body: answer('s3-credentials-tutorial.json') },
    });

    // Act
    const credentials = await clientOf(at).getS3Credentials(1417);

    // Assess
    expect({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      bucket: credentials.bucket,
      keyPrefix: credentials.keyPrefix,
      expiration: credentials.expiration,
      serverTime: credentials.serverTime,
      region: credentials.region,
    }).toEqual({
      accessKeyId: 'ASIATOCJLBKSU2CVJIHR',
      secretAccessKey: '5OGGBSvn8Sesdu8l...<remainder of the secret key>',
      sessionToken: 'FwoGZXIvYX...<remainder of security token>',
      bucket: 'prod-pix4d-cloud-default',
      keyPrefix: 'user-199a56ab-7ac6-d6d1-4778-5b4d338fc9de/project-883349',
      expiration: new Date('2021-05-10T21:55:47Z'),
      serverTime: new Date('2021-05-19T09:55:47.357Z'),
      region: 'us-east-1',
    });
  });

  it('does not fail on an s3_credentials answer whose region is null', async () => {
    // Prepare
    const at = await serve({
      'GET /v1/inspections/1417/s3_credentials/': { status: 200, body: answer('s3-credentials-region-null.json') },
    });

    // Act
    const credentials = await clientOf(at).getS3Credentials(1417);

    // Assess
    expect(credentials.bucket).toBe('prod-pix4d-cloud-default');
    expect(credentials.keyPrefix).toBe('user-199a56ab-7ac6-d6d1-4778-5b4d338fc9de/project-883349');
  });

  it('counts images registered when the count is a string of digits', async () => {
    // Prepare
    const at = await serve({
      'POST /v1/inspections/1417/register_images/': { status: 200, body: answer('register-images-string-count.json') },
    });
    const keys = ['user-199a56ab/project-883349/DJI_0389.JPG', 'user-199a56ab/project-883349/DJI_0390.JPG'];

    // Act
    const registration = await clientOf(at).registerImages(1417, keys);

    // Assess
    expect(registration).toEqual({ registered: 2, calls: 1 });
    const [sent] = requestsTo(at, 'POST /v1/inspections/1417/register_images/');
    expect(JSON.parse(sent!.body)).toEqual({ image_keys: keys });
  });

  it('fails a 200 answer without id with Pix4dUnexpectedResponseError naming the field and the endpoint', async () => {
    // Prepare
    const at = await serve({
      'GET /v1/inspections/1417/': { status: 200, body: answer('inspection-missing-id.json') },
    });

    // Act
    const outcome = await clientOf(at)
      .getInspection(1417)
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    // Assess
    expect(outcome).toBeInstanceOf(Pix4dUnexpectedResponseError);
    const error = outcome as Pix4dUnexpectedResponseError;
    expect(error.message).toMatch(/\(id: expected an id\b[^;]*got missing\)/);
    expect(error.message).toContain('GET /v1/inspections/1417/');
    expect(error).toMatchObject({ endpoint: 'GET /v1/inspections/1417/', status: 200 });
  });

  it('reads the answer sent again after a dropped one', async () => {
    // Prepare
    let reads = 0;
    const at = await serve({
      'GET /v1/inspections/1417/': () =>
        ++reads === 1 ? 'drop' : { status: 200, body: answer('inspection-tutorial.json') },
    });

    // Act
    const inspection = await clientOf(at).getInspection(1417);

    // Assess
    expect(inspection.id).toBe(1417);
    expect(requestsTo(at, 'GET /v1/inspections/1417/')).toHaveLength(2);
  });
});
