import { isThrottlingError, isTransientError } from '@smithy/core/retry';

/**
 * AWS errors that are worth another attempt of the whole step, as the AWS SDK itself classifies them (its own retry
 * decision): throttling, 5xx answers, timeouts and dropped connections. The SDK has retried them already; what
 * escapes its retries leaves the function under one of these two names, which the state machines retry.
 */
export class AwsThrottlingError extends Error {
  override name = 'AwsThrottlingError';
}

export class AwsTransientError extends Error {
  override name = 'AwsTransientError';
}

/** The names a Retry matches: throttling is waited out longer than other transient errors. */
export const AWS_THROTTLING_ERRORS = ['AwsThrottlingError'];
export const AWS_TRANSIENT_ERRORS = ['AwsTransientError'];

/** An error that came out of an AWS SDK call: the SDK's retry attaches `$metadata` to whatever it throws. */
interface SdkError extends Error {
  readonly $metadata: { readonly httpStatusCode?: number; readonly attempts?: number; readonly requestId?: string };
  readonly code?: string;
}

function isSdkError(error: unknown): error is SdkError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SdkError>).$metadata === 'object' &&
    (error as Partial<SdkError>).$metadata !== null
  );
}

/**
 * The error to leave a step with: a transient AWS SDK error becomes `AwsThrottlingError` or `AwsTransientError`
 * (the original kept as `cause`, its name and status in the message); anything else is returned as it is.
 */
export function asRetryableAwsError(error: unknown): unknown {
  if (!isSdkError(error)) return error;
  const classified = error as Parameters<typeof isTransientError>[0];
  const throttled = isThrottlingError(classified);
  if (!throttled && !isTransientError(classified)) return error;
  const { httpStatusCode, attempts, requestId } = error.$metadata;
  const answer = [
    error.name,
    ...(error.code && error.code !== error.name ? [error.code] : []),
    ...(httpStatusCode ? [`HTTP ${httpStatusCode}`] : []),
    ...(attempts ? [`${attempts} attempt(s)`] : []),
    ...(requestId ? [`request ${requestId}`] : []),
  ].join(', ');
  const message = `AWS call failed (${answer}): ${error.message}`;
  return throttled
    ? new AwsThrottlingError(message, { cause: error })
    : new AwsTransientError(message, { cause: error });
}

/** S3's answers to a conditional write that lost to another writer (412, or 409 for writes racing each other). */
export function isConditionalWriteConflict(error: unknown): boolean {
  const name = (error as Error).name;
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}
