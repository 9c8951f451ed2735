import type { Template } from 'aws-cdk-lib/assertions';
import { placeholderOf, type TemplateJson, templateJson } from './template-values';

/**
 * Every CloudWatch alarm of a synthesized template, read from its AWS::CloudWatch::Alarm resource: what it watches
 * (one metric, or a math expression and its member metrics) and when it fires.
 */

export interface AlarmMetric {
  /** Its id in the alarm's math expression; undefined for a single-metric alarm. */
  readonly id: string | undefined;
  readonly namespace: string;
  readonly name: string;
  /** Dimension name -> value; a token value is its placeholder (`<LogicalId>` for a Ref, see `placeholderOf`). */
  readonly dimensions: Record<string, string>;
  /** `Sum`, `Maximum`, `p95`, ... */
  readonly statistic: string;
  readonly periodSeconds: number;
}

export interface AlarmDefinition {
  readonly logicalId: string;
  readonly description: string | undefined;
  readonly threshold: number;
  /** `GreaterThanOrEqualToThreshold`, ... */
  readonly comparison: string;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number | undefined;
  readonly treatMissingData: string | undefined;
  /** Placeholders of the actions run on ALARM (`<AlarmTopicLogicalId>`). */
  readonly alarmActions: readonly string[];
  /** The math expression the alarm evaluates; undefined for a single-metric alarm. */
  readonly expression: string | undefined;
  /** The metric, or the members of the expression. */
  readonly metrics: readonly AlarmMetric[];
}

type Properties = Record<string, unknown>;

interface MetricDataQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly ReturnData?: boolean;
  readonly MetricStat?: {
    readonly Metric: {
      readonly Namespace: string;
      readonly MetricName: string;
      readonly Dimensions?: { Name: string; Value: unknown }[];
    };
    readonly Period: number;
    readonly Stat: string;
  };
}

function dimensionsOf(dimensions: readonly { Name: string; Value: unknown }[] | undefined): Record<string, string> {
  return Object.fromEntries((dimensions ?? []).map(({ Name, Value }) => [Name, placeholderOf(Value)]));
}

function metricsOf(properties: Properties): { expression: string | undefined; metrics: AlarmMetric[] } {
  const queries = properties.Metrics as MetricDataQuery[] | undefined;
  if (queries === undefined) {
    return {
      expression: undefined,
      metrics: [
        {
          id: undefined,
          namespace: String(properties.Namespace),
          name: String(properties.MetricName),
          dimensions: dimensionsOf(properties.Dimensions as { Name: string; Value: unknown }[] | undefined),
          statistic: String(properties.Statistic ?? properties.ExtendedStatistic),
          periodSeconds: Number(properties.Period),
        },
      ],
    };
  }
  const returned = queries.filter((query) => query.Expression !== undefined && query.ReturnData !== false);
  if (returned.length > 1)
    throw new Error(`An alarm returns ${returned.length} expressions: ${returned.map((query) => query.Id).join(', ')}`);
  return {
    expression: returned[0]?.Expression,
    metrics: queries
      .filter((query) => query.MetricStat !== undefined)
      .map(({ Id, MetricStat }) => ({
        id: Id,
        namespace: MetricStat!.Metric.Namespace,
        name: MetricStat!.Metric.MetricName,
        dimensions: dimensionsOf(MetricStat!.Metric.Dimensions),
        statistic: MetricStat!.Stat,
        periodSeconds: MetricStat!.Period,
      })),
  };
}

/** Every AWS::CloudWatch::Alarm of the template, in template order. */
export function alarmDefinitions(template: Template | TemplateJson): AlarmDefinition[] {
  return Object.entries(templateJson(template).Resources ?? {})
    .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map(([logicalId, resource]) => {
      const properties = resource.Properties ?? {};
      return {
        logicalId,
        description: properties.AlarmDescription === undefined ? undefined : placeholderOf(properties.AlarmDescription),
        threshold: Number(properties.Threshold),
        comparison: String(properties.ComparisonOperator),
        evaluationPeriods: Number(properties.EvaluationPeriods),
        datapointsToAlarm:
          properties.DatapointsToAlarm === undefined ? undefined : Number(properties.DatapointsToAlarm),
        treatMissingData: properties.TreatMissingData === undefined ? undefined : String(properties.TreatMissingData),
        alarmActions: ((properties.AlarmActions as unknown[] | undefined) ?? []).map(placeholderOf),
        ...metricsOf(properties),
      };
    });
}
