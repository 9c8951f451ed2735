import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricLog } from './metric-log';

/**
 * Which metrics the local runs emitted, gathered across processes like the grants they used (grant-usage.ts): each
 * local pipeline, when it closes, writes the metrics its functions emitted (name, namespace, dimensions) and any
 * line that was not valid EMF into the folder this variable names; a test that runs after the others compares them
 * with the dashboard and the alarms.
 */
export const METRIC_USAGE_DIR_VARIABLE = 'INSPECT_PIPELINE_METRIC_USAGE_DIR';

/** One metric stream as CloudWatch keeps it: namespace, name and the dimensions with their values. */
export interface MetricStream {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface MetricUsage {
  readonly streams: readonly MetricStream[];
  readonly invalid: readonly { readonly line: string; readonly reason: string }[];
  readonly runs: number;
}

/** A stream's identity: equal for the same namespace, name and dimensions in any order. */
export function streamKey(stream: MetricStream): string {
  const dimensions = Object.entries(stream.dimensions).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([stream.namespace, stream.name, dimensions]);
}

export async function recordMetricUsage(metrics: MetricLog, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = env[METRIC_USAGE_DIR_VARIABLE];
  if (!dir) return;
  const streams = new Map<string, MetricStream>();
  for (const { namespace, name, dimensions } of metrics.records)
    streams.set(streamKey({ namespace, name, dimensions }), { namespace, name, dimensions });
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, `metrics-${process.pid}-${randomUUID()}.json`),
    JSON.stringify({ streams: [...streams.values()], invalid: metrics.invalid }),
  );
}

/** Every stream the recorded runs emitted (once each), their invalid lines, and how many runs recorded. */
export async function readMetricUsage(dir: string): Promise<MetricUsage> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.startsWith('metrics-'));
  const streams = new Map<string, MetricStream>();
  const invalid: { line: string; reason: string }[] = [];
  for (const file of files) {
    const usage = JSON.parse(await readFile(join(dir, file), 'utf8')) as Omit<MetricUsage, 'runs'>;
    for (const stream of usage.streams) streams.set(streamKey(stream), stream);
    invalid.push(...usage.invalid);
  }
  return { streams: [...streams.values()], invalid, runs: files.length };
}
