import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_SETTINGS } from '../../local/simulator/settings';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { Pix4dInspectClient } from '../../src/pix4d/client';
import { Pix4dCreateUnconfirmedError, Pix4dServerError } from '../../src/pix4d/errors';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';

/**
 * Creates are never sent twice blindly: after an answer lost once the request took effect (a 502 or 504 from a
 * gateway, a dropped connection), the client looks in the list for what it created. Counted in the simulator.
 */

const account = {
  username: 'drone.ops+creates-test@example.com',
  password: 'Pa55-creates-test-Vb2!',
  apiKey: 'apikey-creates-test-41c9',
};

let simulator: Simulator;
/** Shifts the simulator's clock, to create resources that look older than they are. */
let clockOffsetMs = 0;

beforeAll(async () => {
  simulator = await startSimulator({ account, clock: () => Date.now() + clockOffsetMs });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  Object.assign(simulator.settings, DEFAULT_SIMULATOR_SETTINGS);
  clockOffsetMs = 0;
});

function newClient(): Pix4dInspectClient {
  return new Pix4dInspectClient({
    account,
    authUrl: simulator.apiUrl,
    apiUrl: simulator.apiUrl,
    requestTimeoutMs: 5_000,
    backoff: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 10_000 },
    createSettleMs: 1,
  });
}

function callsSince(mark: number): string[] {
  return simulator.requests
    .slice(mark)
    .map(
      (request) => `${request.method} ${request.path} ${request.status}${request.fault ? ` (${request.fault})` : ''}`,
    );
}

const inspectionsNamed = (name: string) =>
  simulator.holdings().inspections.filter((inspection) => inspection.name === name);
const assetsNamed = (name: string) => simulator.holdings().assets.filter((asset) => asset.name === name);

async function newAsset(client: Pix4dInspectClient, name: string) {
  return client.createAsset({ name, type: 1 });
}

describe('creating an inspection', () => {
  it.each([
    ['a 504 from the gateway', 504],
    ['a 502 from the gateway', 502],
    ['a dropped connection', 0],
  ])('after %s once it took effect, finds it in the list and does not create another', async (_, status) => {
    // Prepare
    const client = newClient();
    const asset = await newAsset(client, `Tower lost-${status}`);
    const name = `Lost answer ${status}`;
    simulator.injectFault({ action: 'lose-answer', status, method: 'POST', pathIncludes: '/v1/inspections/' });
    const mark = simulator.requests.length;

    // Act
    const inspection = await client.createInspection({
      asset: asset.id,
      name,
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });

    // Assess
    expect(inspectionsNamed(name)).toEqual([expect.objectContaining({ id: inspection.id, assetId: asset.id })]);
    expect(callsSince(mark)).toEqual([`POST /v1/inspections/ ${status} (lost answer)`, 'GET /v1/inspections/ 200']);
  });

  it('sends it again when the failure came before any effect, after looking', async () => {
    // Prepare
    const client = newClient();
    const asset = await newAsset(client, 'Tower no-effect');
    simulator.injectFault({ action: 'answer', status: 503, method: 'POST', pathIncludes: '/v1/inspections/' });
    const mark = simulator.requests.length;

    // Act
    const inspection = await client.createInspection({
      asset: asset.id,
      name: 'No effect',
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });

    // Assess
    expect(inspectionsNamed('No effect')).toEqual([expect.objectContaining({ id: inspection.id })]);
    expect(callsSince(mark)).toEqual([
      'POST /v1/inspections/ 503 (scripted)',
      'GET /v1/inspections/ 200',
      'POST /v1/inspections/ 201',
    ]);
  });

  it('takes what an earlier attempt created instead of posting, when told one may have', async () => {
    // Prepare: the first attempt's answer was lost, and its step gave up
    const client = newClient();
    const asset = await newAsset(client, 'Tower step-retry');
    const firstAttemptAt = Date.now();
    simulator.injectFault({ action: 'lose-answer', status: 504, method: 'POST', pathIncludes: '/v1/inspections/' });
    const input = { asset: asset.id, name: 'Step retry', processing_parameters: DEFAULT_PROCESSING_PARAMETERS };
    const gaveUp = newClientWithoutRetries();
    await expect(gaveUp.createInspection(input)).rejects.toBeInstanceOf(Pix4dServerError);
    const mark = simulator.requests.length;

    // Act
    const inspection = await client.createInspection(input, { earlierAttemptAt: firstAttemptAt });

    // Assess
    expect(inspectionsNamed('Step retry')).toEqual([expect.objectContaining({ id: inspection.id })]);
    expect(callsSince(mark)).toEqual(['GET /v1/inspections/ 200']);
  });

  it('ignores an older inspection of the same name and asset: a folder run again gets its own', async () => {
    // Prepare: an inspection of the same name, created five minutes before this attempt, beyond the clock allowance
    const client = newClient();
    const asset = await newAsset(client, 'Tower rerun');
    const input = { asset: asset.id, name: 'Rerun', processing_parameters: DEFAULT_PROCESSING_PARAMETERS };
    clockOffsetMs = -5 * 60_000;
    const older = await client.createInspection(input);
    clockOffsetMs = 0;

    // Act
    const inspection = await client.createInspection(input, { earlierAttemptAt: Date.now() });

    // Assess
    expect(inspection.id).not.toBe(older.id);
    expect(inspectionsNamed('Rerun')).toHaveLength(2);
  });

  it('fails with Pix4dCreateUnconfirmedError, not a second POST, when two inspections could be the one created', async () => {
    // Prepare: two recent inspections of the same name and asset
    const client = newClient();
    const asset = await newAsset(client, 'Tower twins');
    const input = { asset: asset.id, name: 'Twins', processing_parameters: DEFAULT_PROCESSING_PARAMETERS };
    const first = await client.createInspection(input);
    const second = await client.createInspection(input);
    simulator.injectFault({ action: 'lose-answer', status: 504, method: 'POST', pathIncludes: '/v1/inspections/' });

    // Act
    const error = await client.createInspection(input).catch((caught: unknown) => caught);

    // Assess: the lost POST made a third; the run stops and names what may exist
    expect(error).toBeInstanceOf(Pix4dCreateUnconfirmedError);
    const message = (error as Error).message;
    expect(message).toContain('an inspection named "Twins" of asset');
    expect(message).toContain(`ids ${first.id}, ${second.id}`);
    expect(message).toContain('Check Pix4Dinspect');
    expect((error as Pix4dCreateUnconfirmedError).transient).toBe(false);
    expect(inspectionsNamed('Twins')).toHaveLength(3);
  });

  it('tells apart recent inspections of one asset and one name by their description', async () => {
    // Prepare: two flights of the asset with the same name, created moments ago by other runs
    const client = newClient();
    const asset = await newAsset(client, 'Tower same-name');
    const flight = (run: string) => ({
      asset: asset.id,
      name: 'Monthly',
      description: `run ${run}`,
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });
    await client.createInspection(flight('a'));
    await client.createInspection(flight('b'));
    simulator.injectFault({ action: 'lose-answer', status: 504, method: 'POST', pathIncludes: '/v1/inspections/' });

    // Act
    const inspection = await client.createInspection(flight('c'));

    // Assess
    expect(inspection.description).toBe('run c');
    expect(inspectionsNamed('Monthly')).toHaveLength(3);
  });

  it("sends again when the lost request had no effect, although another run's inspection of that name is recent", async () => {
    // Prepare: another flight of the asset with the same name, just created; this create is dropped before any effect
    const client = newClient();
    const asset = await newAsset(client, 'Tower other-run');
    const flight = (run: string) => ({
      asset: asset.id,
      name: 'Daily',
      description: `(run ${run})`,
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });
    const other = await client.createInspection(flight('other'));
    simulator.injectFault({ action: 'disconnect', method: 'POST', pathIncludes: '/v1/inspections/' });

    // Act
    const inspection = await client.createInspection(flight('this'));

    // Assess: its own inspection, not the other run's
    expect(inspection.id).not.toBe(other.id);
    expect(inspection.description).toBe('(run this)');
    expect(inspectionsNamed('Daily')).toHaveLength(2);
  });

  it("sends again when several recent inspections of that name are all other runs'", async () => {
    // Prepare
    const client = newClient();
    const asset = await newAsset(client, 'Tower many-runs');
    const flight = (run: string) => ({
      asset: asset.id,
      name: 'Weekly',
      description: `(run ${run})`,
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });
    for (const run of ['a', 'b', 'c']) await client.createInspection(flight(run));
    simulator.injectFault({ action: 'answer', status: 502, method: 'POST', pathIncludes: '/v1/inspections/' });

    // Act
    const inspection = await client.createInspection(flight('d'));

    // Assess
    expect(inspection.description).toBe('(run d)');
    expect(inspectionsNamed('Weekly')).toHaveLength(4);
  });

  it('fails with Pix4dCreateUnconfirmedError when the service offers no list to look in', async () => {
    // Prepare
    const client = newClient();
    const asset = await newAsset(client, 'Tower no-list');
    simulator.injectFault({ action: 'lose-answer', status: 502, method: 'POST', pathIncludes: '/v1/inspections/' });
    simulator.injectFault({
      action: 'answer',
      status: 405,
      method: 'GET',
      pathIncludes: '/v1/inspections/',
      body: { detail: 'Method "GET" not allowed.' },
    });

    // Act
    const error = await client
      .createInspection({ asset: asset.id, name: 'No list', processing_parameters: DEFAULT_PROCESSING_PARAMETERS })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(Pix4dCreateUnconfirmedError);
    expect((error as Error).message).toMatch(
      /POST \/v1\/inspections\/ may have created an inspection named "No list" of asset \d+ after .*the list could not be read/,
    );
    expect((error as Pix4dCreateUnconfirmedError).endpoint).toBe('GET /v1/inspections/');
    expect(inspectionsNamed('No list')).toHaveLength(1);
  });

  it('reads every page of the list', async () => {
    // Prepare: more than one page (100 per page) of inspections before this one
    const client = newClient();
    const asset = await newAsset(client, 'Tower pages');
    const filler = { asset: asset.id, name: 'Filler', processing_parameters: DEFAULT_PROCESSING_PARAMETERS };
    while (simulator.holdings().inspections.length < 150) await client.createInspection(filler);
    simulator.injectFault({ action: 'lose-answer', status: 504, method: 'POST', pathIncludes: '/v1/inspections/' });
    const mark = simulator.requests.length;

    // Act
    const inspection = await client.createInspection({
      asset: asset.id,
      name: 'Last page',
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });

    // Assess
    expect(inspectionsNamed('Last page')).toEqual([expect.objectContaining({ id: inspection.id })]);
    expect(
      callsSince(mark).filter((call) => call.startsWith('GET /v1/inspections/ 200')).length,
    ).toBeGreaterThanOrEqual(2);
    expect(callsSince(mark).filter((call) => call.startsWith('POST'))).toHaveLength(1);
  });
});

describe('creating an asset', () => {
  it('after a lost answer, finds it by name and type and does not create another', async () => {
    // Prepare
    const client = newClient();
    simulator.injectFault({ action: 'lose-answer', status: 0, method: 'POST', pathIncludes: '/v1/assets/' });

    // Act
    const asset = await client.createAsset({ name: 'Tower lost asset', type: 1 });

    // Assess
    expect(assetsNamed('Tower lost asset')).toEqual([
      { id: asset.id, name: 'Tower lost asset', type: 1, latitude: null, longitude: null },
    ]);
  });
});

describe('registering images', () => {
  it('sends a registration again after a lost answer: the service names a key registered again the same image', async () => {
    // Prepare
    const client = newClient();
    const asset = await newAsset(client, 'Tower register');
    const inspection = await client.createInspection({
      asset: asset.id,
      name: 'Register',
      processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
    });
    const credentials = await client.getS3Credentials(inspection.id);
    const keys = ['a.jpg', 'b.jpg', 'c.jpg'].map((name) => credentials.keyFor(name));
    const bucket = simulator.embeddedS3.client();
    for (const key of keys) await bucket.send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));
    bucket.destroy();
    simulator.injectFault({ action: 'lose-answer', status: 504, method: 'POST', pathIncludes: 'register_images' });

    // Act
    const registration = await client.registerImages(inspection.id, keys);

    // Assess
    expect(registration).toEqual({ registered: 3, calls: 1 });
    expect(simulator.holdings().inspections.find((held) => held.id === inspection.id)).toMatchObject({
      images: 3,
      registeredAgain: 3,
    });
  });
});

function newClientWithoutRetries(): Pix4dInspectClient {
  return new Pix4dInspectClient({
    account,
    authUrl: simulator.apiUrl,
    apiUrl: simulator.apiUrl,
    requestTimeoutMs: 5_000,
    backoff: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 1 },
  });
}
