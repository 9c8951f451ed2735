import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { InspectPipeline } from '../../lib/inspect-pipeline';
import type { InspectPipelineStack } from '../../lib/inspect-pipeline-stack';
import { PipelineContextError, parsePipelineContext } from '../../lib/pipeline-context';
import { PipelineDashboard, pipelineMetric } from '../../lib/pipeline-dashboard';
import { PIPELINE_STEPS } from '../../lib/pipeline-functions';
import {
  FAILURE_STAGES,
  type MetricName,
  PIPELINE_METRICS,
  STATUS_CLASSES,
} from '../../src/observability/pipeline-metrics';
import { alarmDefinitions } from '../helpers/alarm-definitions';
import { type DashboardMetric, dashboardMetrics, dashboardWidgets } from '../helpers/dashboard-metrics';

/**
 * The pipeline's CloudWatch dashboard, read from the synthesized template (bundling skipped: nothing here looks at
 * the Lambda code): it exists unless turned off, and it plots every metric the functions emit, with the dimensions
 * they emit it with, besides the queues, the state machines and the functions.
 */

/** Every value each dimension takes, written out here rather than taken from the dashboard's own list. */
const VALUES: Record<string, readonly string[]> = {
  trigger: ['manifest', 'quiet-period'],
  cause: ['input', 'system'],
  stage: FAILURE_STAGES,
  statusClass: STATUS_CLASSES,
};

/** The data points a metric can have: `service` and one value of each of its own dimensions. */
function expectedDimensions(name: MetricName): Record<string, string>[] {
  return (PIPELINE_METRICS[name].dimensions as readonly string[]).reduce<Record<string, string>[]>(
    (sets, dimension) =>
      sets.flatMap((set) => (VALUES[dimension] ?? []).map((value) => ({ ...set, [dimension]: value }))),
    [{ service: 'inspect-pipeline' }],
  );
}

function sorted(dimensions: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
}

function synthesize(context: Record<string, unknown> = {}): { stack: InspectPipelineStack; template: Template } {
  const { stack } = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  return { stack, template: Template.fromStack(stack) };
}

function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

let built: { stack: InspectPipelineStack; template: Template };
let metrics: DashboardMetric[];

beforeAll(() => {
  built = synthesize();
  metrics = dashboardMetrics(built.template);
});

describe('PipelineDashboard: whether there is one', () => {
  it('is in the stack by default, once, and exposed as pipeline.dashboard', () => {
    // Prepare
    const { stack, template } = built;

    // Act
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');

    // Assess
    expect(Object.keys(dashboards)).toStrictEqual([logicalIdOf(stack.pipeline.dashboard!.dashboard)]);
  });

  it('is left out with dashboard: false on the construct', () => {
    // Prepare
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'WithoutDashboard');

    // Act
    const pipeline = new InspectPipeline(stack, 'Pipeline', { dashboard: false });

    // Assess
    expect(pipeline.dashboard).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it('is left out with -c dashboard=false, and kept with -c dashboard=true', () => {
    // Prepare
    const contexts = [{ dashboard: 'false' }, { dashboard: 'true' }];

    // Act
    const counts = contexts.map(
      (context) => Object.keys(synthesize(context).template.findResources('AWS::CloudWatch::Dashboard')).length,
    );

    // Assess
    expect(counts).toStrictEqual([0, 1]);
  });

  it('reads the dashboard context key as true or false, JSON or text, and refuses anything else', () => {
    // Prepare
    const given: unknown[] = ['false', false, 'true', true, ''];

    // Act
    const read = given.map((value) => parsePipelineContext({ dashboard: value }).pipeline.dashboard);
    const refusal = (() => {
      try {
        parsePipelineContext({ dashboard: 'no' });
        return undefined;
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(read).toStrictEqual([false, false, true, true, undefined]);
    expect(refusal).toBeInstanceOf(PipelineContextError);
    expect((refusal as PipelineContextError).problems).toStrictEqual([
      'CDK context dashboard must be true or false (whether the stack has its CloudWatch dashboard), got no',
    ]);
  });

  it('takes the name it is given', () => {
    // Prepare
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Named');
    const pipeline = new InspectPipeline(stack, 'Pipeline', { dashboard: false });

    // Act
    new PipelineDashboard(stack, 'Dashboard', {
      inspectionWorkflow: pipeline.workflow.stateMachine,
      batchWaiter: pipeline.waiter.stateMachine,
      queue: pipeline.queue.queue,
      deadLetterQueue: pipeline.queue.deadLetterQueue,
      functions: pipeline.functions.functions,
      dashboardName: 'inspect-pipeline-ops',
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'inspect-pipeline-ops',
    });
  });
});

describe('PipelineDashboard: the pipeline metrics', () => {
  it.each(Object.keys(PIPELINE_METRICS) as MetricName[])(
    'plots %s with service and its own dimensions, a line per value',
    (name) => {
      // Prepare
      const expected = expectedDimensions(name).map(sorted);

      // Act
      const plotted = metrics
        .filter((metric) => metric.namespace === 'InspectPipeline' && metric.name === name)
        .map((metric) => metric.dimensions);

      // Assess
      expect(plotted).toHaveLength(expected.length);
      expect(plotted).toEqual(expect.arrayContaining(expected));
    },
  );

  it('plots no metric of the InspectPipeline namespace that the functions do not emit', () => {
    // Prepare
    const emitted = (Object.keys(PIPELINE_METRICS) as MetricName[]).flatMap((name) =>
      expectedDimensions(name).map((dimensions) => JSON.stringify([name, sorted(dimensions)])),
    );

    // Act
    const unknown = metrics
      .filter((metric) => metric.namespace === 'InspectPipeline')
      .filter((metric) => !emitted.includes(JSON.stringify([metric.name, metric.dimensions])));

    // Assess
    expect(unknown).toStrictEqual([]);
  });

  it('adds counts and bytes up (Sum), and reads durations and throughput by a typical or extreme value, never their sum', () => {
    // Prepare
    const lines = dashboardWidgets(built.template)
      .flatMap((widget) => widget.lines)
      .filter((line) => line.namespace === 'InspectPipeline');

    // Act
    const byUnit = lines.map((line) => ({
      name: line.name,
      unit: PIPELINE_METRICS[line.name as MetricName].unit,
      statistic: line.statistic,
    }));

    // Assess
    for (const { name, unit, statistic } of byUnit) {
      if (unit === 'Count' || unit === 'Bytes') expect(statistic, name).toBe('Sum');
      else expect(['Average', 'Maximum', 'Minimum', 'p95'], name).toContain(statistic);
    }
    expect(
      byUnit
        .filter(({ name }) => name === 'ProcessingDuration')
        .map(({ statistic }) => statistic)
        .sort(),
    ).toStrictEqual(['Average', 'Maximum']);
  });

  it('labels every line and titles every graph in plain words', () => {
    // Prepare
    const graphs = dashboardWidgets(built.template).filter((widget) => widget.type === 'metric');

    // Act
    const untitled = graphs.filter((widget) => !widget.title);
    const unlabelled = graphs.flatMap((widget) =>
      widget.lines.filter((line) => line.visible && !line.label).map((line) => `${widget.title}: ${line.name}`),
    );

    // Assess
    expect(untitled).toStrictEqual([]);
    expect(unlabelled).toStrictEqual([]);
    expect(graphs.map((widget) => widget.title)).toEqual(
      expect.arrayContaining([
        'Flights closed',
        'How runs ended',
        'Why runs failed',
        'Where runs failed',
        'Pix4Dinspect calls by answer',
      ]),
    );
  });
});

describe('PipelineDashboard: AWS metrics', () => {
  it('plots errors, throttles and duration of every step function', () => {
    // Prepare
    const functions = built.stack.pipeline.functions.functions;

    // Act
    const byFunction = PIPELINE_STEPS.map((step) => ({
      step,
      names: metrics
        .filter(
          (metric) =>
            metric.namespace === 'AWS/Lambda' && metric.dimensions.FunctionName === `<${logicalIdOf(functions[step])}>`,
        )
        .map((metric) => metric.name)
        .sort(),
    }));

    // Assess
    for (const { step, names } of byFunction) expect(names, step).toStrictEqual(['Duration', 'Errors', 'Throttles']);
  });

  it('plots started, failed, timed-out and aborted executions of both state machines', () => {
    // Prepare
    const { pipeline } = built.stack;
    const machines = [logicalIdOf(pipeline.workflow.stateMachine), logicalIdOf(pipeline.waiter.stateMachine)];

    // Act
    const byMachine = machines.map((id) =>
      metrics
        .filter((metric) => metric.namespace === 'AWS/States' && metric.dimensions.StateMachineArn === `<${id}>`)
        .map((metric) => metric.name)
        .sort(),
    );

    // Assess
    for (const names of byMachine)
      expect(names).toStrictEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsStarted', 'ExecutionsTimedOut']);
  });

  it('plots the depth of the ingest queue and of its dead-letter queue', () => {
    // Prepare
    const { queue } = built.stack.pipeline;

    // Act
    const depths = metrics
      .filter((metric) => metric.namespace === 'AWS/SQS' && metric.name === 'ApproximateNumberOfMessagesVisible')
      .map((metric) => metric.dimensions.QueueName);

    // Assess
    expect(depths.sort()).toStrictEqual(
      [`<${logicalIdOf(queue.queue)}.QueueName>`, `<${logicalIdOf(queue.deadLetterQueue)}.QueueName>`].sort(),
    );
  });

  it('shows the state of every alarm of the stack', () => {
    // Prepare
    const alarms = alarmDefinitions(built.template).map((alarm) => `<${alarm.logicalId}.Arn>`);

    // Act
    const shown = dashboardWidgets(built.template).flatMap((widget) => widget.alarms);

    // Assess
    expect(alarms.length).toBeGreaterThan(0);
    expect([...shown].sort()).toStrictEqual([...alarms].sort());
  });
});

describe('pipelineMetric', () => {
  it('names the namespace, service and the given dimensions, Sum for a count', () => {
    // Act
    const metric = pipelineMetric('InspectionsFailed', { cause: 'system' });

    // Assess
    expect([metric.namespace, metric.metricName, metric.dimensions, metric.statistic]).toStrictEqual([
      'InspectPipeline',
      'InspectionsFailed',
      { service: 'inspect-pipeline', cause: 'system' },
      'Sum',
    ]);
  });

  it('refuses a dimension value the functions never emit, and a dimension the metric does not have', () => {
    // Act
    const misspelt = () => pipelineMetric('InspectionsFailed', { cause: 'sytem' });
    const extra = () => pipelineMetric('InspectionsTimedOut', ...([{ stage: 'copy' }] as unknown as []));

    // Assess
    expect(misspelt).toThrow('pipelineMetric: InspectionsFailed cause is one of input, system, got sytem');
    expect(extra).toThrow('pipelineMetric: InspectionsTimedOut has the dimensions none besides service, got stage');
  });
});
