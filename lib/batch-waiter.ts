import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { executionLogging } from './execution-logging';
import { lambdaStep } from './lambda-step';
import { acknowledgeInvokeWildcards } from './nag-acknowledgements';
import { DEFAULT_THROTTLE_RETRY, retryOn, STEP_SCHEDULE, TIMEOUT_ERRORS, throttleSchedule } from './retry-policies';

export interface BatchWaiterProps {
  /** The function that lists the batch and says whether it has settled. */
  readonly checkBatch: lambda.IFunction;
  /** The workflow to start once the batch has settled. */
  readonly inspectionWorkflow: sfn.IStateMachine;
  /** Longest a batch may keep receiving photos before the waiter gives up. @default 7 days */
  readonly timeout?: Duration;
  /** How long throttling is waited out before the waiter fails (see `InspectionWorkflowProps`). @default 30 minutes */
  readonly throttleRetry?: Duration;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Closes batches that have no manifest: Wait for quiet period -> Check batch -> Batch settled? -> Start inspection.
 * Several waiters of one batch (one per quiet-period window) compute the same inspection name from the batch's
 * content, so Step Functions starts it once and the others end "Already started".
 */
export class BatchWaiter extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BatchWaiterProps) {
    super(scope, id);
    const throttling = throttleSchedule(props.throttleRetry ?? DEFAULT_THROTTLE_RETRY);
    const begin = new sfn.Pass(this, 'Start watching', {
      parameters: { state: 'waiting', 'waitSeconds.$': '$.quietPeriodSeconds' },
      resultPath: '$.settlement',
    });
    const wait = new sfn.Wait(this, 'Wait for quiet period', {
      time: sfn.WaitTime.secondsPath('$.settlement.waitSeconds'),
    });
    const check = lambdaStep(this, 'Check batch', {
      fn: props.checkBatch,
      payload: {
        'batch.$': '$.batch',
        'quietPeriodSeconds.$': '$.quietPeriodSeconds',
        'watchId.$': '$$.Execution.Name',
        // The previous check's answer: when it saw a multipart upload in progress, the upload's end counts as activity.
        'previous.$': '$.settlement',
      },
      resultPath: '$.settlement',
      throttling,
      errors: TIMEOUT_ERRORS,
    });
    const checkFailed = new sfn.Fail(this, 'Batch check failed', {
      error: 'BatchCheckFailed',
      causePath: '$.error.Cause',
    });
    check.addCatch(checkFailed, { resultPath: '$.error' });

    const start = new tasks.StepFunctionsStartExecution(this, 'Start inspection', {
      stateMachine: props.inspectionWorkflow,
      name: sfn.JsonPath.stringAt('$.settlement.executionName'),
      input: sfn.TaskInput.fromJsonPathAt('$.settlement.input'),
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      resultPath: '$.started',
    });
    start.addRetry(retryOn(['StepFunctions.ThrottlingException'], throttling));
    start.addRetry(retryOn(['StepFunctions.SfnException', 'StepFunctions.ServiceUnavailableException'], STEP_SCHEDULE));
    start.addCatch(new sfn.Succeed(this, 'Already started'), {
      errors: ['StepFunctions.ExecutionAlreadyExistsException'],
    });
    start.addCatch(new sfn.Fail(this, 'Start failed', { error: 'StartInspectionFailed', causePath: '$.error.Cause' }), {
      resultPath: '$.error',
    });

    const settled = new sfn.Choice(this, 'Batch settled?')
      .when(sfn.Condition.stringEquals('$.settlement.state', 'waiting'), wait)
      .when(
        sfn.Condition.stringEquals('$.settlement.state', 'settled'),
        start.next(new sfn.Succeed(this, 'Inspection started')),
      )
      .otherwise(new sfn.Succeed(this, 'Nothing to start'));

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(begin.next(wait).next(check).next(settled)),
      comment: 'Waits until a batch without manifest.json has been quiet, then starts its inspection once',
      timeout: props.timeout ?? Duration.days(7),
      tracingEnabled: true,
      logs: executionLogging(this, props.logRetention),
    });
    acknowledgeInvokeWildcards(this.stateMachine, [props.checkBatch]);
  }
}
