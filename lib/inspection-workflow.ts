import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { executionLogging } from './execution-logging';
import { invokeTask, type LambdaStepProps, lambdaStep } from './lambda-step';
import { acknowledgeInvokeWildcards } from './nag-acknowledgements';
import {
  DEFAULT_THROTTLE_RETRY,
  notifySchedule,
  type RetrySchedule,
  retryOn,
  THROTTLING_ERRORS,
  TIMEOUT_ERRORS,
  TRANSIENT_ERRORS,
  throttleSchedule,
} from './retry-policies';

/** How a task retries besides waiting out throttling; the defaults fit the steps that run once per batch. */
type TaskRetry = Pick<LambdaStepProps, 'errors' | 'schedule'>;

/**
 * The status check runs for up to 48 hours, so it outlasts a Pix4Dinspect outage of many minutes (ten attempts
 * 30 s to 5 min apart, each giving up before its Lambda timeout) rather than failing a run that Pix4D keeps
 * processing; past those, the run keeps polling. Checking the status again is harmless.
 */
const POLL_RETRY: TaskRetry = {
  errors: TIMEOUT_ERRORS,
  schedule: {
    interval: Duration.seconds(30),
    backoffRate: 2,
    maxAttempts: 10,
    maxDelay: Duration.minutes(5),
    jitter: true,
  },
};

/** Publishing is retried this long at least, whatever fails but a permanent error. */
export const NOTIFY_RETRY = Duration.minutes(30);

export interface InspectionWorkflowProps {
  readonly prepare: lambda.IFunction;
  readonly copy: lambda.IFunction;
  readonly register: lambda.IFunction;
  readonly startProcessing: lambda.IFunction;
  readonly checkStatus: lambda.IFunction;
  readonly notify: lambda.IFunction;
  /** Copy invocations at once (Map MaxConcurrency). @default 10 */
  readonly copyConcurrency?: number;
  /** Processing deadline, after which the run ends `inspection.timed_out`. @default 48 hours */
  readonly deadline?: Duration;
  /** Time for everything before processing starts (listing, copying, registering). @default 12 hours */
  readonly preparationAllowance?: Duration;
  /**
   * How long Lambda's throttling (and AWS services' throttling of the functions' calls) is waited out before a step
   * fails: backoff with full jitter, whose waits add up to this at most. Notify waits it out for at least
   * `NOTIFY_RETRY` or this, the longer.
   *
   * @default 30 minutes
   */
  readonly throttleRetry?: Duration;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The inspection workflow, one Standard execution per closed batch:
 * Prepare inspection -> Copy photos -> Register photos -> Start processing -> (Wait for processing -> Check
 * processing status -> Processing done?)* -> Notify completed | Notify failed | Notify timed out. A folder that
 * another run already closed ends at Prepare inspection with Notify late photos or Notify skipped.
 * Every task waits out throttling, retries transient errors and catches the rest into "Notify failed" with the stage
 * it failed at, except once processing has started: a status that cannot be read is polled again until the deadline.
 *
 * How an execution ends says whether anyone has to act, since CloudWatch's ExecutionsFailed counts Fail states:
 * Notify failed -> Caused by the input? -> Succeed "Input refused" when the notify step found the person's input at
 * fault (manifest, pre-flight, no photos: the notification says what to fix), else Fail "Inspection failed";
 * Notify timed out -> Succeed "Inspection timed out" (counted by the InspectionsTimedOut metric); a notification
 * that could not be published -> Fail "<name> did not publish".
 */
/** The state a task's Catch goes to: records the stage, then notifies the failure. */
type FailAt = (stage: string) => sfn.IChainable;

export class InspectionWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  private readonly throttling: RetrySchedule;
  private readonly notifying: RetrySchedule;

  constructor(scope: Construct, id: string, props: InspectionWorkflowProps) {
    super(scope, id);
    const throttleRetry = props.throttleRetry ?? DEFAULT_THROTTLE_RETRY;
    this.throttling = throttleSchedule(throttleRetry);
    this.notifying = notifySchedule(Duration.seconds(Math.max(NOTIFY_RETRY.toSeconds(), throttleRetry.toSeconds())));
    const notifyFailed = this.failureEnding(props);
    const failAt: FailAt = (stage) =>
      new sfn.Pass(this, `${capitalize(stage)} failed`, {
        result: sfn.Result.fromObject({ stage }),
        resultPath: '$.failure',
      }).next(notifyFailed);

    const prepare = this.prepareStep(props, failAt);
    const copyPhotos = this.copyStep(props, failAt);
    // Registering a key again names the same image, so a step retried after it took effect is harmless.
    const register = this.stageTask(
      'Register photos',
      props.register,
      { 'runPrefix.$': '$.prepared.runPrefix', 'inspectionId.$': '$.prepared.inspection.id', 'copy.$': '$.copy' },
      '$.registration',
      'register',
      failAt,
    );
    // A retried start reads the status it recorded before its first request, so processing never starts twice.
    const start = this.stageTask(
      'Start processing',
      props.startProcessing,
      {
        'runPrefix.$': '$.prepared.runPrefix',
        'inspectionId.$': '$.prepared.inspection.id',
        // How long processing should take, and the copy's share of the run's state transitions.
        'photos.$': '$.registration.registered',
        'chunks.$': 'States.ArrayLength($.prepared.chunks)',
      },
      '$.processing',
      'processing',
      failAt,
    );
    const { wait, check, done } = this.pollingLoop(props, failAt, notifyFailed);

    const definition = prepare.next(copyPhotos).next(register).next(start).next(wait).next(check).next(done);
    const deadline = props.deadline ?? Duration.hours(48);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'One closed drop-bucket batch -> one Pix4Dinspect inspection and one notification',
      timeout: Duration.seconds(deadline.toSeconds() + (props.preparationAllowance ?? Duration.hours(12)).toSeconds()),
      tracingEnabled: true,
      logs: executionLogging(this, props.logRetention),
    });
    acknowledgeInvokeWildcards(this.stateMachine, [
      props.prepare,
      props.copy,
      props.register,
      props.startProcessing,
      props.checkStatus,
      props.notify,
    ]);
  }

  /** "Notify failed", then how the run ends: Succeeded when the person's input was refused, Failed otherwise. */
  private failureEnding(props: InspectionWorkflowProps): sfn.INextable & sfn.IChainable {
    // The notify step answers the failure's cause (`$.notification.cause`); a missing one counts as the system's.
    return this.notify('Notify failed', props.notify, 'inspection.failed').next(
      new sfn.Choice(this, 'Caused by the input?')
        .when(
          sfn.Condition.and(
            sfn.Condition.isPresent('$.notification.cause'),
            sfn.Condition.stringEquals('$.notification.cause', 'input'),
          ),
          new sfn.Succeed(this, 'Input refused', {
            comment: "The person's input was refused; the notification says what to fix",
          }),
        )
        .otherwise(
          new sfn.Fail(this, 'Inspection failed', {
            error: 'InspectionFailed',
            cause: 'The inspection failed; see the notification',
          }),
        ),
    );
  }

  /** "Prepare inspection", and the runs it ends at once: late photos, a skipped close, nothing new. */
  private prepareStep(props: InspectionWorkflowProps, failAt: FailAt): tasks.LambdaInvoke {
    // Preparing again returns what the first attempt prepared once it was recorded.
    const prepare = this.invoke(
      'Prepare inspection',
      props.prepare,
      { 'request.$': '$', 'batchId.$': '$$.Execution.Name' },
      '$.prepared',
      { errors: [...TIMEOUT_ERRORS, 'FolderClaimContendedError'] },
    );
    // One batch, one decision: a folder that a run already closed gets no second inspection behind the user's back.
    const notifyLate = this.notify('Notify late photos', props.notify, 'inspection.late_photos').next(
      new sfn.Succeed(this, 'Late photos reported'),
    );
    const notifySkipped = this.notify('Notify skipped', props.notify, 'inspection.skipped').next(
      new sfn.Succeed(this, 'Run skipped'),
    );
    prepare.addCatch(notifyLate, { errors: ['LatePhotosError'], resultPath: '$.error' });
    prepare.addCatch(notifySkipped, { errors: ['BatchAlreadyClosedError'], resultPath: '$.error' });
    prepare.addCatch(new sfn.Succeed(this, 'Nothing new'), { errors: ['NothingNewError'] });
    prepare.addCatch(failAt('prepare'), { resultPath: '$.error' });

    return prepare;
  }

  /** "Copy photos": a Map of "Copy chunk" over the prepared chunks. */
  private copyStep(props: InspectionWorkflowProps, failAt: FailAt): sfn.Map {
    const copyChunk = this.invoke(
      'Copy chunk',
      props.copy,
      {
        'runPrefix.$': '$.runPrefix',
        'dropBucket.$': '$.dropBucket',
        'inspectionId.$': '$.inspectionId',
        'chunkIndex.$': '$.chunk.index',
      },
      undefined,
      { errors: [...TIMEOUT_ERRORS, 'PhotoCopyError', 'CopySizeMismatchError'] },
    );
    // A Catch cannot leave the Map: the chunk fails with its own error, which the Map's Catch sends to "Notify failed".
    copyChunk.addCatch(new sfn.Fail(this, 'Chunk failed', { errorPath: '$.Error', causePath: '$.Cause' }));
    const copyPhotos = new sfn.Map(this, 'Copy photos', {
      itemsPath: '$.prepared.chunks',
      itemSelector: {
        'runPrefix.$': '$.prepared.runPrefix',
        'dropBucket.$': '$.prepared.batch.bucket',
        'inspectionId.$': '$.prepared.inspection.id',
        'chunk.$': '$$.Map.Item.Value',
      },
      maxConcurrency: props.copyConcurrency ?? 10,
      resultPath: '$.copy',
    }).itemProcessor(copyChunk);
    copyPhotos.addCatch(failAt('copy'), { resultPath: '$.error' });

    return copyPhotos;
  }

  /** A step that retries its own timeouts and ends the run failed at `stage` otherwise. */
  private stageTask(
    name: string,
    fn: lambda.IFunction,
    payload: Record<string, string>,
    resultPath: string,
    stage: string,
    failAt: FailAt,
  ): tasks.LambdaInvoke {
    const task = this.invoke(name, fn, payload, resultPath, { errors: TIMEOUT_ERRORS });
    task.addCatch(failAt(stage), { resultPath: '$.error' });
    return task;
  }

  /** "Wait for processing" / "Check processing status" / "Processing done?", and the notifications it ends in. */
  private pollingLoop(props: InspectionWorkflowProps, failAt: FailAt, notifyFailed: sfn.IChainable) {
    const wait = new sfn.Wait(this, 'Wait for processing', {
      time: sfn.WaitTime.secondsPath('$.processing.poll.waitSeconds'),
    });
    const check = this.invoke(
      'Check processing status',
      props.checkStatus,
      {
        'batchId.$': '$$.Execution.Name',
        'inspectionId.$': '$.prepared.inspection.id',
        'deadline.$': '$.processing.deadline',
        'pollCount.$': '$.processing.poll.pollCount',
        'startedAt.$': '$.processing.startedAt',
        'expectedSeconds.$': '$.processing.expectedSeconds',
        'pollBudget.$': '$.processing.pollBudget',
        'waitedSeconds.$': '$.processing.poll.waitSeconds',
      },
      '$.processing.poll',
      POLL_RETRY,
    );
    // Pix4D goes on processing whatever happens here: a status not read yet is read at the next poll.
    const keepPolling = new sfn.Pass(this, 'Keep polling');
    check.addCatch(keepPolling, {
      errors: [...THROTTLING_ERRORS, ...TRANSIENT_ERRORS, ...TIMEOUT_ERRORS],
      resultPath: '$.processing.checkError',
    });
    check.addCatch(failAt('status'), { resultPath: '$.error' });

    const notifyCompleted = this.notify('Notify completed', props.notify, 'inspection.completed').next(
      new sfn.Succeed(this, 'Inspection completed'),
    );
    // Notified and counted (InspectionsTimedOut, which has its own alarm): not an execution failure.
    const notifyTimedOut = this.notify('Notify timed out', props.notify, 'inspection.timed_out').next(
      new sfn.Succeed(this, 'Inspection timed out', {
        comment: 'Processing passed its deadline; the notification says so',
      }),
    );
    const done = new sfn.Choice(this, 'Processing done?')
      .when(sfn.Condition.stringEquals('$.processing.poll.outcome', 'completed'), notifyCompleted)
      .when(sfn.Condition.stringEquals('$.processing.poll.outcome', 'failed'), notifyFailed)
      .when(sfn.Condition.stringEquals('$.processing.poll.outcome', 'timed_out'), notifyTimedOut)
      .otherwise(wait);
    keepPolling.next(wait);

    return { wait, check, done };
  }

  /**
   * A Lambda task that passes `payload` and keeps the function's answer at `resultPath`, with retries, and a timeout
   * just above the function's own.
   */
  private invoke(
    name: string,
    fn: lambda.IFunction,
    payload: Record<string, unknown>,
    /** Where the answer goes; none: it becomes the state's output. */
    resultPath: string | undefined,
    retry: TaskRetry = {},
  ): tasks.LambdaInvoke {
    return lambdaStep(this, name, {
      fn,
      payload,
      ...(resultPath ? { resultPath } : {}),
      throttling: this.throttling,
      ...retry,
    });
  }

  /**
   * Builds and publishes one outcome, retried for at least `notifying`'s length whatever fails but a permanent error;
   * a failure to notify then ends the run failed, which the system-failure alarm pages for.
   */
  private notify(name: string, fn: lambda.IFunction, type: string): tasks.LambdaInvoke {
    const task = invokeTask(this, name, {
      fn,
      payload: { type, 'state.$': '$', 'batchId.$': '$$.Execution.Name' },
      resultPath: '$.notification',
    });
    task.addRetry(retryOn([...THROTTLING_ERRORS, ...TRANSIENT_ERRORS, ...TIMEOUT_ERRORS], this.notifying));
    task.addCatch(
      new sfn.Fail(this, `${name} did not publish`, { error: 'NotificationFailed', causePath: '$.error.Cause' }),
      {
        resultPath: '$.error',
      },
    );
    return task;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
