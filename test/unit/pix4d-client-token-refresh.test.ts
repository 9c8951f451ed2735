import { describe, expect, it } from 'vitest';
import { type Pix4dClientOptions, Pix4dInspectClient } from '../../src/pix4d/client';
import { Pix4dUnauthorizedError } from '../../src/pix4d/errors';
import { rejectionOf } from '../helpers/rejection';
import { inspectionReadyToProcess, simulatorPerFile } from '../helpers/simulator-per-file';

/**
 * Every attempt of a call takes a token that is valid when it is sent: a retry wait (Retry-After, backoff) longer
 * than the token's remaining life ends in a fresh token, not in a 401, against the simulator over HTTP with
 * tokens that live half a second. A 401 on a token that was valid when sent (revoked) gets one fresh token and
 * one repeat within the call.
 */

const account = {
  username: 'drone.ops+token-refresh-test@example.com',
  password: 'Pa55-token-refresh-test-Hd7!',
  apiKey: 'apikey-token-refresh-test-5e1b',
};

/** Half a second: the client refreshes 50 ms before it ends (a tenth of the lifetime). */
const TOKEN_TTL_SECONDS = 0.5;
/** Longer than a whole token lifetime. */
const WAIT_SECONDS = 0.8;

const simulator = simulatorPerFile(account);

/** A client on the wall clock whose backoff waits are WAIT_SECONDS each, so that every wait outlasts a token. */
function clientFor(options: Partial<Pix4dClientOptions> = {}) {
  return new Pix4dInspectClient({
    account,
    authUrl: simulator().apiUrl,
    apiUrl: simulator().apiUrl,
    requestTimeoutMs: 5_000,
    random: () => 0.999,
    backoff: { maxAttempts: 5, baseDelayMs: WAIT_SECONDS * 1000, maxDelayMs: WAIT_SECONDS * 1000, maxTotalMs: 30_000 },
    ...options,
  });
}

function callsSince(mark: number): string[] {
  return simulator()
    .requests.slice(mark)
    .map(
      (request) => `${request.method} ${request.path} ${request.status}${request.fault ? ` (${request.fault})` : ''}`,
    );
}

/** An inspection with one registered image, ready for `process/`, made with long-lived tokens. */
function readyInspection() {
  return inspectionReadyToProcess(clientFor(), simulator(), 'Tower token');
}

describe('a retry wait longer than the token has left', () => {
  it('ends in a fresh token for the next attempt, not a 401 (429 with Retry-After)', async () => {
    // Prepare
    const inspection = await readyInspection();
    simulator().settings.tokenTtlSeconds = TOKEN_TTL_SECONDS;
    const client = clientFor();
    await client.getInspection(inspection.id);
    simulator().injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: WAIT_SECONDS,
      pathIncludes: `/inspections/${inspection.id}/`,
    });
    const mark = simulator().requests.length;

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
    expect(callsSince(mark)).toEqual([
      `GET /v1/inspections/${inspection.id}/ 429 (scripted)`,
      'POST /v1/auth/token/ 200',
      `GET /v1/inspections/${inspection.id}/ 200`,
    ]);
  });

  it('completes a call whose throttled attempts each outlast a token, where a 401 after each would give up (503, then 429)', async () => {
    // Prepare: the service throttles after authenticating, as Django REST Framework does, so a stale token is
    // refused before it is throttled. Before tokens were taken per attempt: 503, 401, fresh token, 429, 401, and
    // the call failed with Pix4dUnauthorizedError.
    const inspection = await readyInspection();
    simulator().settings.tokenTtlSeconds = TOKEN_TTL_SECONDS;
    const client = clientFor();
    await client.getInspection(inspection.id);
    const path = `/inspections/${inspection.id}/`;
    simulator().injectFault({ action: 'answer', status: 503, afterAuthentication: true, pathIncludes: path });
    simulator().injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: WAIT_SECONDS,
      afterAuthentication: true,
      pathIncludes: path,
    });
    const mark = simulator().requests.length;

    // Act
    const error = await client.getInspection(inspection.id).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );

    // Assess
    expect(error).toBeUndefined();
    const calls = callsSince(mark);
    expect(calls.filter((call) => call.includes(' 401'))).toEqual([]);
    expect(calls).toEqual([
      `GET /v1/inspections/${inspection.id}/ 503 (scripted)`,
      'POST /v1/auth/token/ 200',
      `GET /v1/inspections/${inspection.id}/ 429 (scripted)`,
      'POST /v1/auth/token/ 200',
      `GET /v1/inspections/${inspection.id}/ 200`,
    ]);
  });

  it('starts processing once when process/ is throttled longer than the token lives', async () => {
    // Prepare
    const inspection = await readyInspection();
    simulator().settings.tokenTtlSeconds = TOKEN_TTL_SECONDS;
    const client = clientFor();
    const path = `/inspections/${inspection.id}/process/`;
    simulator().injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: WAIT_SECONDS,
      afterAuthentication: true,
      pathIncludes: path,
    });
    simulator().injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: WAIT_SECONDS,
      afterAuthentication: true,
      pathIncludes: path,
    });
    const mark = simulator().requests.length;

    // Act
    const start = await client.startProcessing(inspection.id);

    // Assess
    expect(start.confirmedByStatus).toBe(false);
    const processCalls = callsSince(mark).filter((call) => call.includes('/process/'));
    expect(processCalls).toEqual([
      `POST /v1/inspections/${inspection.id}/process/ 429 (scripted)`,
      `POST /v1/inspections/${inspection.id}/process/ 429 (scripted)`,
      `POST /v1/inspections/${inspection.id}/process/ 202`,
    ]);
    expect(callsSince(mark).filter((call) => call.includes(' 401'))).toEqual([]);
    expect(
      simulator()
        .holdings()
        .inspections.find((held) => held.id === inspection.id)?.processingStarted,
    ).toBe(true);
  });
});

describe('a 401 on a token that was valid when sent', () => {
  it('gets one fresh token and one repeat, also after a retry wait', async () => {
    // Prepare: the token is revoked while the client waits out a 429.
    const inspection = await readyInspection();
    const client = clientFor({
      sleep: async (ms) => {
        simulator().revokeTokens();
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    await client.getInspection(inspection.id);
    simulator().injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: 0.05,
      pathIncludes: `/inspections/${inspection.id}/`,
    });
    const mark = simulator().requests.length;

    // Act
    const detail = await client.getInspection(inspection.id);

    // Assess
    expect(detail.id).toBe(inspection.id);
    expect(callsSince(mark)).toEqual([
      `GET /v1/inspections/${inspection.id}/ 429 (scripted)`,
      `GET /v1/inspections/${inspection.id}/ 401`,
      'POST /v1/auth/token/ 200',
      `GET /v1/inspections/${inspection.id}/ 200`,
    ]);
  });

  it('gives up with Pix4dUnauthorizedError when the fresh token is refused too, after one repeat', async () => {
    // Prepare
    const inspection = await readyInspection();
    const client = clientFor();
    await client.getInspection(inspection.id);
    const path = `/inspections/${inspection.id}/`;
    for (let i = 0; i < 3; i++) simulator().injectFault({ action: 'answer', status: 401, pathIncludes: path });
    const mark = simulator().requests.length;

    // Act
    const error = await rejectionOf(client.getInspection(inspection.id));

    // Assess
    expect(error).toBeInstanceOf(Pix4dUnauthorizedError);
    expect(callsSince(mark)).toEqual([
      `GET /v1/inspections/${inspection.id}/ 401 (scripted)`,
      'POST /v1/auth/token/ 200',
      `GET /v1/inspections/${inspection.id}/ 401 (scripted)`,
    ]);
  });
});
