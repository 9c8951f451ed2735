import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AWS_THROTTLING_ERRORS, AWS_TRANSIENT_ERRORS } from '../src/aws-errors';
import { TRANSIENT_PIX4D_ERRORS } from '../src/pix4d/errors';

/** Lambda refusing an invocation for lack of concurrency: waited out, for as long as throttling may last. */
export const LAMBDA_THROTTLING_ERRORS = ['Lambda.TooManyRequestsException'];

/** Errors of the Lambda service itself, worth a retry whatever the step. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
];

/** A Lambda that timed out (`Sandbox.Timedout`), or a task the state machine stopped waiting for (`States.Timeout`). */
export const TIMEOUT_ERRORS = ['Sandbox.Timedout', 'States.Timeout'];

/** Throttling by Lambda or by an AWS service a function called (classified by the SDK, `src/aws-errors.ts`). */
export const THROTTLING_ERRORS = [...LAMBDA_THROTTLING_ERRORS, ...AWS_THROTTLING_ERRORS];

/** Errors that another attempt of any step may not meet: AWS's, Lambda's and Pix4Dinspect's transient ones. */
export const TRANSIENT_ERRORS = [
  ...LAMBDA_SERVICE_ERRORS,
  ...AWS_TRANSIENT_ERRORS,
  ...TRANSIENT_PIX4D_ERRORS,
  'AssetRegistryBusyError',
];

/** How long throttling is waited out before a step fails. @see InspectPipelineProps.throttleRetryMinutes */
export const DEFAULT_THROTTLE_RETRY = Duration.minutes(30);

/** The waits of a Retry: IntervalSeconds x BackoffRate^n, at most MaxDelaySeconds, MaxAttempts of them. */
export interface RetrySchedule {
  readonly interval: Duration;
  readonly backoffRate: number;
  readonly maxDelay: Duration;
  readonly maxAttempts: number;
  /** Full jitter: each wait is random between 0 and its computed length, so that many runs do not retry at once. */
  readonly jitter: boolean;
}

/** The longest a schedule waits in all: the sum of its computed waits (jitter only shortens them). */
export function longestWaitSeconds(schedule: RetrySchedule): number {
  let total = 0;
  for (let attempt = 0; attempt < schedule.maxAttempts; attempt++) {
    total += Math.min(schedule.interval.toSeconds() * schedule.backoffRate ** attempt, schedule.maxDelay.toSeconds());
  }
  return total;
}

/** The fewest attempts of `shape` whose computed waits add up to `budget` or more. */
export function scheduleLasting(budget: Duration, shape: Omit<RetrySchedule, 'maxAttempts'>): RetrySchedule {
  let schedule: RetrySchedule = { ...shape, maxAttempts: 1 };
  while (longestWaitSeconds(schedule) < budget.toSeconds())
    schedule = { ...schedule, maxAttempts: schedule.maxAttempts + 1 };
  return schedule;
}

/**
 * Throttling: backoff from 5 s to 5 minutes with full jitter, as many attempts as make `budget` (at most that long
 * in all; on average about half, since each wait is random up to its computed length).
 */
export function throttleSchedule(budget: Duration = DEFAULT_THROTTLE_RETRY): RetrySchedule {
  return scheduleLasting(budget, {
    interval: Duration.seconds(5),
    backoffRate: 2,
    maxDelay: Duration.minutes(5),
    jitter: true,
  });
}

/** The steps that run once per batch: five attempts from 5 s, at most 2 minutes apart, with jitter. */
export const STEP_SCHEDULE: RetrySchedule = {
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxDelay: Duration.minutes(2),
  maxAttempts: 5,
  jitter: true,
};

/**
 * Publishing the outcome: every failure but a permanent one is retried for at least `budget` without jitter, so
 * that a run's one message outlasts that much SNS trouble whatever the draw.
 */
export function notifySchedule(budget: Duration): RetrySchedule {
  return scheduleLasting(budget, {
    interval: Duration.seconds(10),
    backoffRate: 2,
    maxDelay: Duration.minutes(5),
    jitter: false,
  });
}

/** A Retry of `errors` on `schedule`. */
export function retryOn(errors: readonly string[], schedule: RetrySchedule): sfn.RetryProps {
  return {
    errors: [...errors],
    interval: schedule.interval,
    backoffRate: schedule.backoffRate,
    maxAttempts: schedule.maxAttempts,
    maxDelay: schedule.maxDelay,
    jitterStrategy: schedule.jitter ? sfn.JitterType.FULL : sfn.JitterType.NONE,
  };
}
