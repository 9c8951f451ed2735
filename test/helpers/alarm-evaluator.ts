import type { LocalPipeline, LocalPipelineEvent } from '../../local/pipeline/local-pipeline';
import type { SynthesizedStack } from '../../local/pipeline/synthesized-stack';
import type { AlarmDefinition, AlarmMetric } from './alarm-definitions';

/** A metric's value over the observed period by the alarm's statistic; undefined when it had no data point. */
export type Observation = (metric: AlarmMetric) => number | undefined;

/**
 * The alarms that would go into ALARM for one period of observed metrics, evaluated as CloudWatch does for a
 * one-period alarm: the metric's statistic (or the math expression over its members), compared with the threshold,
 * missing data by `treatMissingData`. An expression or comparison it does not know throws, so no alarm passes
 * unjudged.
 */
export function alarmsInAlarm(alarms: readonly AlarmDefinition[], observe: Observation): AlarmDefinition[] {
  return alarms.filter((alarm) => {
    if (alarm.evaluationPeriods !== 1) throw new Error(`${alarm.logicalId}: only one-period alarms are evaluated here`);
    const value =
      alarm.expression === undefined ? observe(only(alarm.metrics, alarm.logicalId)) : evaluate(alarm, observe);
    if (value === undefined) return alarm.treatMissingData === 'breaching';
    return compare(alarm.comparison, value, alarm.threshold, alarm.logicalId);
  });
}

function only(metrics: readonly AlarmMetric[], alarm: string): AlarmMetric {
  if (metrics.length !== 1) throw new Error(`${alarm}: a single-metric alarm with ${metrics.length} metrics`);
  return metrics[0]!;
}

/** `MAX([a, b])`, `SUM([a, b])`, `a + b` or `a`: the expressions the pipeline's alarms use. */
function evaluate(alarm: AlarmDefinition, observe: Observation): number | undefined {
  const expression = alarm.expression!.replace(/\s+/g, '');
  const valueOfMember = (id: string) => {
    const metric = alarm.metrics.find((candidate) => candidate.id === id);
    if (!metric) throw new Error(`${alarm.logicalId}: the expression names ${id}, which is not one of its metrics`);
    return observe(metric);
  };
  const listed = /^(MAX|SUM)\(\[([\w,]+)\]\)$/.exec(expression);
  const ids = listed ? listed[2]!.split(',') : /^[\w+]+$/.test(expression) ? expression.split('+') : undefined;
  if (!ids) throw new Error(`${alarm.logicalId}: the expression ${alarm.expression} is not one evaluated here`);
  // As in metric math, a member without data points drops out; none with data leaves the expression without one.
  const values = ids.map(valueOfMember).filter((value): value is number => value !== undefined);
  if (values.length === 0) return undefined;
  return listed?.[1] === 'MAX' ? Math.max(...values) : values.reduce((sum, value) => sum + value, 0);
}

function compare(comparison: string, value: number, threshold: number, alarm: string): boolean {
  switch (comparison) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      throw new Error(`${alarm}: comparison ${comparison} is not one evaluated here`);
  }
}

/**
 * What CloudWatch would have seen of one local run, for the metrics the alarms watch: the functions' own metrics
 * from their EMF lines, the state machines' execution counts from the local executions, the functions' errors
 * from the invocations that failed, the dead-letter queue from the notifications that reached it. A metric it
 * cannot observe throws, naming it.
 */
export function observeLocalRun(pipeline: LocalPipeline, events: readonly LocalPipelineEvent[]): Observation {
  const stack = pipeline.stack;
  const points = (count: number) => (count === 0 ? undefined : count);
  return (metric) => {
    const dimension = (name: string) => metric.dimensions[name];
    switch (metric.namespace) {
      case 'InspectPipeline': {
        const wanted = Object.entries(metric.dimensions);
        const values = pipeline.metrics.records
          .filter((record) => record.name === metric.name)
          .filter(
            (record) =>
              Object.keys(record.dimensions).length === wanted.length &&
              wanted.every(([name, value]) => record.dimensions[name] === value),
          )
          .flatMap((record) => record.values);
        if (values.length === 0) return undefined;
        if (metric.statistic === 'Sum') return values.reduce((sum, value) => sum + value, 0);
        if (metric.statistic === 'Maximum') return Math.max(...values);
        throw new Error(`InspectPipeline ${metric.name}: statistic ${metric.statistic} is not observed here`);
      }
      case 'AWS/States': {
        const machine = (['inspection', 'waiter'] as const).find(
          (name) => `<${stack[name].logicalId}>` === dimension('StateMachineArn'),
        );
        if (!machine) break;
        // Local executions are never stopped, and end long before any TimeoutSeconds.
        if (metric.name === 'ExecutionsTimedOut' || metric.name === 'ExecutionsAborted') return undefined;
        const status = ({ ExecutionsFailed: 'failed', ExecutionsSucceeded: 'succeeded' } as Record<string, string>)[
          metric.name
        ];
        if (!status) break;
        return points(
          pipeline.executions.filter((execution) => execution.machine === machine && execution.status === status)
            .length,
        );
      }
      case 'AWS/Lambda': {
        const fn = Object.values(stack.functions).find(
          (candidate) => `<${candidate.logicalId}>` === dimension('FunctionName'),
        );
        if (!fn) break;
        if (metric.name === 'Errors')
          return points(events.filter((event) => event.event === 'function-error' && event.step === fn.step).length);
        // A local Lambda is throttled only when a run asks for it (`throttleTask`); the runs judged here do not.
        if (metric.name === 'Throttles') return undefined;
        break;
      }
      case 'AWS/SQS': {
        if (metric.name !== 'ApproximateNumberOfMessagesVisible') break;
        if (dimension('QueueName') === `<${deadLetterQueueOf(stack.template)}.QueueName>`)
          return points(pipeline.deadLetters.length);
        break;
      }
      default:
        break;
    }
    throw new Error(
      `A local run does not observe ${metric.namespace} ${metric.name} ${JSON.stringify(metric.dimensions)}`,
    );
  };
}

/** Logical id of the queue that another queue's RedrivePolicy sends its failed messages to. */
function deadLetterQueueOf(template: SynthesizedStack['template']): string {
  for (const resource of Object.values(template.Resources)) {
    const target = (
      resource.Properties?.RedrivePolicy as { deadLetterTargetArn?: { 'Fn::GetAtt'?: [string, string] } } | undefined
    )?.deadLetterTargetArn;
    const logicalId = target?.['Fn::GetAtt']?.[0];
    if (resource.Type === 'AWS::SQS::Queue' && logicalId) return logicalId;
  }
  throw new Error('The template has no queue with a dead-letter queue');
}
