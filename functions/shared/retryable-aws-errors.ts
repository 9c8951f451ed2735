import type middy from '@middy/core';
import { asRetryableAwsError } from '../../src/aws-errors';

/**
 * Middleware: a transient AWS SDK error leaves the function as `AwsThrottlingError` or `AwsTransientError`, the
 * names the state machines retry, so that the classification stays the SDK's and lives in one place.
 */
export const retryableAwsErrors = (): middy.MiddlewareObj => ({
  onError: async (request) => {
    request.error = asRetryableAwsError(request.error) as Error;
  },
});
