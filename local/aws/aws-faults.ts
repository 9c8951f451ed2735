import type { SdkClientWithStack } from '../iam/sdk-identity';
import { jsonError, type RawResponse, s3Error, snsError } from './service-answers';

/**
 * Transient AWS failures for local mode: an SDK call chosen to fail gets the service's own error answer on every
 * attempt, so the SDK retries it as it would on AWS and then throws what it throws there once its retries are spent.
 */

/** What goes wrong: a 5xx answer, throttling, or no answer in time. */
export type AwsFaultKind = 'server-error' | 'throttling' | 'timeout';

/** One SDK call, as the fault plan sees it. */
export interface AwsCall {
  /** Who makes it (the function's step name). */
  readonly caller: string;
  /** The SDK client's name: `S3Client`, `SNSClient`, `SecretsManagerClient`, `SFNClient`. */
  readonly client: string;
  /** The command's name without `Command`: `PutObject`, `Publish`, `GetSecretValue`... */
  readonly operation: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** Decides, once per SDK call (not per attempt), whether it fails and how. */
export type AwsFaultPlan = (call: AwsCall) => AwsFaultKind | undefined;

type Next = (args: { input: object; request: unknown }) => Promise<{ response: unknown }>;
type Context = { clientName?: string; commandName?: string };

/** Applies `plan` to every call of `client` made by `caller`; below the SDK's retries, so each attempt fails. */
export function withAwsFaults<C extends SdkClientWithStack>(client: C, caller: string, plan: AwsFaultPlan): C {
  const decided = new WeakMap<object, AwsFaultKind | null>();
  const middleware = (next: Next, context: Context) => async (args: { input: object; request: unknown }) => {
    // One context per SDK call, shared by its attempts: the plan is asked once per call.
    if (!decided.has(context)) {
      const call: AwsCall = {
        caller,
        client: context.clientName ?? 'unknown',
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        input: args.input as Record<string, unknown>,
      };
      decided.set(context, plan(call) ?? null);
    }
    const fault = decided.get(context);
    if (!fault) return next(args);
    if (fault === 'timeout')
      throw Object.assign(new Error('Connection timed out after 30000 ms (simulated)'), { name: 'TimeoutError' });
    return { response: faultAnswer(context.clientName ?? '', context.commandName ?? '', fault) };
  };
  client.middlewareStack.addRelativeTo(middleware as never, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'localAwsFaults',
  });
  return client;
}

/** The answer each service gives for a fault, in its own protocol and with its own codes. */
function faultAnswer(client: string, command: string, fault: 'server-error' | 'throttling'): RawResponse {
  const server = fault === 'server-error';
  switch (client) {
    case 'S3Client':
      return server
        ? s3Error(
            500,
            'InternalError',
            'We encountered an internal error. Please try again.',
            command === 'HeadObjectCommand',
          )
        : s3Error(503, 'SlowDown', 'Please reduce your request rate.', command === 'HeadObjectCommand');
    case 'SNSClient':
      return server ? snsError(500, 'InternalError', 'Internal Error') : snsError(429, 'Throttled', 'Rate exceeded');
    case 'SecretsManagerClient':
      return server
        ? jsonError('1.1', 500, 'InternalServiceError', 'An error occurred on the server side.')
        : jsonError('1.1', 400, 'ThrottlingException', 'Rate exceeded');
    case 'SFNClient':
      return server
        ? jsonError('1.0', 500, 'ServiceUnavailable', 'Service Unavailable')
        : jsonError('1.0', 400, 'ThrottlingException', 'Rate exceeded');
    default:
      throw new Error(`Local mode cannot fail a ${client} call`);
  }
}
