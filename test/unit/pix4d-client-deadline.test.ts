import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_SETTINGS } from '../../local/simulator/settings';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { type Pix4dClientOptions, Pix4dInspectClient } from '../../src/pix4d/client';
import { Pix4dApiError, Pix4dServerError, Pix4dTimeoutError, TRANSIENT_PIX4D_ERRORS } from '../../src/pix4d/errors';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';
import { rejectionOf } from '../helpers/rejection';
import { type ScaledTimers, scaledTimers } from '../helpers/scaled-timers';

/**
 * `withDeadline`: a call bounded by the time its Lambda invocation has left ends by then with a transient error,
 * against the simulator over HTTP, Pix4Dinspect stalling (`Simulator.stall`) or failing fast.
 */

const account = {
  username: 'drone.ops+deadline-test@example.com',
  password: 'Pa55-deadline-test-Kw4!',
  apiKey: 'apikey-deadline-test-2b8d0f4a',
};

/** How late a rejection may come after the deadline on a loaded machine; without the deadline it comes 10 s late. */
const SLACK_MS = 1_000;
const REQUEST_TIMEOUT_MS = 10_000;

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

/** A client that retries up to 100 times, 100 to 200 ms apart (the longest waits), recording when it waits and for how long. */
function clientRecordingWaits() {
  const waits: { at: number; ms: number }[] = [];
  const timers = scaledTimers(1);
  const { client } = clientFor({
    timers,
    random: () => 0.999,
    backoff: { maxAttempts: 100, baseDelayMs: 100, maxDelayMs: 200, maxTotalMs: 60_000 },
    sleep: async (ms) => {
      waits.push({ at: timers.now(), ms });
      await timers.sleep(ms);
    },
  });
  return { client, timers, waits };
}

/** A client on wall-clock timers that record each request timeout, with short retry waits. */
function clientFor(
  options: Partial<Pix4dClientOptions> = {},
  target: Simulator = simulator,
): { client: Pix4dInspectClient; timers: ScaledTimers } {
  const timers = scaledTimers(1);
  const client = new Pix4dInspectClient({
    account,
    authUrl: target.apiUrl,
    apiUrl: target.apiUrl,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    backoff: { maxAttempts: 50, baseDelayMs: 50, maxDelayMs: 100, maxTotalMs: 60_000 },
    timers,
    ...options,
  });
  return { client, timers };
}

function requestsSince(mark: number, target: Simulator = simulator) {
  return target.requests.slice(mark);
}

/** The requests about one inspection since `mark`: requests of earlier tests may still be recorded (a delay fault records when it answers). */
function inspectionRequestsSince(mark: number, inspectionId: number) {
  return requestsSince(mark).filter((request) => request.path.includes(`/inspections/${inspectionId}/`));
}

async function newInspection(client: Pix4dInspectClient) {
  const asset = await client.createAsset({ name: 'Tower 7', type: 1 });
  return client.createInspection({ asset: asset.id, processing_parameters: DEFAULT_PROCESSING_PARAMETERS });
}

/** An inspection with one registered image, ready for `process/`. */
async function readyInspection(client: Pix4dInspectClient) {
  const inspection = await newInspection(client);
  const credentials = await client.getS3Credentials(inspection.id);
  const key = credentials.keyFor('DJI_0001.JPG');
  await simulator.embeddedS3.client().send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));
  await client.registerImages(inspection.id, [key]);
  return client.getInspection(inspection.id);
}

function expectTransient(error: unknown): asserts error is Pix4dApiError {
  expect(error).toBeInstanceOf(Pix4dApiError);
  expect(TRANSIENT_PIX4D_ERRORS).toContain((error as Error).name);
  expect((error as Pix4dApiError).transient).toBe(true);
}

describe('a call through withDeadline', () => {
  it('rejects with a transient error by the deadline when Pix4Dinspect stalls longer than the time left, and starts no attempt after it', async () => {
    // Prepare
    const { client, timers } = clientFor();
    const inspection = await newInspection(client);
    simulator.stall(10_000, { pathIncludes: `/inspections/${inspection.id}/` });
    const mark = simulator.requests.length;
    const firstAttempt = timers.timeouts.length;
    const deadline = timers.now() + 800;

    // Act
    const error = await rejectionOf(client.withDeadline(deadline).getInspection(inspection.id));
    const rejectedAt = timers.now();
    const arrivedByRejection = inspectionRequestsSince(mark, inspection.id).length;
    await sleep(300);

    // Assess
    expectTransient(error);
    expect(error).toBeInstanceOf(Pix4dTimeoutError);
    expect(error.message).toContain(`GET /v1/inspections/${inspection.id}/`);
    expect(rejectedAt).toBeLessThanOrEqual(deadline + SLACK_MS);
    const attempts = timers.timeouts.slice(firstAttempt);
    expect(attempts.length).toBeGreaterThan(0);
    for (const attempt of attempts) expect(attempt.at).toBeLessThan(deadline);
    const seen = inspectionRequestsSince(mark, inspection.id);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBe(arrivedByRejection);
    expect(seen.every((request) => request.fault === 'stalled')).toBe(true);
  });

  it("cuts each attempt's request timeout to the time left", async () => {
    // Prepare
    // No waits between attempts: the attempts follow each other until the deadline, the last one cut.
    const { client, timers } = clientFor({ requestTimeoutMs: 300, random: () => 0 });
    const inspection = await newInspection(client);
    for (let i = 0; i < 12; i++)
      simulator.injectFault({ action: 'delay', ms: 450, pathIncludes: `/inspections/${inspection.id}/` });
    const firstAttempt = timers.timeouts.length;
    const deadline = timers.now() + 1_000;

    // Act
    const error = await rejectionOf<Error>(client.withDeadline(deadline).getInspection(inspection.id));

    // Assess
    expectTransient(error);
    expect(error).toBeInstanceOf(Pix4dTimeoutError);
    const attempts = timers.timeouts.slice(firstAttempt);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    // The deadline only shortens the request timeout: the first attempt, with time to spare, keeps 300 ms.
    expect(attempts[0]!.ms).toBe(300);
    for (const attempt of attempts) expect(attempt.at + attempt.ms).toBeLessThanOrEqual(deadline + 1);
    expect(attempts.at(-1)!.ms).toBeLessThan(300);
    expect(error.message).toContain('the time the invocation had left');
  });

  it('with 503s answered at once, stops retrying before the deadline with the last transient error', async () => {
    // Prepare
    const { client, timers, waits } = clientRecordingWaits();
    const inspection = await newInspection(client);
    for (let i = 0; i < 40; i++)
      simulator.injectFault({ action: 'answer', status: 503, pathIncludes: `/inspections/${inspection.id}/` });
    const mark = simulator.requests.length;
    const deadline = timers.now() + 1_000;

    // Act
    const error = await rejectionOf<Pix4dServerError>(client.withDeadline(deadline).getInspection(inspection.id));
    const rejectedAt = timers.now();

    // Assess
    expectTransient(error);
    expect(error).toBeInstanceOf(Pix4dServerError);
    expect(error.status).toBe(503);
    expect(error.endpoint).toBe(`GET /v1/inspections/${inspection.id}/`);
    expect(rejectedAt).toBeLessThanOrEqual(deadline + SLACK_MS);
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) expect(wait.at + wait.ms).toBeLessThan(deadline + 1);
    const answered = inspectionRequestsSince(mark, inspection.id);
    expect(answered.every((request) => request.status === 503)).toBe(true);
    expect(answered).toHaveLength(waits.length + 1);
  });

  it('rejects with a Pix4dTimeoutError naming the endpoint and sends nothing once the deadline has passed', async () => {
    // Prepare
    const { client, timers } = clientFor();
    const inspection = await newInspection(client);
    const mark = simulator.requests.length;

    // Act
    const error = await rejectionOf<Error>(client.withDeadline(timers.now() - 1).getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dTimeoutError);
    expect(error.name).toBe('Pix4dTimeoutError');
    expect(error.message).toMatch(/invocation's time ran out/);
    expect(error.message).toContain(`GET /v1/inspections/${inspection.id}/`);
    expect(inspectionRequestsSince(mark, inspection.id)).toEqual([]);
  });

  it('serves a new call once the stall has ended', async () => {
    // Prepare
    const { client, timers } = clientFor();
    const inspection = await newInspection(client);
    simulator.stall(700, { pathIncludes: `/inspections/${inspection.id}/` });
    const mark = simulator.requests.length;
    const during = await rejectionOf(client.withDeadline(timers.now() + 300).getInspection(inspection.id));
    await sleep(700);

    // Act
    const detail = await client.withDeadline(timers.now() + 3_000).getInspection(inspection.id);

    // Assess
    expectTransient(during);
    expect(detail.id).toBe(inspection.id);
    const seen = inspectionRequestsSince(mark, inspection.id);
    expect(seen.at(-1)).toEqual({ method: 'GET', path: `/v1/inspections/${inspection.id}/`, status: 200 });
    expect(seen.slice(0, -1).every((request) => request.fault === 'stalled')).toBe(true);
  });
});

describe('views of one client', () => {
  it('share one token (one POST /v1/auth/token/) with each other and with the client', async () => {
    // Prepare
    const { client, timers } = clientFor();
    const mark = simulator.requests.length;
    const first = client.withDeadline(timers.now() + 5_000);
    const second = client.withDeadline(timers.now() + 10_000);

    // Act
    await Promise.all([
      first.createAsset({ name: 'View 1', type: 1 }),
      second.createAsset({ name: 'View 2', type: 1 }),
    ]);
    await client.createAsset({ name: 'Client', type: 1 });
    await first.withDeadline(timers.now() + 5_000).createAsset({ name: 'View of a view', type: 1 });

    // Assess
    const seen = requestsSince(mark);
    expect(seen.filter((request) => request.path === '/v1/auth/token/')).toHaveLength(1);
    expect(seen.filter((request) => request.path === '/v1/assets/' && request.status === 201)).toHaveLength(4);
  });

  it('a view with time left, and the client itself, outlast a token endpoint stall that a view with less time gave up on', async () => {
    // Prepare
    const { client, timers } = clientFor();
    simulator.stall(1_200, { pathIncludes: '/v1/auth/token/' });
    const mark = simulator.requests.length;
    const shortDeadline = timers.now() + 400;
    const short = client.withDeadline(shortDeadline);
    const long = client.withDeadline(timers.now() + 6_000);

    let shortRejectedAt = Number.POSITIVE_INFINITY;

    // Act
    const [shortOutcome, longOutcome, unboundedOutcome] = await Promise.allSettled([
      short.createAsset({ name: 'Short', type: 1 }).catch((error: unknown) => {
        shortRejectedAt = timers.now();
        throw error;
      }),
      long.createAsset({ name: 'Long', type: 1 }),
      client.createAsset({ name: 'Unbounded', type: 1 }),
    ]);

    // Assess
    expect(shortOutcome.status).toBe('rejected');
    expect(shortRejectedAt).toBeLessThanOrEqual(shortDeadline + SLACK_MS);
    const shortError = (shortOutcome as PromiseRejectedResult).reason as Error;
    expectTransient(shortError);
    expect(shortError.message).toContain('POST /v1/auth/token/');
    expect(longOutcome).toMatchObject({ status: 'fulfilled', value: { name: 'Long' } });
    expect(unboundedOutcome).toMatchObject({ status: 'fulfilled', value: { name: 'Unbounded' } });
    const tokenRequests = requestsSince(mark).filter((request) => request.path === '/v1/auth/token/');
    expect(tokenRequests.filter((request) => request.fault === 'stalled').length).toBeGreaterThanOrEqual(2);
    expect(tokenRequests.filter((request) => request.status === 200)).toHaveLength(1);
  });
});

describe('startProcessing through a view', () => {
  it('stops by the deadline when process/ stalls, sends it once, and the retried step starts processing once', async () => {
    // Prepare
    const { client, timers } = clientFor();
    const inspection = await readyInspection(client);
    simulator.stall(1_500, { method: 'POST', pathIncludes: `/inspections/${inspection.id}/process/` });
    const mark = simulator.requests.length;
    const deadline = timers.now() + 600;

    // Act
    const error = await rejectionOf(client.withDeadline(deadline).startProcessing(inspection.id));
    const rejectedAt = timers.now();
    const processCallsOfFirstStep = requestsSince(mark).filter((request) => request.path.endsWith('/process/'));
    await sleep(1_100);
    const retried = await client
      .withDeadline(timers.now() + 5_000)
      .startProcessing(inspection.id, { statusBefore: inspection.status });

    // Assess
    expectTransient(error);
    expect(rejectedAt).toBeLessThanOrEqual(deadline + SLACK_MS);
    expect(processCallsOfFirstStep).toEqual([
      { method: 'POST', path: `/v1/inspections/${inspection.id}/process/`, status: 0, fault: 'stalled' },
    ]);
    expect(retried.confirmedByStatus).toBe(false);
    const processCalls = requestsSince(mark).filter((request) => request.path.endsWith('/process/'));
    expect(processCalls.map((request) => request.status)).toEqual([0, 202]);
  });

  it('stops resending before the deadline when process/ keeps failing without effect, reading the status before each resend', async () => {
    // Prepare
    const { client, timers, waits } = clientRecordingWaits();
    const inspection = await readyInspection(client);
    for (let i = 0; i < 40; i++)
      simulator.injectFault({
        action: 'answer',
        status: 503,
        method: 'POST',
        pathIncludes: `/inspections/${inspection.id}/process/`,
      });
    const mark = simulator.requests.length;
    const deadline = timers.now() + 1_000;

    // Act
    const error = await rejectionOf<Pix4dServerError>(client.withDeadline(deadline).startProcessing(inspection.id));
    const rejectedAt = timers.now();

    // Assess
    expectTransient(error);
    expect(error).toBeInstanceOf(Pix4dServerError);
    expect(error.endpoint).toBe(`POST /v1/inspections/${inspection.id}/process/`);
    expect(rejectedAt).toBeLessThanOrEqual(deadline + SLACK_MS);
    for (const wait of waits) expect(wait.at + wait.ms).toBeLessThan(deadline + 1);
    const calls = inspectionRequestsSince(mark, inspection.id).map((request) => `${request.method} ${request.status}`);
    expect(calls.filter((call) => call === 'POST 503').length).toBeGreaterThanOrEqual(2);
    // Every process/ is preceded by a status read that showed processing had not started.
    calls.forEach((call, i) => {
      if (call.startsWith('POST')) expect(calls[i - 1]).toBe('GET 200');
    });
    expect(calls.every((call) => call === 'GET 200' || call === 'POST 503')).toBe(true);
    expect((await client.getInspection(inspection.id)).pcs_task_uuid).toBeNull();
  });
});

describe('with timers 60 times as fast as the wall clock', () => {
  let fast: Simulator;

  beforeAll(async () => {
    fast = await startSimulator({ account, timers: scaledTimers(60) });
  });

  afterAll(async () => {
    await fast.close();
  });

  it('a call with the default timeouts and backoff stops at the simulated deadline of a 60-second invocation', async () => {
    // Prepare
    const timers = scaledTimers(60);
    const client = new Pix4dInspectClient({ account, authUrl: fast.apiUrl, apiUrl: fast.apiUrl, timers });
    const inspection = await newInspection(client);
    fast.stall(3 * 60_000, { method: 'GET', pathIncludes: `/inspections/${inspection.id}/` });
    const mark = fast.requests.length;
    const firstAttempt = timers.timeouts.length;
    const deadline = timers.now() + 60_000;

    // Act
    const error = await rejectionOf(client.withDeadline(deadline).getInspection(inspection.id));
    const rejectedAt = timers.now();

    // Assess
    expectTransient(error);
    expect(error).toBeInstanceOf(Pix4dTimeoutError);
    // 30 simulated seconds are half a real second.
    expect(rejectedAt).toBeLessThanOrEqual(deadline + 30_000);
    const attempts = timers.timeouts.slice(firstAttempt);
    expect(attempts[0]!.ms).toBe(30_000);
    // The client reads the clock, then asks for the timeout, which records the clock again: between the two reads
    // the scaled clock runs on, so allow one real millisecond (60 simulated) of it.
    const clockReadsApart = timers.factor;
    for (const attempt of attempts) {
      expect(attempt.at).toBeLessThan(deadline);
      expect(attempt.at + attempt.ms).toBeLessThanOrEqual(deadline + clockReadsApart);
    }
    expect(requestsSince(mark, fast).length).toBeGreaterThan(0);
    expect(requestsSince(mark, fast).every((request) => request.fault === 'stalled')).toBe(true);
  });

  it("measures the stall and the delay fault on the simulator's timers", async () => {
    // Prepare
    const mark = fast.requests.length;
    fast.stall(60_000, { pathIncludes: '/v1/assets/' });
    fast.injectFault({ action: 'delay', ms: 30_000, pathIncludes: '/v1/auth/token/' });
    const startedAt = Date.now();

    // Act
    const [stalled, delayed] = await Promise.allSettled([
      fetch(`${fast.apiUrl}/v1/assets/`).then(() => Date.now() - startedAt),
      fetch(`${fast.apiUrl}/v1/auth/token/`, { method: 'POST' }).then((response) => ({
        status: response.status,
        after: Date.now() - startedAt,
      })),
    ]);
    const stallEndedAfter = Date.now() - startedAt;

    // Assess
    // A stall ends by closing the connection without an answer: fetch fails.
    expect(stalled.status).toBe('rejected');
    expect(stallEndedAfter).toBeGreaterThanOrEqual(900);
    // On the wall clock they would take 60 s and 30 s.
    expect(stallEndedAfter).toBeLessThan(10_000);
    expect(delayed).toMatchObject({ status: 'fulfilled', value: { status: 403 } });
    expect((delayed as PromiseFulfilledResult<{ after: number }>).value.after).toBeGreaterThanOrEqual(450);
    expect(requestsSince(mark, fast)).toContainEqual({
      method: 'GET',
      path: '/v1/assets/',
      status: 0,
      fault: 'stalled',
    });
  });

  it('rides out a 3-minute stall of status polling: each 60-second invocation fails transiently, and one after the stall succeeds', async () => {
    // Prepare
    // 180 times as fast, so that the three minutes take one real second; client and service on one clock.
    const timers = scaledTimers(180);
    const faster = await startSimulator({ account, timers });
    const failures: Error[] = [];
    try {
      const client = new Pix4dInspectClient({ account, authUrl: faster.apiUrl, apiUrl: faster.apiUrl, timers });
      const inspection = await newInspection(client);
      const stallEndsAt = timers.now() + 3 * 60_000;
      faster.stall(3 * 60_000, { method: 'GET', pathIncludes: `/inspections/${inspection.id}/` });

      // Act
      let detail: Awaited<ReturnType<typeof client.getInspection>> | undefined;
      for (let invocation = 0; invocation < 8 && !detail; invocation++) {
        try {
          detail = await client.withDeadline(timers.now() + 60_000).getInspection(inspection.id);
        } catch (error) {
          failures.push(error as Error);
        }
      }

      // Assess
      expect(detail?.id).toBe(inspection.id);
      expect(timers.now()).toBeGreaterThanOrEqual(stallEndsAt);
      expect(failures.length).toBeGreaterThanOrEqual(2);
      for (const failure of failures) expectTransient(failure);
    } finally {
      await faster.close();
    }
  });
});
