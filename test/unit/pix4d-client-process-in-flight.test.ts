import { describe, expect, it } from 'vitest';
import { type Pix4dClientOptions, Pix4dInspectClient } from '../../src/pix4d/client';
import { type Pix4dApiError, Pix4dProcessingUnconfirmedError, TRANSIENT_PIX4D_ERRORS } from '../../src/pix4d/errors';
import { rejectionOf } from '../helpers/rejection';
import { inspectionReadyToProcess, simulatorPerFile } from '../helpers/simulator-per-file';

/**
 * `process/` consumes allowance, so it is never in flight twice: after a request that went unanswered (client-side
 * timeout, cut connection) the client watches the inspection's status until the request can no longer take effect
 * (`processSettleMs`) before it sends another. Against the simulator over HTTP; its `slow` fault starts processing
 * after the client gave up, as a service that does not notice a caller leaving.
 */

const account = {
  username: 'drone.ops+process-in-flight-test@example.com',
  password: 'Pa55-process-in-flight-Rt3!',
  apiKey: 'apikey-process-in-flight-8c2e',
};

const REQUEST_TIMEOUT_MS = 300;
const SETTLE_MS = 1_200;

const simulator = simulatorPerFile(account);

function clientFor(options: Partial<Pix4dClientOptions> = {}) {
  return new Pix4dInspectClient({
    account,
    authUrl: simulator().apiUrl,
    apiUrl: simulator().apiUrl,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    processSettleMs: SETTLE_MS,
    backoff: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 20, maxTotalMs: 30_000 },
    ...options,
  });
}

/** An inspection with one registered image, ready for `process/`. */
async function readyInspection(client: Pix4dInspectClient) {
  const inspection = await inspectionReadyToProcess(client, simulator(), 'Tower in flight');
  return client.getInspection(inspection.id);
}

/** The `process/` requests of one inspection since `mark`, as `status (fault)`. */
function processCallsSince(mark: number, inspectionId: number): string[] {
  return simulator()
    .requests.slice(mark)
    .filter((request) => request.path === `/v1/inspections/${inspectionId}/process/`)
    .map((request) => `${request.status}${request.fault ? ` (${request.fault})` : ''}`);
}

function processingStarted(inspectionId: number): boolean | undefined {
  return simulator()
    .holdings()
    .inspections.find((held) => held.id === inspectionId)?.processingStarted;
}

describe('a process/ that times out client-side while the service starts processing slowly', () => {
  it('is not sent again: the status shows the start, and the call succeeds with one process/ request', async () => {
    // Prepare: the service acts on process/ 900 ms after it came, three request timeouts after the client gave up.
    const client = clientFor();
    const inspection = await readyInspection(client);
    simulator().injectFault({
      action: 'slow',
      ms: 900,
      method: 'POST',
      pathIncludes: `/inspections/${inspection.id}/process/`,
    });
    const mark = simulator().requests.length;

    // Act
    const start = await client.startProcessing(inspection.id);

    // Assess
    expect(start.confirmedByStatus).toBe(true);
    expect(start.status.id).not.toBe(inspection.status.id);
    expect(processCallsSince(mark, inspection.id)).toEqual(['202']);
    expect(processingStarted(inspection.id)).toBe(true);
  });

  it('fails with a transient Pix4dProcessingUnconfirmedError when the time runs out first, and the retried step then sees the start without sending', async () => {
    // Prepare: the invocation has 700 ms, the service acts after 1,000.
    const client = clientFor();
    const inspection = await readyInspection(client);
    simulator().injectFault({
      action: 'slow',
      ms: 1_000,
      method: 'POST',
      pathIncludes: `/inspections/${inspection.id}/process/`,
    });
    const mark = simulator().requests.length;
    const firstAttemptAt = Date.now();

    // Act
    const error = await rejectionOf<Pix4dApiError>(
      client.withDeadline(firstAttemptAt + 700).startProcessing(inspection.id),
    );
    const retried = await client
      .withDeadline(Date.now() + 5_000)
      .startProcessing(inspection.id, { statusBefore: inspection.status, earlierAttemptAt: firstAttemptAt });

    // Assess
    expect(error).toBeInstanceOf(Pix4dProcessingUnconfirmedError);
    expect(error.transient).toBe(true);
    expect(TRANSIENT_PIX4D_ERRORS).toContain(error.name);
    expect(error.message).toContain(`POST /v1/inspections/${inspection.id}/process/`);
    expect(error.message).toMatch(
      /may have started, or may still start: the request went unanswered \(Pix4dTimeoutError\)/,
    );
    expect(error.message).toContain(`"${inspection.status.name}"`);
    expect(retried.confirmedByStatus).toBe(true);
    expect(processCallsSince(mark, inspection.id)).toEqual(['202']);
  });

  it('is refused by the service at the resend when it outlived processSettleMs, and the status confirms the start', async () => {
    // Prepare: settle shorter than the service is slow (a misjudged setting). The first request times out at 1 s and
    // acts at 1.5 s; the watch ends at 1.2 s; the resend, held 600 ms, is refused as a second start.
    const client = clientFor({ requestTimeoutMs: 1_000, processSettleMs: 200 });
    const inspection = await readyInspection(client);
    const path = `/inspections/${inspection.id}/process/`;
    simulator().injectFault({ action: 'slow', ms: 1_500, method: 'POST', pathIncludes: path });
    simulator().injectFault({ action: 'delay', ms: 600, method: 'POST', pathIncludes: path });
    const mark = simulator().requests.length;

    // Act
    const start = await client.startProcessing(inspection.id);

    // Assess
    expect(start.confirmedByStatus).toBe(true);
    expect(processCallsSince(mark, inspection.id)).toEqual(['202', '400']);
    expect(processingStarted(inspection.id)).toBe(true);
  });
});

describe('a process/ lost before it reached the service', () => {
  it.each([
    [
      'cut on arrival',
      (inspectionId: number) =>
        simulator().injectFault({
          action: 'disconnect',
          method: 'POST',
          pathIncludes: `/inspections/${inspectionId}/process/`,
        }),
      '0 (disconnect)',
    ],
    [
      'held unanswered past the request timeout',
      (inspectionId: number) =>
        simulator().stall(500, { method: 'POST', pathIncludes: `/inspections/${inspectionId}/process/` }),
      '0 (stalled)',
    ],
  ])('(%s) is sent again once, after processSettleMs of an unchanged status', async (_case, lose, lost) => {
    // Prepare
    const client = clientFor();
    const inspection = await readyInspection(client);
    lose(inspection.id);
    const mark = simulator().requests.length;
    const startedAt = Date.now();

    // Act
    const start = await client.startProcessing(inspection.id);
    const took = Date.now() - startedAt;

    // Assess
    expect(start.confirmedByStatus).toBe(false);
    expect(processCallsSince(mark, inspection.id)).toEqual([lost, '202']);
    expect(processingStarted(inspection.id)).toBe(true);
    // Between the lost request and the resend, the status was read over the settle time, not once.
    const calls = simulator()
      .requests.slice(mark)
      .filter((request) => request.path.includes(`/inspections/${inspection.id}/`));
    const lostAt = calls.findIndex((request) => request.method === 'POST');
    const resentAt = calls.findIndex((request) => request.method === 'POST' && request.status === 202);
    const reads = calls.slice(lostAt + 1, resentAt).map((request) => `${request.method} ${request.status}`);
    // Every SETTLE_MS / 6 from the failure: 7 on an idle machine, fewer when reads are slow.
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(new Set(reads)).toEqual(new Set(['GET 200']));
    expect(took).toBeGreaterThanOrEqual(SETTLE_MS);
  });

  it('is sent by the retried step only after processSettleMs, when the first attempt ran out of time before it could tell', async () => {
    // Prepare: the first invocation's process/ is held without effect and its time runs out while it watches.
    const client = clientFor();
    const inspection = await readyInspection(client);
    simulator().stall(600, { method: 'POST', pathIncludes: `/inspections/${inspection.id}/process/` });
    const mark = simulator().requests.length;
    const firstAttemptAt = Date.now();
    const error = await rejectionOf(client.withDeadline(firstAttemptAt + 500).startProcessing(inspection.id));
    const retriedAt = Date.now();

    // Act
    const retried = await client.startProcessing(inspection.id, {
      statusBefore: inspection.status,
      earlierAttemptAt: firstAttemptAt,
    });
    const resentAfter = Date.now() - retriedAt;

    // Assess
    expect(error).toBeInstanceOf(Pix4dProcessingUnconfirmedError);
    expect(retried.confirmedByStatus).toBe(false);
    expect(processCallsSince(mark, inspection.id)).toEqual(['0 (stalled)', '202']);
    expect(resentAfter).toBeGreaterThanOrEqual(SETTLE_MS);
  });
});
