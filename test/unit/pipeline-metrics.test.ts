import { afterEach, describe, expect, it } from 'vitest';
import { InvocationMetrics } from '../../functions/shared/invocation-metrics';
import { flightFigures } from '../../local/pipeline/flight-figures';
import { MetricLog } from '../../local/pipeline/metric-log';
import { pix4dCallMetrics } from '../../src/observability/pix4d-call-metrics';
import { Pix4dInspectClient } from '../../src/pix4d/client';
import { RecordedMetrics } from '../helpers/recorded-metrics';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from '../helpers/scripted-server';

/**
 * The functions' metrics as CloudWatch would read them: Powertools' EMF lines, one per dimension set, parsed by the
 * same reader local mode uses; and the Pix4D client's requests counted by what answered them.
 */

function emitted(record: (metrics: InvocationMetrics) => void): MetricLog {
  const log = new MetricLog();
  const metrics = new InvocationMetrics((line) => log.add(line));
  record(metrics);
  metrics.publish();
  return log;
}

describe('invocation metrics', () => {
  it('writes one EMF line per dimension set, in namespace InspectPipeline with the service dimension and the batch as metadata', () => {
    // Act
    const log = emitted((metrics) => {
      metrics.about('m-tower-1-flight-1-abc');
      metrics.record('InspectionsFailed', 1, { cause: 'system' });
      metrics.record('FailuresByStage', 1, { stage: 'copy' });
      metrics.record('TimeToNotification', 42.5);
      metrics.record('PhotosCopied', 3);
      metrics.record('PhotosCopied', 4);
    });

    // Assess
    expect(log.invalid).toEqual([]);
    const streams = log.records.map(({ namespace, name, unit, values, dimensions, batchId }) => ({
      namespace,
      name,
      unit,
      values,
      dimensions,
      batchId,
    }));
    expect(streams).toEqual(
      expect.arrayContaining([
        {
          namespace: 'InspectPipeline',
          name: 'InspectionsFailed',
          unit: 'Count',
          values: [1],
          dimensions: { service: 'inspect-pipeline', cause: 'system' },
          batchId: 'm-tower-1-flight-1-abc',
        },
        {
          namespace: 'InspectPipeline',
          name: 'FailuresByStage',
          unit: 'Count',
          values: [1],
          dimensions: { service: 'inspect-pipeline', stage: 'copy' },
          batchId: 'm-tower-1-flight-1-abc',
        },
        {
          namespace: 'InspectPipeline',
          name: 'TimeToNotification',
          unit: 'Seconds',
          values: [42.5],
          dimensions: { service: 'inspect-pipeline' },
          batchId: 'm-tower-1-flight-1-abc',
        },
        {
          namespace: 'InspectPipeline',
          name: 'PhotosCopied',
          unit: 'Count',
          values: [3, 4],
          dimensions: { service: 'inspect-pipeline' },
          batchId: 'm-tower-1-flight-1-abc',
        },
      ]),
    );
    expect(streams).toHaveLength(4);
  });

  it('publishes nothing when nothing was recorded, and each recorded point once', () => {
    // Prepare
    const log = new MetricLog();
    const metrics = new InvocationMetrics((line) => log.add(line));

    // Act
    metrics.publish();
    metrics.record('BatchesClosed', 1, { trigger: 'manifest' });
    metrics.publish();
    metrics.publish();

    // Assess
    expect(log.records.map((record) => [record.name, record.dimensions.trigger, record.values])).toEqual([
      ['BatchesClosed', 'manifest', [1]],
    ]);
  });
});

describe('the EMF reader', () => {
  it('keeps a line that is not EMF, or names a dimension it does not carry, as invalid with the reason', () => {
    // Prepare
    const log = new MetricLog();
    const directive = (dimensions: string[][]) => ({
      Timestamp: 1,
      CloudWatchMetrics: [
        { Namespace: 'InspectPipeline', Dimensions: dimensions, Metrics: [{ Name: 'PhotosCopied', Unit: 'Count' }] },
      ],
    });

    // Act
    log.add(JSON.stringify({ _aws: directive([['service']]), PhotosCopied: 2 }));
    log.add(JSON.stringify({ _aws: directive([['service']]), service: 'inspect-pipeline', PhotosCopied: 'two' }));
    log.add(JSON.stringify({ message: 'a log line' }));

    // Assess
    expect(log.records).toEqual([]);
    expect(log.invalid.map((entry) => entry.reason)).toEqual([
      'dimension service has no string value',
      'metric PhotosCopied has no numeric value',
      expect.stringMatching(/^not EMF: _aws/),
    ]);
  });

  it("gives a flight's figures from its own lines only", () => {
    // Prepare
    const log = new MetricLog();
    for (const [batchId, bytes, seconds] of [
      ['b-1', 1_000, 10],
      ['b-1', 3_000, 20],
      ['b-2', 99_000, 99],
    ] as const) {
      const metrics = new InvocationMetrics((line) => log.add(line));
      metrics.about(batchId);
      metrics.record('BytesCopied', bytes);
      metrics.record('CopyThroughput', bytes / 2);
      metrics.record('TimeToNotification', seconds);
      metrics.publish();
    }

    // Act
    const figures = flightFigures(log.records, { id: 'b-1', prefix: 'tower-1/flight-1/' });

    // Assess
    expect(figures).toEqual({
      batch: 'tower-1/flight-1/',
      batchId: 'b-1',
      seconds: { closeToProcessing: null, processing: null, closeToNotification: 20 },
      photosCopied: 0,
      bytesCopied: 4_000,
      chunkThroughput: { chunks: 2, meanBytesPerSecond: 1_000, minBytesPerSecond: 500, maxBytesPerSecond: 1_500 },
      pix4d: { calls: 0, retries: 0, failedCalls: 0 },
      s3CredentialRefreshes: 0,
    });
  });
});

describe('Pix4D request metrics', () => {
  const servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('counts each request by what answered it, each resend, and a call that failed after its retries', async () => {
    // Prepare: the token is given at once; the inspection answers 503 twice, then 200; another inspection 404
    let inspectionRequests = 0;
    const answers = (path: string): ScriptedAnswer => {
      if (path === '/v1/auth/token/') return { status: 200, body: { api_token: 'jwt-metrics', expires_in: 3_600 } };
      if (path === '/v1/inspections/2/') return { status: 404, body: { detail: 'Not found.' } };
      inspectionRequests += 1;
      if (inspectionRequests <= 2) return { status: 503, body: 'busy' };
      return {
        status: 200,
        body: {
          id: 1,
          project_id: 7,
          asset: 3,
          status: { id: 1, name: 'Created' },
          pcs_task_uuid: null,
          name: 'F',
          created_at: new Date().toISOString(),
        },
      };
    };
    const server = await startScriptedServer((request) => answers(request.path));
    servers.push(server);
    const metrics = new RecordedMetrics();
    const client = new Pix4dInspectClient({
      account: { username: 'u@example.com', password: 'pw-metrics', apiKey: 'key-metrics' },
      authUrl: server.url,
      apiUrl: server.url,
      backoff: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxTotalMs: 5_000 },
    }).withDeadline(Date.now() + 30_000, pix4dCallMetrics(metrics));

    // Act
    await client.getInspection(1);
    await expect(client.getInspection(2)).rejects.toThrow(/404/);

    // Assess
    const counted = metrics.points.map((point) => [point.name, point.dimensions.statusClass ?? null]);
    expect(counted).toEqual([
      ['Pix4dApiCalls', '2xx'],
      ['Pix4dApiCalls', '5xx'],
      ['Pix4dApiRetries', null],
      ['Pix4dApiCalls', '5xx'],
      ['Pix4dApiRetries', null],
      ['Pix4dApiCalls', '2xx'],
      ['Pix4dApiCalls', '4xx'],
      ['Pix4dApiErrors', '4xx'],
    ]);
  });
});
