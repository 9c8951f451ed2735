import { S3ServiceException } from '@aws-sdk/client-s3';
import { ThrottledException } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { AwsThrottlingError, AwsTransientError, asRetryableAwsError } from '../../src/aws-errors';
import { Pix4dServerError } from '../../src/pix4d/errors';

/** An S3 error as the SDK throws it once its retries are spent. */
function s3Error(name: string, httpStatusCode: number, fault: 'client' | 'server'): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: fault,
    message: `${name} happened`,
    $metadata: { httpStatusCode, attempts: 3, requestId: 'R1' },
  });
}

describe('asRetryableAwsError', () => {
  it.each([
    ['S3 SlowDown (503)', s3Error('SlowDown', 503, 'server'), AwsThrottlingError],
    [
      'SNS Throttled',
      new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }),
      AwsThrottlingError,
    ],
    ['S3 InternalError (500)', s3Error('InternalError', 500, 'server'), AwsTransientError],
    ['S3 503 without a code', s3Error('Unknown', 503, 'server'), AwsTransientError],
    [
      'a request timeout',
      Object.assign(new Error('Connection timed out after 1000 ms'), {
        name: 'TimeoutError',
        $metadata: { attempts: 3 },
      }),
      AwsTransientError,
    ],
    [
      'a reset connection',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: { attempts: 3 } }),
      AwsTransientError,
    ],
  ])('names %s as the SDK classifies it, keeping the original as its cause', (_name, error, expected) => {
    // Act
    const answer = asRetryableAwsError(error);

    // Assess
    expect(answer).toBeInstanceOf(expected);
    expect((answer as Error).cause).toBe(error);
    expect((answer as Error).message).toContain(error.name);
    expect((answer as Error).message).toContain(error.message);
  });

  it('says how many attempts the SDK made and which request failed', () => {
    // Act
    const answer = asRetryableAwsError(s3Error('InternalError', 500, 'server')) as Error;

    // Assess
    expect(answer.message).toBe(
      'AWS call failed (InternalError, HTTP 500, 3 attempt(s), request R1): InternalError happened',
    );
  });

  it.each([
    ['S3 AccessDenied', s3Error('AccessDenied', 403, 'client')],
    ['S3 NoSuchKey', s3Error('NoSuchKey', 404, 'client')],
    [
      'a Pix4D error, whatever its cause',
      new Pix4dServerError('Pix4Dinspect answered 503', {
        endpoint: 'GET /v1/inspections/1/',
        cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      }),
    ],
    ['an error of the code', new TypeError('x is undefined')],
    ['something thrown that is not an error', 'text'],
  ])('leaves %s as it is', (_name, error) => {
    // Act
    const answer = asRetryableAwsError(error);

    // Assess
    expect(answer).toBe(error);
  });
});
