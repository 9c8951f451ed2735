import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CLOSE_TRIGGERS,
  FAILURE_CAUSES,
  FAILURE_STAGES,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type MetricDimensionsArgument,
  type MetricName,
  type MetricSpec,
  type MetricUnitName,
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
export function pipelineMetric<N extends MetricName>(
  name: N,
  ...dimensions: MetricDimensionsArgument<N>
): cloudwatch.Metric {
  return metricOf(name, dimensions[0] ?? {});
}

function metricOf(name: MetricName, dimensions: Readonly<Record<string, string>>): cloudwatch.Metric {
  const spec: MetricSpec = PIPELINE_METRICS[name];
  const expected = [...spec.dimensions].sort();
  const given = Object.keys(dimensions).sort();
  if (expected.join(',') !== given.join(',')) {
    throw new Error(
      `pipelineMetric: ${name} has the dimensions ${expected.join(', ') || 'none'} besides service, got ${given.join(', ') || 'none'}`,
    );
  }
  for (const dimension of spec.dimensions) {
    const known = DIMENSION_VALUES[dimension as PipelineDimension];
    const value = dimensions[dimension] ?? '';
    if (!known.includes(value))
      throw new Error(`pipelineMetric: ${name} ${dimension} is one of ${known.join(', ')}, got ${value}`);
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
    (combinations, dimension) =>
      combinations.flatMap((combination) =>
        DIMENSION_VALUES[dimension].map((value) => ({ ...combination, [dimension]: value })),
      ),
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
    const lines = new DashboardLines();
    const rows = [
      runWidgets(lines),
      failureWidgets(lines),
      copyWidgets(lines),
      pix4dWidgets(lines),
      plumbingWidgets(lines, props),
      functionWidgets(props),
    ];
    lines.assertEveryMetricShown();
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
      // Runs are a few a day: a day shows some.
      defaultInterval: Duration.days(1),
      widgets: [headerWidgets(props), ...rows],
    });
  }
}

/** The lines of pipeline metrics the widgets draw, remembering which metrics they show. */
class DashboardLines {
  private readonly shown = new Set<MetricName>();

  /** One line per dimension value of `name`, labelled in plain words. */
  lines(
    name: MetricName,
    label: (dimensions: Record<string, string>) => string,
    options: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric[] {
    this.shown.add(name);
    return dimensionCombinations(name).map((dimensions) =>
      metricOf(name, dimensions).with({ label: label(dimensions), ...options }),
    );
  }

  line(name: MetricName, label: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric[] {
    return this.lines(name, () => label, options);
  }

  assertEveryMetricShown(): void {
    const missing = (Object.keys(PIPELINE_METRICS) as MetricName[]).filter((name) => !this.shown.has(name));
    if (missing.length > 0)
      throw new Error(`PipelineDashboard: no widget shows ${missing.join(', ')}; add it to a widget`);
  }
}

const SUM = { statistic: cloudwatch.Stats.SUM, period: METRIC_PERIOD };

function graph(
  title: string,
  left: cloudwatch.IMetric[],
  more: Partial<cloudwatch.GraphWidgetProps> = {},
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...more });
}

/** The header: what a run is and when the alarms page, beside the alarms' state. */
function headerWidgets(props: PipelineDashboardProps): cloudwatch.IWidget[] {
  return [
    new cloudwatch.TextWidget({
      markdown:
        '## Inspect pipeline\nEvery closed flight is one run of the inspection workflow. A run refused for the ' +
        "person's input (manifest, pre-flight, no photos) ends Succeeded at *Input refused*: the notification " +
        "tells them what to fix and nobody is paged. The alarms page for the pipeline's own trouble only.",
      width: props.alarms?.length ? 12 : 24,
      height: 3,
    }),
    ...(props.alarms?.length
      ? [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 12, height: 3 })]
      : []),
  ];
}

/** How flights closed and how their runs ended. */
function runWidgets(lines: DashboardLines): cloudwatch.IWidget[] {
  const [failedByInput, failedBySystem] = lines.lines('InspectionsFailed', ({ cause }) =>
    cause === 'input' ? "The person's input (notified, no page)" : 'The pipeline or its services (pages)',
  );
  const failedTotal = new cloudwatch.MathExpression({
    expression: 'FILL(failedInput, 0) + FILL(failedSystem, 0)',
    usingMetrics: { failedInput: failedByInput!, failedSystem: failedBySystem! },
    label: 'Failed',
    period: METRIC_PERIOD,
  });
  return [
    graph(
      'Flights closed',
      lines.lines('BatchesClosed', ({ trigger }) =>
        trigger === 'manifest' ? 'By manifest.json' : 'After the quiet period',
      ),
      { stacked: true },
    ),
    graph('How runs ended', [
      ...lines.line('InspectionsCompleted', 'Completed'),
      failedTotal,
      ...lines.line('InspectionsTimedOut', 'Timed out (past the deadline)'),
      ...lines.line('LatePhotosReported', 'Late photos reported'),
      ...lines.line('RunsSkipped', 'Skipped (another run has the folder)'),
    ]),
    graph('Why runs failed', [failedByInput!, failedBySystem!], { stacked: true }),
  ];
}

/** Where runs failed, and how long their stages took. */
function failureWidgets(lines: DashboardLines): cloudwatch.IWidget[] {
  return [
    graph(
      'Where runs failed',
      lines.lines('FailuresByStage', ({ stage }) => `At ${stage}`),
      { stacked: true, width: 12 },
    ),
    graph(
      'Time from close to processing, processing, close to notification',
      [
        ...lines.line('TimeToProcessingStart', 'Close to processing (average)'),
        ...lines.line('TimeToProcessingStart', 'Close to processing (max)', { statistic: cloudwatch.Stats.MAXIMUM }),
        ...lines.line('ProcessingDuration', 'Processing (average)'),
        ...lines.line('ProcessingDuration', 'Processing (max)', { statistic: cloudwatch.Stats.MAXIMUM }),
        ...lines.line('TimeToNotification', 'Close to notification (average)'),
        ...lines.line('TimeToNotification', 'Close to notification (max)', { statistic: cloudwatch.Stats.MAXIMUM }),
      ],
      { width: 12, leftYAxis: { label: 'seconds', showUnits: false } },
    ),
  ];
}

/** The copy of the photos to Pix4Dinspect's bucket. */
function copyWidgets(lines: DashboardLines): cloudwatch.IWidget[] {
  return [
    graph('Photos and bytes copied', lines.line('PhotosCopied', 'Photos'), {
      right: lines.line('BytesCopied', 'Bytes'),
    }),
    graph('Copy speed per chunk', [
      ...lines.line('CopyThroughput', 'Average chunk'),
      // A slow chunk, not a fast one, is what runs into the copy function's timeout.
      ...lines.line('CopyThroughput', 'Slowest chunk', { statistic: cloudwatch.Stats.MINIMUM }),
    ]),
    graph('Temporary S3 credentials fetched again', lines.line('S3CredentialRefreshes', 'Fetched again during a copy')),
  ];
}

/** Pix4Dinspect's answers. */
function pix4dWidgets(lines: DashboardLines): cloudwatch.IWidget[] {
  return [
    graph(
      'Pix4Dinspect calls by answer',
      lines.lines('Pix4dApiCalls', ({ statusClass }) => answerLabel(statusClass!)),
      { stacked: true, width: 12 },
    ),
    graph(
      'Pix4Dinspect retries and failed calls',
      [
        ...lines.line('Pix4dApiRetries', 'Sent again'),
        ...lines.lines('Pix4dApiErrors', ({ statusClass }) => `Failed after retries: ${answerLabel(statusClass!)}`),
      ],
      { width: 12 },
    ),
  ];
}

/** The pipeline's own trouble, the queues and the state machines. */
function plumbingWidgets(lines: DashboardLines, props: PipelineDashboardProps): cloudwatch.IWidget[] {
  const machines = [
    { name: 'Inspection workflow', machine: props.inspectionWorkflow },
    { name: 'Batch waiter', machine: props.batchWaiter },
  ];
  return [
    graph('Records not written, status checks failed, misplaced manifests', [
      ...lines.line('RecordsNotWritten', 'Operator records not written'),
      ...lines.line('StatusChecksFailed', 'Status checks failed (tried again)'),
      ...lines.line('ManifestsMisplaced', 'Manifests outside a batch folder'),
    ]),
    graph('Ingest queue and dead-letter queue depth', [
      props.queue.metricApproximateNumberOfMessagesVisible({
        label: 'Ingest queue',
        statistic: cloudwatch.Stats.MAXIMUM,
        period: METRIC_PERIOD,
      }),
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        label: 'Dead-letter queue',
        statistic: cloudwatch.Stats.MAXIMUM,
        period: METRIC_PERIOD,
      }),
    ]),
    // Step Functions publishes no count of running executions per state machine: started and how they ended.
    graph(
      'Executions started and failed',
      machines.flatMap(({ name, machine }) => [
        machine.metricStarted({ ...SUM, label: `${name}: started` }),
        machine.metricFailed({ ...SUM, label: `${name}: failed` }),
        machine.metricTimedOut({ ...SUM, label: `${name}: timed out` }),
        machine.metricAborted({ ...SUM, label: `${name}: stopped` }),
      ]),
    ),
  ];
}

/** Errors, throttles and the longest invocation of every function. */
function functionWidgets(props: PipelineDashboardProps): cloudwatch.IWidget[] {
  const eachFunction = (metric: (fn: lambda.IFunction, step: PipelineStep) => cloudwatch.IMetric) =>
    PIPELINE_STEPS.map((step) => metric(props.functions[step], step));
  return [
    graph(
      'Function errors',
      eachFunction((fn, label) => fn.metricErrors({ ...SUM, label })),
    ),
    graph(
      'Function throttles',
      eachFunction((fn, label) => fn.metricThrottles({ ...SUM, label })),
    ),
    // The longest invocation, against the function's timeout (copy 15 minutes, prepare and register 5, ...).
    graph(
      'Function duration (max)',
      eachFunction((fn, label) =>
        fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: METRIC_PERIOD, label }),
      ),
    ),
  ];
}

/** A status class as a reader of the graph says it. */
function answerLabel(statusClass: string): string {
  if (statusClass === 'network') return 'no answer (network)';
  if (statusClass === 'timeout') return 'no answer (timed out)';
  return statusClass;
}
