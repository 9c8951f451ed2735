import type { Template } from 'aws-cdk-lib/assertions';
import { streamKey } from '../../local/pipeline/metric-usage';
import { placeholderOf, type TemplateJson, templateJson } from './template-values';

/**
 * The metrics of the CloudWatch dashboards of a synthesized template, read from each dashboard's DashboardBody (a
 * Fn::Join of JSON text and CloudFormation tokens), so that a test sees what the console would plot.
 */

/** One metric a dashboard plots (or computes with, for a math expression's hidden members). */
export interface DashboardMetric {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name -> value; a token value is its placeholder (see `placeholderOf`). */
  readonly dimensions: Record<string, string>;
}

/** A metric as one widget line has it: with its statistic, period and label. */
export interface DashboardMetricLine extends DashboardMetric {
  readonly statistic: string;
  readonly periodSeconds: number;
  readonly label: string | undefined;
  /** Its id in the widget's math expressions; undefined when it has none. */
  readonly id: string | undefined;
  /** False for a member of a math expression that is not drawn itself. */
  readonly visible: boolean;
}

export interface DashboardWidget {
  /** Logical id of the dashboard the widget is on. */
  readonly dashboard: string;
  /** `metric`, `text`, `alarm`, ... */
  readonly type: string;
  readonly title: string | undefined;
  readonly lines: readonly DashboardMetricLine[];
  readonly expressions: readonly {
    readonly expression: string;
    readonly label: string | undefined;
    readonly id: string | undefined;
  }[];
  /** The alarms of an alarm status widget (their ARN placeholders). */
  readonly alarms: readonly string[];
}

type MetricRow = readonly unknown[];
type RowOptions = {
  stat?: string;
  period?: number;
  label?: string;
  id?: string;
  visible?: boolean;
  expression?: string;
};

interface MetricWidgetJson {
  readonly type: string;
  readonly properties?: { title?: string; metrics?: MetricRow[]; stat?: string; period?: number; alarms?: string[] };
}

/** Every widget of every dashboard of the template, in order; throws when the template has no dashboard. */
export function dashboardWidgets(template: Template | TemplateJson): DashboardWidget[] {
  const dashboards = Object.entries(templateJson(template).Resources ?? {}).filter(
    ([, resource]) => resource.Type === 'AWS::CloudWatch::Dashboard',
  );
  if (dashboards.length === 0) throw new Error('The template has no AWS::CloudWatch::Dashboard');
  return dashboards.flatMap(([logicalId, resource]) => {
    const body = JSON.parse(placeholderOf(resource.Properties?.DashboardBody)) as { widgets?: MetricWidgetJson[] };
    return (body.widgets ?? []).map((widget) => widgetOf(logicalId, widget));
  });
}

function widgetOf(dashboard: string, widget: MetricWidgetJson): DashboardWidget {
  const properties = widget.properties ?? {};
  const lines: DashboardMetricLine[] = [];
  const expressions: { expression: string; label: string | undefined; id: string | undefined }[] = [];
  let previous: MetricRow = [];
  for (const row of properties.metrics ?? []) {
    const last = row[row.length - 1];
    const options: RowOptions =
      typeof last === 'object' && last !== null && !Array.isArray(last) ? (last as RowOptions) : {};
    const values = options === last ? row.slice(0, -1) : row;
    if (values.length === 0) {
      if (options.expression === undefined)
        throw new Error(`A metric row of "${properties.title}" has neither a metric nor an expression`);
      expressions.push({ expression: options.expression, label: options.label, id: options.id });
      continue;
    }
    // The console's shorthand: "." repeats the value at the same place in the row above.
    const resolved = values.map((value, index) => {
      if (value === '...') throw new Error(`The "..." shorthand in "${properties.title}" is not read here`);
      return value === '.' ? previous[index] : value;
    });
    previous = resolved;
    const [namespace, name, ...pairs] = resolved.map((value) => String(value));
    if (namespace === undefined || name === undefined || pairs.length % 2 !== 0) {
      throw new Error(
        `A metric row of "${properties.title}" is not [namespace, name, dimension, value, ...]: ${JSON.stringify(row)}`,
      );
    }
    const dimensions: Record<string, string> = {};
    for (let index = 0; index < pairs.length; index += 2) dimensions[pairs[index]!] = pairs[index + 1]!;
    lines.push({
      namespace,
      name,
      dimensions,
      statistic: options.stat ?? properties.stat ?? 'Average',
      periodSeconds: options.period ?? properties.period ?? 300,
      label: options.label,
      id: options.id,
      visible: options.visible !== false,
    });
  }
  return { dashboard, type: widget.type, title: properties.title, lines, expressions, alarms: properties.alarms ?? [] };
}

/**
 * Every metric the template's dashboards reference (AWS/* ones too, and the hidden members of math expressions),
 * once each, as namespace, name and dimensions; throws when the template has no dashboard.
 */
export function dashboardMetrics(template: Template | TemplateJson): DashboardMetric[] {
  const unique = new Map<string, DashboardMetric>();
  for (const widget of dashboardWidgets(template)) {
    for (const { namespace, name, dimensions } of widget.lines)
      unique.set(streamKey({ namespace, name, dimensions }), { namespace, name, dimensions });
  }
  return [...unique.values()];
}
