import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

const PERIOD = Duration.minutes(5);

export interface WorkflowAlarmsProps {
  /** The pipeline's state machine. */
  readonly stateMachine: sfn.IStateMachine;

  /**
   * Action run when any of the alarms goes into ALARM.
   *
   * @default - no action: the alarms only show in the console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;

  /**
   * What the state machine is, in the alarm descriptions an operator reads.
   *
   * @default 'the inspection workflow'
   */
  readonly workflowName?: string;

  /**
   * Whether to alarm on failed executions. Off where another alarm already pages for them (the inspection workflow's
   * are part of PipelineAlarms' system-failure alarm, so that one failure pages once).
   *
   * @default true
   */
  readonly alarmOnFailed?: boolean;
}

/**
 * Alarms on the state machine's executions: one or more failed (unless left out), timed out or aborted (sum over 5
 * minutes >= 1, a period without executions is not breaching).
 */
export class WorkflowAlarms extends Construct {
  /** In alarm when an execution failed; undefined with `alarmOnFailed: false`. */
  readonly executionsFailed: cloudwatch.Alarm | undefined;

  /** In alarm when an execution ran past the state machine's TimeoutSeconds. */
  readonly executionsTimedOut: cloudwatch.Alarm;

  /** In alarm when an execution was stopped (StopExecution, by an operator or a tool). */
  readonly executionsAborted: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WorkflowAlarmsProps) {
    super(scope, id);
    const { stateMachine } = props;
    const name = props.workflowName ?? 'the inspection workflow';

    this.executionsFailed =
      props.alarmOnFailed === false
        ? undefined
        : executionAlarm(
            this,
            'ExecutionsFailed',
            stateMachine.metricFailed({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
            `An execution of ${name} failed: see its execution history and the notification it published.`,
          );
    this.executionsTimedOut = executionAlarm(
      this,
      'ExecutionsTimedOut',
      stateMachine.metricTimedOut({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      `An execution of ${name} ran past its time limit (TimeoutSeconds) and was stopped.`,
    );
    this.executionsAborted = executionAlarm(
      this,
      'ExecutionsAborted',
      stateMachine.metricAborted({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      `An execution of ${name} was stopped (StopExecution): its batch did not finish.`,
    );
    if (props.alarmAction) {
      for (const alarm of this.alarms) alarm.addAlarmAction(props.alarmAction);
    }
  }

  /** The alarms: failed (unless left out), timed out, aborted. */
  get alarms(): readonly cloudwatch.Alarm[] {
    return [this.executionsFailed, this.executionsTimedOut, this.executionsAborted].filter(
      (alarm) => alarm !== undefined,
    );
  }
}

function executionAlarm(
  scope: Construct,
  id: string,
  metric: cloudwatch.Metric,
  description: string,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
