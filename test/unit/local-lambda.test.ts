import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LambdaFunctionError, LocalLambda, MAX_SYNC_PAYLOAD_BYTES } from '../../local/pipeline/local-lambda';
import { scaledTimers } from '../../src/timers';

/** Functions as Lambda runs them in local mode: the template's timeout, the context's clock, payload limits. */

const settings = { name: 'check-status', timeoutSeconds: 60, memorySize: 256 };

async function failure(call: Promise<unknown>): Promise<LambdaFunctionError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof LambdaFunctionError)) throw new Error(`Expected a LambdaFunctionError, got ${String(error)}`);
  return error;
}

describe('LocalLambda', () => {
  it("gives the handler a context whose remaining time starts at the function's timeout and counts down", async () => {
    // Prepare: 60 times faster than the wall clock, so the 60 s timeout lasts one real second.
    const timers = scaledTimers(60);
    const seen: number[] = [];
    const lambda = new LocalLambda(
      settings,
      async (_event: never, context: Context) => {
        seen.push(context.getRemainingTimeInMillis());
        await timers.sleep(20_000);
        seen.push(context.getRemainingTimeInMillis());
        return { memory: context.memoryLimitInMB, name: context.functionName };
      },
      timers,
    );

    // Act
    const result = await lambda.invoke({});

    // Assess
    expect(result).toEqual({ memory: '256', name: 'check-status' });
    expect(seen[0]).toBeGreaterThan(58_000);
    expect(seen[0]).toBeLessThanOrEqual(60_000);
    expect(seen[1]).toBeLessThanOrEqual(seen[0]! - 19_000);
  });

  it('cuts an invocation that runs past the timeout with Sandbox.Timedout, as Lambda reports it', async () => {
    // Prepare
    const timers = scaledTimers(60);
    let finished = false;
    const lambda = new LocalLambda(
      settings,
      async () => {
        await timers.sleep(120_000);
        finished = true;
      },
      timers,
    );

    // Act
    const error = await failure(lambda.invoke({}));

    // Assess: the error came while the handler was still at work.
    expect(error.name).toBe('Sandbox.Timedout');
    expect(JSON.parse(error.message)).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringContaining('Task timed out after 60.00 seconds'),
    });
    expect(finished).toBe(false);
  });

  it("reports a handler's error by its name, with Lambda's JSON cause", async () => {
    // Prepare
    class Pix4dServerError extends Error {
      override name = 'Pix4dServerError';
    }
    const lambda = new LocalLambda(
      settings,
      async () => {
        throw new Pix4dServerError('Pix4Dinspect failed: GET /v1/inspections/1/ answered 503');
      },
      scaledTimers(1),
    );

    // Act
    const error = await failure(lambda.invoke({}));

    // Assess
    expect(error.name).toBe('Pix4dServerError');
    expect(JSON.parse(error.message)).toMatchObject({
      errorType: 'Pix4dServerError',
      errorMessage: 'Pix4Dinspect failed: GET /v1/inspections/1/ answered 503',
      trace: expect.any(Array),
    });
  });

  it('refuses a response above the 6 MB of a synchronous invocation', async () => {
    // Prepare
    const lambda = new LocalLambda(settings, async () => 'x'.repeat(MAX_SYNC_PAYLOAD_BYTES), scaledTimers(1));

    // Act
    const error = await failure(lambda.invoke({}));

    // Assess
    expect(error.name).toBe('Function.ResponseSizeTooLarge');
  });
});
