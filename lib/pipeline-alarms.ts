import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC_PERIOD, pipelineMetric } from './pipeline-dashboard';

export interface PipelineAlarmsProps {
  /** The inspection workflow's state machine. */
  readonly inspectionWorkflow: sfn.IStateMachine;
  /** The copy function (the step that streams photos, and the one most likely to be throttled). */
  readonly copyFunction: lambda.IFunction;
  /**
   * Action run when any of the alarms goes into ALARM.
   *
   * @default - no action: the alarms only show in the console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/**
 * The alarms that page for the pipeline's own trouble, never for a person's input: a run failed for a system reason
 * (or an execution failed at all: only system failures and unpublished notifications reach a Fail state), processing
 * passed its deadline, the copy function was throttled or failed. Each: >= 1 over 5 minutes, a period without data is
 * not breaching. A run refused for its manifest, its photos or the pre-flight (`InspectionsFailed` with cause
 * `input`) ends Succeeded and raises none: its notification tells the person what to fix.
 */
export class PipelineAlarms extends Construct {
  /** In alarm when a run failed for a system reason, or an inspection execution failed. */
  readonly systemFailures: cloudwatch.Alarm;
  /** In alarm when a run's processing passed its deadline. */
  readonly inspectionsTimedOut: cloudwatch.Alarm;
  /** In alarm when Lambda throttled the copy function. */
  readonly copyThrottled: cloudwatch.Alarm;
  /** In alarm when an invocation of the copy function failed. */
  readonly copyErrors: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const sum = { statistic: cloudwatch.Stats.SUM, period: METRIC_PERIOD };

    // A system failure that was notified counts in both metrics, one whose notification was not published only in
    // ExecutionsFailed: the larger of the two pages once for either.
    this.systemFailures = atLeastOnce(this, 'SystemFailures', {
      metric: new cloudwatch.MathExpression({
        expression: 'MAX([failedRuns, failedExecutions])',
        usingMetrics: {
          failedRuns: pipelineMetric('InspectionsFailed', { cause: 'system' }).with(sum),
          failedExecutions: props.inspectionWorkflow.metricFailed(sum),
        },
        label: 'Runs failed for a system reason',
        period: METRIC_PERIOD,
      }),
      description:
        "A run failed for a reason of the pipeline or its services (Pix4Dinspect, S3, Lambda), not the person's input, " +
        'or an execution of the inspection workflow failed (e.g. its notification could not be published). Look at ' +
        'the failed execution in Step Functions (its last state and error), the notification it published (stage and ' +
        "error) and the function logs of that stage; the operator CLI's retry runs the flight again once it is fixed.",
    });
    this.inspectionsTimedOut = atLeastOnce(this, 'InspectionsTimedOut', {
      metric: pipelineMetric('InspectionsTimedOut').with(sum),
      description:
        "A run's processing in Pix4Dinspect passed its deadline and the run ended inspection.timed_out (its execution " +
        'ends Succeeded at "Inspection timed out"). Check the inspection in Pix4Dinspect: it may still finish, or be stuck.',
    });
    this.copyThrottled = atLeastOnce(this, 'CopyThrottled', {
      metric: props.copyFunction.metricThrottles(sum),
      description:
        'Lambda throttled the copy function: the account (or its reserved concurrency) has no room for more copies. ' +
        'Throttled copies are waited out (throttleRetry), but if this lasts, runs fail at copy: lower copyConcurrency, ' +
        "raise copyReservedConcurrency or the account's Lambda concurrency quota.",
    });
    this.copyErrors = atLeastOnce(this, 'CopyErrors', {
      metric: props.copyFunction.metricErrors(sum),
      description:
        'An invocation of the copy function failed (a photo not copied, a timeout, an error of S3 or Pix4Dinspect). ' +
        "A transient failure is tried again; look at the copy function's logs, and at the run if it then failed at copy.",
    });
    if (props.alarmAction) {
      for (const alarm of this.alarms) alarm.addAlarmAction(props.alarmAction);
    }
  }

  /** The four alarms: system failures, timed out, copy throttled, copy errors. */
  get alarms(): readonly cloudwatch.Alarm[] {
    return [this.systemFailures, this.inspectionsTimedOut, this.copyThrottled, this.copyErrors];
  }
}

function atLeastOnce(
  scope: Construct,
  id: string,
  options: { metric: cloudwatch.IMetric; description: string },
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription: options.description,
    metric: options.metric,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
