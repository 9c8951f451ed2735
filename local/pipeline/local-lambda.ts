import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { Timers } from '../../src/timers';
import { LOCAL_ACCOUNT } from './synthesized-stack';

/** Lambda's limit on a synchronous invocation's request and response payloads. */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** What Lambda needs to know of a function to run it: the template's name, timeout and memory. */
export interface FunctionSettings {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

export type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

/**
 * A function error as Lambda reports it to its caller: `name` is the error type (what Step Functions' Retry and
 * Catch match), `message` the JSON Lambda puts in the cause (`errorType`, `errorMessage`, `trace`).
 */
export class LambdaFunctionError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    trace: readonly string[] = [],
  ) {
    super(JSON.stringify({ errorType, errorMessage, trace }));
    this.name = errorType;
  }
}

/**
 * One function run as Lambda runs it: the context's remaining time counts down from the function's timeout, an
 * invocation that runs past it is cut with `Sandbox.Timedout` (its promise is abandoned: there is no sandbox to
 * freeze here), payloads above 6 MB are refused, and an error reaches the caller as Lambda reports it.
 */
export class LocalLambda {
  constructor(
    private readonly settings: FunctionSettings,
    private readonly handler: LambdaHandler,
    private readonly timers: Timers,
    /** Told of every invocation that ends in an error, as Lambda reports it. */
    private readonly onError: (error: LambdaFunctionError) => void = () => undefined,
  ) {}

  async invoke(event: unknown): Promise<unknown> {
    try {
      return await this.run(event);
    } catch (error) {
      if (error instanceof LambdaFunctionError) this.onError(error);
      throw error;
    }
  }

  private async run(event: unknown): Promise<unknown> {
    const requestId = randomUUID();
    const request = JSON.stringify(event ?? null);
    if (Buffer.byteLength(request, 'utf8') > MAX_SYNC_PAYLOAD_BYTES) {
      throw new LambdaFunctionError(
        'RequestEntityTooLargeException',
        `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      );
    }
    const timeoutMs = this.settings.timeoutSeconds * 1000;
    const deadline = this.timers.now() + timeoutMs;
    // A timeout signal rather than a sleep: nothing is left pending once the invocation has ended.
    const timeout = this.timers.timeoutSignal(timeoutMs);
    const result = await new Promise<unknown>((resolve, reject) => {
      const onTimeout = () =>
        reject(
          new LambdaFunctionError(
            'Sandbox.Timedout',
            `RequestId: ${requestId} Error: Task timed out after ${this.settings.timeoutSeconds.toFixed(2)} seconds`,
          ),
        );
      timeout.addEventListener('abort', onTimeout, { once: true });
      this.handler(JSON.parse(request) as never, this.context(requestId, deadline)).then(
        (value) => {
          timeout.removeEventListener('abort', onTimeout);
          resolve(value);
        },
        (error: unknown) => {
          timeout.removeEventListener('abort', onTimeout);
          const cause = error instanceof Error ? error : new Error(String(error));
          reject(
            new LambdaFunctionError(
              cause.name || 'Error',
              cause.message,
              (cause.stack ?? '')
                .split('\n')
                .slice(1, 6)
                .map((line) => line.trim()),
            ),
          );
        },
      );
    });
    const response = JSON.stringify(result ?? null);
    if (Buffer.byteLength(response, 'utf8') > MAX_SYNC_PAYLOAD_BYTES) {
      throw new LambdaFunctionError(
        'Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${MAX_SYNC_PAYLOAD_BYTES} bytes).`,
      );
    }
    return JSON.parse(response) as unknown;
  }

  private context(requestId: string, deadline: number): Context {
    const { name, memorySize } = this.settings;
    const { region, account } = LOCAL_ACCOUNT;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${name}`,
      memoryLimitInMB: String(memorySize),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - this.timers.now())),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}
