import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';

/**
 * The simulator's scripted faults that tests of the client's token and `process/` handling rely on, over raw HTTP:
 * `slow` acts on a request its caller gave up on, and an `answer` with `afterAuthentication` spares a request whose
 * token is refused.
 */

let simulator: Simulator;
let token: string;

beforeAll(async () => {
  simulator = await startSimulator();
  const answer = await fetch(`${simulator.apiUrl}/v1/auth/token/`, {
    method: 'POST',
    headers: { 'X-Api-Key': simulator.account.apiKey, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      username: simulator.account.username,
      password: simulator.account.password,
    }).toString(),
  });
  token = ((await answer.json()) as { api_token: string }).api_token;
});

afterAll(async () => {
  await simulator.close();
});

function post(path: string, body: unknown, options: { token?: string; signal?: AbortSignal } = {}) {
  return fetch(`${simulator.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      'X-Api-Key': simulator.account.apiKey,
      Authorization: `Bearer ${options.token ?? token}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

describe('scripted faults', () => {
  it('slow: acts on the request after the wait although the caller gave up; delay: does not', async () => {
    // Prepare
    simulator.injectFault({ action: 'slow', ms: 400, method: 'POST', pathIncludes: '/v1/assets/' });
    simulator.injectFault({ action: 'delay', ms: 400, method: 'POST', pathIncludes: '/v1/assets/' });

    // Act
    const slow = await post('/v1/assets/', { name: 'Slow tower', type: 1 }, { signal: AbortSignal.timeout(100) }).catch(
      (error: Error) => error.name,
    );
    const delayed = await post(
      '/v1/assets/',
      { name: 'Delayed tower', type: 1 },
      { signal: AbortSignal.timeout(100) },
    ).catch((error: Error) => error.name);
    await new Promise((resolve) => setTimeout(resolve, 600));

    // Assess
    expect([slow, delayed]).toEqual(['TimeoutError', 'TimeoutError']);
    expect(simulator.holdings().assets.map((asset) => asset.name)).toEqual(['Slow tower']);
  });

  it('answer afterAuthentication: a refused token gets its 401 and leaves the fault to the next accepted request', async () => {
    // Prepare
    simulator.injectFault({
      action: 'answer',
      status: 429,
      retryAfterSeconds: 2,
      afterAuthentication: true,
      pathIncludes: '/v1/assets/',
    });

    // Act
    const refused = await post('/v1/assets/', { name: 'x', type: 1 }, { token: 'not-a-token' });
    const throttled = await post('/v1/assets/', { name: 'x', type: 1 });
    const served = await post('/v1/assets/', { name: 'Served tower', type: 1 });

    // Assess
    expect([refused.status, throttled.status, served.status]).toEqual([401, 429, 201]);
    expect(throttled.headers.get('retry-after')).toBe('2');
  });
});
