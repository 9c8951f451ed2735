import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type MetricDimensionsArgument,
  type MetricName,
  type MetricUnitName,
  PIPELINE_METRICS,
  type StepMetrics,
} from '../../src/observability/pipeline-metrics';

/** Where the EMF lines go instead of stdout: local mode reads them as CloudWatch reads a function's log. */
export type EmfOutput = (line: string) => void;

const UNITS: Record<MetricUnitName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Bytes: MetricUnit.Bytes,
  Seconds: MetricUnit.Seconds,
  'Bytes/Second': MetricUnit.BytesPerSecond,
};

/** The metrics of one invocation, published when it ends. */
export interface PublishableMetrics extends StepMetrics {
  publish(): void;
}

/**
 * One invocation's metrics, in Powertools Metrics: one EMF line per dimension set (a data point of
 * `InspectionsFailed` by cause does not add the cause to the invocation's other metrics), each carrying the batch it
 * is about as metadata, so that Logs Insights finds a flight's figures. A new object per invocation: one Lambda
 * container runs one invocation at a time, local mode runs many at once.
 */
export class InvocationMetrics implements PublishableMetrics {
  private readonly lines = new Map<string, Metrics>();
  private batchId: string | undefined;

  constructor(private readonly output?: EmfOutput) {}

  record<N extends MetricName>(name: N, value: number, ...dimensions: MetricDimensionsArgument<N>): void {
    const given: Readonly<Record<string, string>> = dimensions[0] ?? {};
    const key = JSON.stringify(PIPELINE_METRICS[name].dimensions.map((dimension) => [dimension, given[dimension]]));
    let line = this.lines.get(key);
    if (!line) {
      line = this.newLine();
      for (const dimension of PIPELINE_METRICS[name].dimensions)
        line.addDimension(dimension, given[dimension] ?? 'unknown');
      this.lines.set(key, line);
    }
    line.addMetric(name, UNITS[PIPELINE_METRICS[name].unit], value);
  }

  about(batchId: string): void {
    this.batchId = batchId;
  }

  publish(): void {
    for (const line of this.lines.values()) {
      if (!line.hasStoredMetrics()) continue;
      if (this.batchId) line.addMetadata('batchId', this.batchId);
      line.publishStoredMetrics();
    }
    this.lines.clear();
  }

  private newLine(): Metrics {
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
    if (this.output) {
      // Powertools writes EMF to stdout by design and takes no stream; its console is replaced for local mode only.
      const output = this.output;
      const stream = new Writable({
        write(chunk: Buffer | string, _encoding, done) {
          for (const text of chunk.toString().split('\n')) if (text) output(text);
          done();
        },
      });
      Object.assign(metrics, { console: new Console({ stdout: stream, stderr: stream }) });
    }
    return metrics;
  }
}
