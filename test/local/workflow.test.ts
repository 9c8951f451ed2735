import { afterEach, describe, expect, it } from 'vitest';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline/local-pipeline';
import { BatchStateStore } from '../../src/batch-state/batch-state';
import { listBucket } from '../helpers/bucket-contents';
import { dropFlight, photos } from '../helpers/flights';
import { SMALL_FLIGHT_PREFLIGHT } from '../helpers/small-flights';

/**
 * The state machines of the synthesized stack, run by the local interpreter with the real handlers, against the
 * Pix4Dinspect simulator and the embedded S3 server.
 */

let pipeline: LocalPipeline | undefined;

afterEach(async () => {
  // Every call each function and state machine made was allowed by its role in the synthesized template.
  const refused = pipeline?.iam?.refused() ?? [];
  await pipeline?.close();
  pipeline = undefined;
  expect(refused, 'AWS calls IAM refused').toEqual([]);
});

async function start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  pipeline = await startLocalPipeline({
    simulatorSettings: { processingSeconds: 0.5 },
    quietPeriodSeconds: 0,
    ...options,
    config: { preflight: SMALL_FLIGHT_PREFLIGHT, ...options.config },
  });
  return pipeline;
}

describe('the inspection workflow, locally', () => {
  it('processes a 1,200-photo flight: three register calls, one inspection.completed message', async () => {
    // Prepare
    const local = await start();

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-123/flight-1/', photos(1_200, 512), {
      inspection: { name: 'Flight 1' },
    });
    await local.settle();

    // Assess
    expect(local.notifications).toHaveLength(1);
    const [message] = local.notifications;
    expect(message).toMatchObject({
      type: 'inspection.completed',
      batch: { bucket: local.dropBucket, prefix: 'tower-123/flight-1/' },
      asset: { name: 'tower-123' },
      inspection: { name: 'Flight 1', status: { id: 7, name: 'Processing completed' } },
      images: { found: 1_200, copied: 1_200, registered: 1_200, skippedTotal: 0 },
    });
    expect(message!.inspection!.url).toMatch(/^https:\/\/inspect\.pix4d\.com\/project\/\d+\/$/);
    const registerCalls = local.simulator!.requests.filter(
      (request) => request.path.endsWith('/register_images/') && request.status === 200,
    );
    expect(registerCalls).toHaveLength(3);
    expect(local.simulator!.requests.filter((request) => request.path.endsWith('/process/'))).toHaveLength(1);
    const records = await new BatchStateStore(local.s3, local.workBucket).recent(10);
    expect(records).toEqual([
      expect.objectContaining({
        batchId: message!.batch.id,
        prefix: 'tower-123/flight-1/',
        state: 'completed',
        photos: { found: 1_200, copied: 1_200, registered: 1_200, skipped: 0 },
        inspection: { id: message!.inspection!.id, url: message!.inspection!.url },
      }),
    ]);
  }, 180_000);

  it('reports a failed processing as inspection.failed at stage processing', async () => {
    // Prepare
    const local = await start({ simulatorSettings: { processingSeconds: 0.3, processingOutcome: 'failed' } });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-7/flight-2/', photos(3), {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        error: { stage: 'processing', message: expect.stringContaining('Processing failed') },
      }),
    ]);
    expect(local.executions.find((execution) => execution.machine === 'inspection')?.status).toBe('failed');
  }, 60_000);

  it('gives inspection.timed_out when processing never ends, at the deadline', async () => {
    // Prepare
    const local = await start({ simulatorSettings: { processingOutcome: 'never' }, deadlineSeconds: 1.5 });

    // Act
    const dropped = Date.now();
    await dropFlight(local.s3, local.dropBucket, 'tower-8/flight-3/', photos(2), {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.timed_out',
        error: expect.objectContaining({ stage: 'processing' }),
      }),
    ]);
    const { timings } = local.notifications[0]!;
    const processingTime = Date.parse(timings.finishedAt) - Date.parse(timings.processingStartedAt!);
    expect(processingTime).toBeGreaterThanOrEqual(1_500);
    expect(Date.parse(timings.finishedAt)).toBeGreaterThan(dropped);
  }, 60_000);

  it('starts one inspection although every S3 event is delivered three times', async () => {
    // Prepare
    const local = await start({ duplicateEvents: 3 });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-9/flight-4/', photos(5), {});
    await local.settle();

    // Assess
    expect(local.executions.filter((execution) => execution.machine === 'inspection')).toHaveLength(1);
    expect(local.notifications.map((message) => message.type)).toEqual(['inspection.completed']);
    expect(
      local.simulator!.requests.filter((request) => request.method === 'POST' && request.path === '/v1/inspections/'),
    ).toHaveLength(1);
  }, 60_000);

  it('closes a batch without manifest after the quiet period, once, whatever the number of waiters', async () => {
    // Prepare
    const local = await start({ quietPeriodSeconds: 1, duplicateEvents: 2 });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-10/flight-5/', photos(4));
    await local.settle();

    // Assess
    expect(local.executions.filter((execution) => execution.machine === 'inspection')).toHaveLength(1);
    expect(local.notifications).toEqual([
      expect.objectContaining({ type: 'inspection.completed', images: expect.objectContaining({ registered: 4 }) }),
    ]);
    const records = await new BatchStateStore(local.s3, local.workBucket).recent(10);
    const inspectionId = local.notifications[0]!.batch.id;
    expect(records.find((record) => record.batchId === inspectionId)?.state).toBe('completed');
    const watches = records.filter((record) => record.state === 'collecting');
    expect(watches.length).toBeGreaterThan(0);
    expect(watches.every((record) => record.closedInto === inspectionId)).toBe(true);
  }, 60_000);

  it('creates one asset for two flights of a new tower closing together', async () => {
    // Prepare
    const local = await start();

    // Act
    await Promise.all([
      dropFlight(local.s3, local.dropBucket, 'tower-11/flight-a/', photos(2), {}),
      dropFlight(local.s3, local.dropBucket, 'tower-11/flight-b/', photos(2), {}),
    ]);
    await local.settle();

    // Assess
    expect(local.notifications).toHaveLength(2);
    const assetIds = new Set(local.notifications.map((message) => message.asset.id));
    expect(assetIds.size).toBe(1);
    expect(
      local.simulator!.requests.filter((request) => request.method === 'POST' && request.path === '/v1/assets/'),
    ).toHaveLength(1);
  }, 60_000);

  it('fails at stage manifest with a clear reason for an invalid manifest, and leaves the drop bucket as it was', async () => {
    // Prepare
    const local = await start();

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-12/flight-6/', photos(2), { colour: 'red' });
    const dropped = await listBucket(local.s3, local.dropBucket);
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        error: { stage: 'manifest', message: expect.stringContaining('unknown field "colour"') },
      }),
    ]);
    expect(dropped).toHaveLength(3);
    expect(await listBucket(local.s3, local.dropBucket)).toEqual(dropped);
  }, 60_000);
});
