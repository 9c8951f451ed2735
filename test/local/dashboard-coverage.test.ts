import { describe, expect, it } from 'vitest';
import {
  METRIC_USAGE_DIR_VARIABLE,
  type MetricStream,
  readMetricUsage,
  streamKey,
} from '../../local/pipeline/metric-usage';
import { synthesizeStack } from '../../local/pipeline/synthesized-stack';
import { METRICS_NAMESPACE } from '../../src/observability/pipeline-metrics';
import { alarmDefinitions } from '../helpers/alarm-definitions';
import { dashboardMetrics } from '../helpers/dashboard-metrics';

/**
 * The dashboard and the alarms, measured against what the functions emit: every local pipeline of this test run
 * recorded the metric streams (namespace, name, dimensions) of its functions' EMF lines. This file runs after all
 * the others (vitest.config.mts). A metric the dashboard or an alarm watches that no run emitted, by that name and
 * with those dimension names, would be a flat line on AWS; a stream a run emitted that the dashboard does not plot
 * is a figure nobody sees.
 */

const describeStream = (stream: MetricStream) =>
  `${stream.namespace} ${stream.name} ${Object.entries(stream.dimensions)
    .map(([name, value]) => `${name}=${value}`)
    .join(',')}`;
const shape = (stream: MetricStream) =>
  JSON.stringify([stream.namespace, stream.name, Object.keys(stream.dimensions).sort()]);

describe('dashboard coverage', () => {
  it('every metric of the pipeline that the dashboard and the alarms watch was emitted by a local run, with its dimensions', async () => {
    // Prepare
    const dir = process.env[METRIC_USAGE_DIR_VARIABLE];
    expect(dir, `${METRIC_USAGE_DIR_VARIABLE} is set by test/global-setup.ts`).toBeTruthy();
    const usage = await readMetricUsage(dir!);
    const { template } = synthesizeStack();

    // Act
    const watched = [
      ...dashboardMetrics(template),
      ...alarmDefinitions(template).flatMap((alarm) => alarm.metrics),
    ].filter((metric) => metric.namespace === METRICS_NAMESPACE);
    const emittedShapes = new Set(usage.streams.map(shape));
    const neverEmitted = [
      ...new Set(watched.filter((metric) => !emittedShapes.has(shape(metric))).map(describeStream)),
    ];

    // Assess
    expect(usage.runs, 'no local run recorded its metrics: run the whole suite (npm test)').toBeGreaterThan(0);
    expect(usage.invalid, 'lines that were not valid EMF').toEqual([]);
    expect(watched.length).toBeGreaterThan(0);
    expect(neverEmitted, 'watched, never emitted by that name and dimension names').toEqual([]);
  });

  it('every stream a local run emitted is on the dashboard, dimension values included', async () => {
    // Prepare
    const usage = await readMetricUsage(process.env[METRIC_USAGE_DIR_VARIABLE]!);
    const { template } = synthesizeStack();

    // Act
    const plotted = new Set(dashboardMetrics(template).map(streamKey));
    const offTheDashboard = usage.streams.filter((stream) => !plotted.has(streamKey(stream))).map(describeStream);

    // Assess
    expect(usage.streams.length).toBeGreaterThan(0);
    expect(offTheDashboard, 'emitted, not on the dashboard').toEqual([]);
  });
});
