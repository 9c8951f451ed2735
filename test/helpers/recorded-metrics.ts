import type { MetricDimensionsArgument, MetricName, StepMetrics } from '../../src/observability/pipeline-metrics';

export interface RecordedPoint {
  readonly name: MetricName;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** A StepMetrics that keeps what the steps record, for tests to read. */
export class RecordedMetrics implements StepMetrics {
  readonly points: RecordedPoint[] = [];
  batchId: string | undefined;

  record<N extends MetricName>(name: N, value: number, ...dimensions: MetricDimensionsArgument<N>): void {
    this.points.push({ name, value, dimensions: dimensions[0] ?? {} });
  }

  about(batchId: string): void {
    this.batchId = batchId;
  }

  get names(): MetricName[] {
    return this.points.map((point) => point.name);
  }
}
