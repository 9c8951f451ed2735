import { z } from 'zod';

/** One metric of one EMF line, as CloudWatch reads it: name, unit, values, namespace and dimensions. */
export interface MetricRecord {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly values: readonly number[];
  readonly dimensions: Readonly<Record<string, string>>;
  /** The batch the line is about (metadata), when the function named one. */
  readonly batchId?: string;
  readonly timestamp: number;
}

// What CloudWatch requires of an embedded-metric-format line (the specification's `_aws` object).
const emfSchema = z.object({
  _aws: z.object({
    Timestamp: z.number().int().nonnegative(),
    CloudWatchMetrics: z
      .array(
        z.object({
          Namespace: z.string().min(1).max(255),
          Dimensions: z.array(z.array(z.string()).max(30)),
          Metrics: z.array(z.object({ Name: z.string().min(1).max(255), Unit: z.string().optional() })).max(100),
        }),
      )
      .length(1),
  }),
});

/**
 * The EMF lines the functions wrote, read as CloudWatch reads them: a line that does not follow the format, or names
 * a dimension or metric it does not carry, is kept in `invalid` (CloudWatch would drop it without a word).
 */
export class MetricLog {
  readonly records: MetricRecord[] = [];
  readonly invalid: { readonly line: string; readonly reason: string }[] = [];

  add(line: string): void {
    try {
      this.records.push(...parseEmfLine(line));
    } catch (error) {
      this.invalid.push({ line, reason: error instanceof Error ? error.message : String(error) });
    }
  }
}

/** The metrics of one EMF line; throws with the reason when the line is not valid EMF. */
export function parseEmfLine(line: string): MetricRecord[] {
  const json = JSON.parse(line) as Record<string, unknown>;
  const parsed = emfSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `not EMF: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`,
    );
  const [directive] = parsed.data._aws.CloudWatchMetrics;
  const batchId = typeof json.batchId === 'string' ? json.batchId : undefined;
  const records: MetricRecord[] = [];
  for (const dimensionSet of directive!.Dimensions) {
    const dimensions: Record<string, string> = {};
    for (const name of dimensionSet) {
      const value = json[name];
      if (typeof value !== 'string' || value === '') throw new Error(`dimension ${name} has no string value`);
      dimensions[name] = value;
    }
    for (const metric of directive!.Metrics) {
      const raw = json[metric.Name];
      const values = Array.isArray(raw) ? raw : [raw];
      if (values.length === 0 || !values.every((value) => typeof value === 'number' && Number.isFinite(value))) {
        throw new Error(`metric ${metric.Name} has no numeric value`);
      }
      records.push({
        namespace: directive!.Namespace,
        name: metric.Name,
        unit: metric.Unit ?? 'None',
        values: values as number[],
        dimensions,
        ...(batchId === undefined ? {} : { batchId }),
        timestamp: parsed.data._aws.Timestamp,
      });
    }
  }
  return records;
}
