import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CLOSE_TRIGGERS,
  FAILURE_CAUSES,
  FAILURE_STAGES,
  type MetricDimensionsArgument,
  type MetricName,
  type MetricSpec,
  type MetricUnitName,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  PIPELINE_METRICS,
  STATUS_CLASSES,
} from '../src/observability/pipeline-metrics';
import { PIPELINE_STEPS, type PipelineStep } from './pipeline-functions';

/** The period of every metric here, and of the alarms on them. */
export const METRIC_PERIOD = Duration.minutes(5);

/** A dimension of a pipeline metric besides `service`. */
export type PipelineDimension = (typeof PIPELINE_METRICS)[MetricName]['dimensions'][number];

/**
 * Every value each dimension takes, so that a dimensioned metric gets one line per value (a SEARCH expression would
 * find them too, but neither a test nor a reader of the template could see which).
 */
export const DIMENSION_VALUES: { readonly [D in PipelineDimension]: readonly string[] } = {
  trigger: CLOSE_TRIGGERS,
  cause: FAILURE_CAUSES,
  stage: FAILURE_STAGES,
  statusClass: STATUS_CLASSES,
};

/** Counts add up over a period; durations and throughput are read by their typical value. */
const DEFAULT_STATISTIC: Readonly<Record<MetricUnitName, string>> = {
  Count: cloudwatch.Stats.SUM,
  Bytes: cloudwatch.Stats.SUM,
  Seconds: cloudwatch.Stats.AVERAGE,
  'Bytes/Second': cloudwatch.Stats.AVERAGE,
};

/**
 * One metric of PIPELINE_METRICS as the functions emit it: namespace InspectPipeline, dimensions `service` and the
 * metric's own (each with a value the metric takes; anything else throws, since a misspelt value would be a line,
 * or an alarm, that never gets data). Sum for counts and bytes, Average for durations and throughput, 5 minutes;
 * change them with `.with(...)`.
 */
export function pipelineMetric<N extends MetricName>(name: N, ...dimensions: MetricDimensionsArgument<N>): cloudwatch.Metric {
  return metricOf(name, dimensions[0] ?? {});
}

function metricOf(name: MetricName, dimensions: Readonly<Record<string, string>>): cloudwatch.Metric {
  const spec: MetricSpec = PIPELINE_METRICS[name];
  const expected = [...spec.dimensions].sort();
  const given = Object.keys(dimensions).sort();
  if (expected.join(',') !== given.join(',')) {
    throw new Error(`pipelineMetric: ${name} has the dimensions ${expected.join(', ') || 'none'} besides service, got ${given.join(', ') || 'none'}`);
  }
  for (const dimension of spec.dimensions) {
    const known = DIMENSION_VALUES[dimension as PipelineDimension];
    const value = dimensions[dimension] ?? '';
    if (!known.includes(value)) throw new Error(`pipelineMetric: ${name} ${dimension} is one of ${known.join(', ')}, got ${value}`);
  }
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
    statistic: DEFAULT_STATISTIC[spec.unit],
    period: METRIC_PERIOD,
  });
}

/** Every combination of the metric's dimension values: one for a metric without dimensions. */
function dimensionCombinations(name: MetricName): Record<string, string>[] {
  return (PIPELINE_METRICS[name].dimensions as readonly PipelineDimension[]).reduce<Record<string, string>[]>(
    (combinations, dimension) => combinations.flatMap((combination) => DIMENSION_VALUES[dimension].map((value) => ({ ...combination, [dimension]: value }))),
    [{}],
  );
}

export interface PipelineDashboardProps {
  /** The inspection workflow's state machine. */
  readonly inspectionWorkflow: sfn.IStateMachine;
  /** The batch waiter's state machine. */
  readonly batchWaiter: sfn.IStateMachine;
  /** The queue between the drop bucket and the ingest function. */
  readonly queue: sqs.IQueue;
  /** The ingest queue's dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The function of each step (`PipelineFunctions.functions`). */
  readonly functions: Readonly<Record<PipelineStep, lambda.IFunction>>;
  /** Alarms whose state the dashboard shows at the top. @default none: no alarm widget */
  readonly alarms?: readonly cloudwatch.IAlarm[];
  /** Name of the dashboard; unique in the account (dashboards are not regional). @default a name CloudFormation generates */
  readonly dashboardName?: string;
}

/**
 * One CloudWatch dashboard of the pipeline: how flights closed and how their runs ended (and why, and where they
 * failed), the copy, Pix4Dinspect's answers, the queue, both state machines and every function. Each metric of
 * PIPELINE_METRICS is on it, a dimensioned one with a line per value; building it throws if one is not.
 */
export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const shown = new Set<MetricName>();
    /** One line per dimension value of `name`, labelled in plain words. */
    const lines = (name: MetricName, label: (dimensions: Record<string, string>) => string, options: cloudwatch.MetricOptions = {}) => {
      shown.add(name);
      return dimensionCombinations(name).map((dimensions) => metricOf(name, dimensions).with({ label: label(dimensions), ...options }));
    };
    const line = (name: MetricName, label: string, options: cloudwatch.MetricOptions = {}) => lines(name, () => label, options);
    const graph = (title: string, left: cloudwatch.IMetric[], more: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...more });

    const [failedByInput, failedBySystem] = lines('InspectionsFailed', ({ cause }) =>
      cause === 'input' ? "The person's input (notified, no page)" : 'The pipeline or its services (pages)',
    );
    const failedTotal = new cloudwatch.MathExpression({
      expression: 'FILL(failedInput, 0) + FILL(failedSystem, 0)',
      usingMetrics: { failedInput: failedByInput!, failedSystem: failedBySystem! },
      label: 'Failed',
      period: METRIC_PERIOD,
    });

    const runs = [
      graph('Flights closed', lines('BatchesClosed', ({ trigger }) => (trigger === 'manifest' ? 'By manifest.json' : 'After the quiet period')), { stacked: true }),
      graph('How runs ended', [
        ...line('InspectionsCompleted', 'Completed'),
        failedTotal,
        ...line('InspectionsTimedOut', 'Timed out (past the deadline)'),
        ...line('LatePhotosReported', 'Late photos reported'),
        ...line('RunsSkipped', 'Skipped (another run has the folder)'),
      ]),
      graph('Why runs failed', [failedByInput!, failedBySystem!], { stacked: true }),
    ];
    const failures = [
      graph('Where runs failed', lines('FailuresByStage', ({ stage }) => `At ${stage}`), { stacked: true, width: 12 }),
      graph(
        'Time from close to processing, processing, close to notification',
        [
          ...line('TimeToProcessingStart', 'Close to processing (average)'),
          ...line('TimeToProcessingStart', 'Close to processing (max)', { statistic: cloudwatch.Stats.MAXIMUM }),
          ...line('ProcessingDuration', 'Processing (average)'),
          ...line('ProcessingDuration', 'Processing (max)', { statistic: cloudwatch.Stats.MAXIMUM }),
          ...line('TimeToNotification', 'Close to notification (average)'),
          ...line('TimeToNotification', 'Close to notification (max)', { statistic: cloudwatch.Stats.MAXIMUM }),
        ],
        { width: 12, leftYAxis: { label: 'seconds', showUnits: false } },
      ),
    ];
    const copy = [
      graph('Photos and bytes copied', line('PhotosCopied', 'Photos'), { right: line('BytesCopied', 'Bytes') }),
      graph('Copy speed per chunk', [
        ...line('CopyThroughput', 'Average chunk'),
        // A slow chunk, not a fast one, is what runs into the copy function's timeout.
        ...line('CopyThroughput', 'Slowest chunk', { statistic: cloudwatch.Stats.MINIMUM }),
      ]),
      graph('Temporary S3 credentials fetched again', line('S3CredentialRefreshes', 'Fetched again during a copy')),
    ];
    const pix4d = [
      graph('Pix4Dinspect calls by answer', lines('Pix4dApiCalls', ({ statusClass }) => answerLabel(statusClass!)), { stacked: true, width: 12 }),
      graph(
        'Pix4Dinspect retries and failed calls',
        [...line('Pix4dApiRetries', 'Sent again'), ...lines('Pix4dApiErrors', ({ statusClass }) => `Failed after retries: ${answerLabel(statusClass!)}`)],
        { width: 12 },
      ),
    ];
    const sum = { statistic: cloudwatch.Stats.SUM, period: METRIC_PERIOD };
    const machines = [
      { name: 'Inspection workflow', machine: props.inspectionWorkflow },
      { name: 'Batch waiter', machine: props.batchWaiter },
    ];
    const plumbing = [
      graph('Records not written, status checks failed, misplaced manifests', [
        ...line('RecordsNotWritten', 'Operator records not written'),
        ...line('StatusChecksFailed', 'Status checks failed (tried again)'),
        ...line('ManifestsMisplaced', 'Manifests outside a batch folder'),
      ]),
      graph('Ingest queue and dead-letter queue depth', [
        props.queue.metricApproximateNumberOfMessagesVisible({ label: 'Ingest queue', statistic: cloudwatch.Stats.MAXIMUM, period: METRIC_PERIOD }),
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'Dead-letter queue', statistic: cloudwatch.Stats.MAXIMUM, period: METRIC_PERIOD }),
      ]),
      // Step Functions publishes no count of running executions per state machine: started and how they ended.
      graph(
        'Executions started and failed',
        machines.flatMap(({ name, machine }) => [
          machine.metricStarted({ ...sum, label: `${name}: started` }),
          machine.metricFailed({ ...sum, label: `${name}: failed` }),
          machine.metricTimedOut({ ...sum, label: `${name}: timed out` }),
          machine.metricAborted({ ...sum, label: `${name}: stopped` }),
        ]),
      ),
    ];
    const eachFunction = (metric: (fn: lambda.IFunction, step: PipelineStep) => cloudwatch.IMetric) =>
      PIPELINE_STEPS.map((step) => metric(props.functions[step], step));
    const functions = [
      graph('Function errors', eachFunction((fn, label) => fn.metricErrors({ ...sum, label }))),
      graph('Function throttles', eachFunction((fn, label) => fn.metricThrottles({ ...sum, label }))),
      // The longest invocation, against the function's timeout (copy 15 minutes, prepare and register 5, ...).
      graph('Function duration (max)', eachFunction((fn, label) => fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: METRIC_PERIOD, label }))),
    ];

    const missing = (Object.keys(PIPELINE_METRICS) as MetricName[]).filter((name) => !shown.has(name));
    if (missing.length > 0) throw new Error(`PipelineDashboard: no widget shows ${missing.join(', ')}; add it to a widget`);

    const header: cloudwatch.IWidget[] = [
      new cloudwatch.TextWidget({
        markdown:
          '## Inspect pipeline\nEvery closed flight is one run of the inspection workflow. A run refused for the ' +
          "person's input (manifest, pre-flight, no photos) ends Succeeded at *Input refused*: the notification " +
          'tells them what to fix and nobody is paged. The alarms page for the pipeline\'s own trouble only.',
        width: props.alarms?.length ? 12 : 24,
        height: 3,
      }),
      ...(props.alarms?.length
        ? [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 12, height: 3 })]
        : []),
    ];
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
      // Runs are a few a day: a day shows some.
      defaultInterval: Duration.days(1),
      widgets: [header, runs, failures, copy, pix4d, plumbing, functions],
    });
  }
}

/** A status class as a reader of the graph says it. */
function answerLabel(statusClass: string): string {
  if (statusClass === 'network') return 'no answer (network)';
  if (statusClass === 'timeout') return 'no answer (timed out)';
  return statusClass;
}
