import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { type RetrySchedule, retryOn, STEP_SCHEDULE, THROTTLING_ERRORS, TRANSIENT_ERRORS } from './retry-policies';

/**
 * Step Functions waits this much longer than a function's own timeout before it gives up on the invocation
 * (`States.Timeout`): the function's timeout fires first; this only ends an invocation the Lambda service lost.
 */
export const TASK_TIMEOUT_MARGIN = Duration.seconds(30);

/** The timeout of a task that invokes `fn`: the function's timeout and the margin. */
export function taskTimeoutFor(fn: lambda.IFunction): sfn.Timeout {
  const timeout = fn instanceof lambda.Function && fn.timeout ? fn.timeout : Duration.minutes(15);
  return sfn.Timeout.duration(Duration.seconds(timeout.toSeconds() + TASK_TIMEOUT_MARGIN.toSeconds()));
}

export interface LambdaStepProps {
  readonly fn: lambda.IFunction;
  /** The payload, with JSONPath keys ending `.$`. */
  readonly payload: Record<string, unknown>;
  /** Where the answer goes; none: it becomes the state's output. */
  readonly resultPath?: string;
  /** How long throttling is waited out. */
  readonly throttling: RetrySchedule;
  /** Errors retried besides the transient ones (`TRANSIENT_ERRORS`). @default none */
  readonly errors?: readonly string[];
  /** @default STEP_SCHEDULE */
  readonly schedule?: RetrySchedule;
}

/** A task that invokes `fn` and returns its answer, with a timeout just past the function's own and no retry yet. */
export function invokeTask(
  scope: Construct,
  name: string,
  props: Pick<LambdaStepProps, 'fn' | 'payload' | 'resultPath'>,
): tasks.LambdaInvoke {
  return new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: props.fn,
    payload: sfn.TaskInput.fromObject(props.payload),
    payloadResponseOnly: true,
    // The integration's own retry of Lambda service errors is off: the retries are the ones each step declares.
    retryOnServiceExceptions: false,
    taskTimeout: taskTimeoutFor(props.fn),
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
  });
}

/** A step's task: throttling waited out, transient errors (and `errors`) retried on `schedule`. */
export function lambdaStep(scope: Construct, name: string, props: LambdaStepProps): tasks.LambdaInvoke {
  const task = invokeTask(scope, name, props);
  task.addRetry(retryOn(THROTTLING_ERRORS, props.throttling));
  task.addRetry(retryOn([...TRANSIENT_ERRORS, ...(props.errors ?? [])], props.schedule ?? STEP_SCHEDULE));
  return task;
}
