import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedS3 } from '../../local/s3/embedded-s3';
import type { Simulator } from '../../local/simulator/simulator';
import { ManifestError } from '../../src/batch/manifest';
import { decideForEvent, type InspectionRequest } from '../../src/ingest/batch-events';
import { buildNotification } from '../../src/notify/notification';
import { Pix4dInspectClient } from '../../src/pix4d/client';
import { SnsNotificationPublisher } from '../../src/workflow/notification-publisher';
import { notifyOutcome } from '../../src/workflow/notify-outcome';
import { type BatchSummary, NoPhotosError, prepareInspection } from '../../src/workflow/prepare-inspection';
import { checkProcessing, startProcessing } from '../../src/workflow/processing-steps';
import { RUN_FILES } from '../../src/workflow/run-files';
import { RunStore } from '../../src/workflow/run-store';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import {
  type ChunkRecord,
  CopyIncompleteError,
  chunkRecordName,
  copyChunk,
  registerPhotos,
} from '../../src/workflow/transfer-steps';
import type {
  CopyChunkResult,
  PollState,
  PreparedInspection,
  ProcessingState,
} from '../../src/workflow/workflow-state';
import { type DroppedFile, dropFlight, jpegBytes } from '../helpers/flights';
import { RecordedMetrics } from '../helpers/recorded-metrics';
import { RecordingPublisher } from '../helpers/recording-publisher';
import { stepDependenciesIn, stepWorldPerFile } from '../helpers/step-world';

/**
 * The workflow's steps, called one after the other as the state machine would, against the embedded S3 server (drop
 * and work buckets) and the Pix4Dinspect simulator through the real client. Each test drops its own batch and uses
 * its own work bucket, so that the asset registry and the run data start empty.
 */

const DROP_BUCKET = 'drop-steps';
const MANIFEST = {
  asset: { name: 'Tower X' },
  inspection: { name: 'Flight X' },
  processing_parameters: { detect_antennas: false },
};
const TEXT_NAMED_JPG = 'This is a flight log, not a photo.\n';

/** Photos with awkward keys (spaces, +, %, unicode; one file name in two sub-folders), and files to skip. */
const PHOTO_FILES: DroppedFile[] = [
  { relativePath: 'DCIM/100MEDIA/DJI 0001.JPG', body: jpegBytes(3_000, 1) },
  { relativePath: 'DCIM/101MEDIA/DJI 0001.JPG', body: jpegBytes(3_000, 2) },
  { relativePath: 'DCIM/a+b c.jpg', body: jpegBytes(2_500, 3) },
  { relativePath: 'DCIM/100% zoom.jpg', body: jpegBytes(2_000, 4) },
  { relativePath: 'DCIM/été ü 東京.jpeg', body: jpegBytes(1_500, 5) },
];
const OTHER_FILES: DroppedFile[] = [
  { relativePath: 'empty.jpg', body: Buffer.alloc(0) },
  { relativePath: 'fake.jpg', body: TEXT_NAMED_JPG },
  { relativePath: 'notes.txt', body: 'wind 12 kt\n' },
];

const world = stepWorldPerFile(DROP_BUCKET);
let embedded: EmbeddedS3;
let s3: S3Client;
let simulator: Simulator;
let api: Pix4dInspectClient;

beforeAll(() => {
  ({ embedded, s3, simulator, api } = world());
});

interface Harness {
  readonly deps: StepDependencies;
  readonly publisher: RecordingPublisher;
  readonly workBucket: string;
}

/** Step dependencies with a new, empty work bucket. */
async function harness(): Promise<Harness> {
  const publisher = new RecordingPublisher();
  return { ...(await stepDependenciesIn(world(), 'steps', publisher)), publisher };
}

/** The embedded S3 client, except that the first PutObject of a run file named `name` is refused. */
function failingPutOf(name: string): S3Client {
  let failed = false;
  const client = embedded.client();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (!failed && context.commandName === 'PutObjectCommand' && input.Key?.endsWith(`/${name}`)) {
        failed = true;
        throw Object.assign(new Error('S3 refused the write (test)'), { name: 'InternalError' });
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

/** An object key as S3 event notifications carry it: URL-encoded, `+` for a space. */
function eventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

/** Drops the files (and the manifest, last), then takes the decision the ingest function would for its event. */
async function dropBatch(
  prefix: string,
  files: readonly DroppedFile[],
  manifest?: string | object,
): Promise<{ request: InspectionRequest; batchId: string }> {
  await dropFlight(s3, DROP_BUCKET, prefix, files, manifest ?? {});
  const key = `${prefix}manifest.json`;
  const head = await s3.send(new HeadObjectCommand({ Bucket: DROP_BUCKET, Key: key }));
  const decision = decideForEvent(
    { bucket: DROP_BUCKET, encodedKey: eventKey(key), eTag: head.ETag!, eventTime: new Date().toISOString() },
    { batchDepth: 2, quietPeriodSeconds: 600 },
  );
  if (decision.action !== 'start-inspection') throw new Error(`unexpected decision ${decision.action}`);
  return { request: decision.input, batchId: decision.executionName };
}

async function dropAwkwardBatch(prefix: string): Promise<{ request: InspectionRequest; batchId: string }> {
  return dropBatch(prefix, [...PHOTO_FILES, ...OTHER_FILES], MANIFEST);
}

async function copyAll(prepared: PreparedInspection, deps: StepDependencies): Promise<CopyChunkResult[]> {
  const results: CopyChunkResult[] = [];
  for (const chunk of prepared.chunks) {
    results.push(
      await copyChunk(
        {
          runPrefix: prepared.runPrefix,
          dropBucket: DROP_BUCKET,
          inspectionId: prepared.inspection.id,
          chunkIndex: chunk.index,
        },
        deps,
      ),
    );
  }
  return results;
}

/** Polls the status as the state machine's loop does (without its waits) until processing is over. */
async function pollUntilDone(
  inspectionId: number,
  processing: ProcessingState,
  deps: StepDependencies,
): Promise<PollState> {
  let poll = processing.poll;
  for (let round = 0; round < 300 && poll.outcome === 'in_progress'; round++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    poll = await checkProcessing({ inspectionId, deadline: processing.deadline, pollCount: poll.pollCount }, deps);
  }
  return poll;
}

/** Keys, ETags and sizes of everything in a bucket (below a prefix). */
async function snapshot(bucket: string, prefix = ''): Promise<{ key: string; etag: string; size: number }[]> {
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listing.Contents ?? []).map((object) => ({ key: object.Key!, etag: object.ETag!, size: object.Size! }));
}

async function bytesOf(bucket: string, key: string): Promise<Buffer> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

function requestsSince(mark: number, method: string, pathPattern: RegExp): { path: string; status: number }[] {
  return simulator.requests
    .slice(mark)
    .filter((request) => request.method === method && pathPattern.test(request.path));
}

function expectedKeys(prefix: string, paths: readonly string[]): string[] {
  return paths.map((path) => `${prefix}/${path}`).sort();
}

describe('prepareInspection', () => {
  it('classifies the batch, creates the asset and the inspection from the manifest, and keeps the lists', async () => {
    // Prepare
    const { deps, workBucket } = await harness();
    const prefix = 'Tower X site/Flight 1+2 %/';
    const { request, batchId } = await dropAwkwardBatch(prefix);
    const mark = simulator.requests.length;

    // Act
    const prepared = await prepareInspection(request, batchId, deps);

    // Assess
    expect(prepared).toEqual({
      batchId,
      batch: { bucket: DROP_BUCKET, prefix, assetName: 'Tower X site', flightName: 'Flight 1+2 %' },
      runPrefix: `runs/${batchId}/`,
      asset: { id: expect.any(Number), name: 'Tower X', source: 'created' },
      inspection: { id: expect.any(Number), projectId: expect.any(Number), name: 'Flight X' },
      images: { found: 8, accepted: 5, skipped: 3 },
      chunks: [{ index: 0 }, { index: 1 }, { index: 2 }],
    });
    const inspection = await api.getInspection(prepared.inspection.id);
    expect(inspection.asset).toMatchObject({ id: prepared.asset.id, name: 'Tower X' });
    expect(inspection.processing_parameters).toMatchObject({ detect_antennas: false });
    expect(requestsSince(mark, 'POST', /^\/v1\/assets\/$/)).toHaveLength(1);
    const summary = await new RunStore(s3, workBucket).read<BatchSummary>(prepared.runPrefix, RUN_FILES.summary);
    expect(summary).toEqual({
      found: 8,
      skipped: [
        { key: `${prefix}empty.jpg`, reason: 'empty file (0 bytes)' },
        { key: `${prefix}fake.jpg`, reason: expect.stringMatching(/^content is not a JPEG image \(named \.jpg/) },
        { key: `${prefix}notes.txt`, reason: 'unsupported extension (.txt)' },
      ],
      flight: {
        photos: 5,
        geotagged: 0,
        capturedFrom: null,
        capturedTo: null,
        cameras: [],
        centroid: null,
        altitude: null,
      },
      warnings: [expect.stringMatching(/^5 of 5 photos have no GPS position/)],
    });
  });

  it('returns the same inspection when prepared again with the same batch id, without creating another', async () => {
    // Prepare
    const { deps } = await harness();
    const { request, batchId } = await dropAwkwardBatch('tower-again/flight-1/');
    const first = await prepareInspection(request, batchId, deps);
    const mark = simulator.requests.length;

    // Act
    const again = await prepareInspection(request, batchId, deps);

    // Assess
    expect(again).toEqual(first);
    expect(requestsSince(mark, 'POST', /^\/v1\/(inspections|assets)\/$/)).toEqual([]);
  });

  it('keeps the one inspection when an attempt fails right after creating it', async () => {
    // Prepare: the first attempt's write of prepared.json fails, after the inspection was created and recorded
    const { deps } = await harness();
    const { request, batchId } = await dropAwkwardBatch('tower-after-create/flight-1/');
    const failingWrites: StepDependencies = { ...deps, s3: failingPutOf(RUN_FILES.prepared) };
    await expect(prepareInspection(request, batchId, failingWrites)).rejects.toThrow('S3 refused the write (test)');
    const mark = simulator.requests.length;

    // Act
    const prepared = await prepareInspection(request, batchId, deps);

    // Assess
    expect(requestsSince(mark, 'POST', /^\/v1\/(inspections|assets)\/$/)).toEqual([]);
    expect(
      simulator.holdings().inspections.filter((inspection) => inspection.id === prepared.inspection.id),
    ).toHaveLength(1);
    expect(
      simulator
        .holdings()
        .inspections.filter((inspection) => inspection.name === 'Flight X' && inspection.assetId === prepared.asset.id),
    ).toHaveLength(1);
  });

  it('finds the inspection a lost answer created when the step is retried, instead of creating another', async () => {
    // Prepare: the create takes effect but its answer is lost, and the attempt gives up before it may look (its time
    // budget is shorter than the wait before looking); the list then answers 503 twice, which the retry rides out
    const { deps } = await harness();
    const { request, batchId } = await dropAwkwardBatch('tower-lost-create/flight-1/');
    const impatient = new Pix4dInspectClient({
      account: simulator.account,
      apiUrl: simulator.apiUrl,
      authUrl: simulator.apiUrl,
      backoff: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 1_000 },
    });
    simulator.injectFault({ action: 'lose-answer', status: 504, method: 'POST', pathIncludes: '/v1/inspections/' });
    for (let i = 0; i < 2; i++)
      simulator.injectFault({ action: 'answer', status: 503, method: 'GET', pathIncludes: '/v1/inspections/' });
    await expect(prepareInspection(request, batchId, { ...deps, pix4d: async () => impatient })).rejects.toMatchObject({
      name: 'Pix4dServerError',
    });
    const mark = simulator.requests.length;

    // Act: Step Functions retries the step
    const prepared = await prepareInspection(request, batchId, deps);

    // Assess
    expect(requestsSince(mark, 'POST', /^\/v1\/inspections\/$/)).toEqual([]);
    const created = simulator.holdings().inspections.filter((inspection) => inspection.assetId === prepared.asset.id);
    expect(created.map((inspection) => inspection.id)).toEqual([prepared.inspection.id]);
  });

  it('refuses an invalid manifest with a ManifestError naming the problem, before creating anything', async () => {
    // Prepare
    const { deps } = await harness();
    const manifest = readFileSync(
      join(__dirname, '..', 'fixtures', 'manifests', 'invalid-unknown-parameter.json'),
      'utf8',
    );
    const { request, batchId } = await dropBatch('tower-bad/flight-1/', PHOTO_FILES, manifest);
    const mark = simulator.requests.length;

    // Act
    const failure = await prepareInspection(request, batchId, deps).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(ManifestError);
    expect((failure as ManifestError).message).toMatch(/detect_antenas/);
    expect(requestsSince(mark, 'POST', /^\/v1\//)).toEqual([]);
  });

  it('refuses a batch with no photo (only a .txt) with NoPhotosError, before creating anything', async () => {
    // Prepare
    const { deps } = await harness();
    const { request, batchId } = await dropBatch('tower-text/flight-1/', [
      { relativePath: 'readme.txt', body: 'no photos today' },
    ]);
    const mark = simulator.requests.length;

    // Act
    const failure = await prepareInspection(request, batchId, deps).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(NoPhotosError);
    expect((failure as Error).message).toMatch(/tower-text\/flight-1\/readme\.txt: unsupported extension \(\.txt\)/);
    expect(requestsSince(mark, 'POST', /^\/v1\//)).toEqual([]);
  });
});

describe('copyChunk and registerPhotos', () => {
  it('copies every chunk under the credentials prefix, keeping relative paths, and skips a photo replaced by text since prepare', async () => {
    // Prepare
    const { deps, workBucket } = await harness();
    const prefix = 'Tower copy/Flight été/';
    const { request, batchId } = await dropAwkwardBatch(prefix);
    const prepared = await prepareInspection(request, batchId, deps);
    const [replaced, ...kept] = PHOTO_FILES;
    await dropFlight(s3, DROP_BUCKET, prefix, [{ relativePath: replaced!.relativePath, body: TEXT_NAMED_JPG }]);

    // Act
    const results = await copyAll(prepared, deps);

    // Assess
    const keyPrefix = results[0]!.keyPrefix;
    expect(results.map((result) => result.keyPrefix)).toEqual([keyPrefix, keyPrefix, keyPrefix]);
    expect(results.reduce((sum, result) => sum + result.copied, 0)).toBe(4);
    expect(results.reduce((sum, result) => sum + result.skipped, 0)).toBe(1);
    const landed = await snapshot(simulator.bucket, `${keyPrefix}/`);
    expect(landed.map((object) => object.key).sort()).toEqual(
      expectedKeys(
        keyPrefix,
        kept.map((file) => file.relativePath),
      ),
    );
    for (const file of kept)
      expect(await bytesOf(simulator.bucket, `${keyPrefix}/${file.relativePath}`)).toEqual(file.body);
    const store = new RunStore(s3, workBucket);
    const records = await Promise.all(
      prepared.chunks.map((chunk) => store.read<ChunkRecord>(prepared.runPrefix, chunkRecordName(chunk.index))),
    );
    expect(records.flatMap((record) => record.skipped)).toEqual([
      {
        key: `${prefix}${replaced!.relativePath}`,
        reason: expect.stringMatching(/^content is not a JPEG image \(named \.JPG/),
      },
    ]);
  });

  it('registers only the copied photos, in one call', async () => {
    // Prepare
    const { deps } = await harness();
    const { request, batchId } = await dropAwkwardBatch('tower-register/flight-1/');
    const prepared = await prepareInspection(request, batchId, deps);
    const copy = await copyAll(prepared, deps);
    const mark = simulator.requests.length;

    // Act
    const registration = await registerPhotos(
      { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id, copy },
      deps,
    );

    // Assess
    expect(registration).toEqual({ copied: 5, registered: 5, calls: 1 });
    expect(requestsSince(mark, 'POST', /\/register_images\/$/)).toEqual([expect.objectContaining({ status: 200 })]);
    const inspection = await api.getInspection(prepared.inspection.id);
    expect(inspection.status).toMatchObject({ id: 2 });
  });

  it('registers nothing when the copies do not account for every photo', async () => {
    // Prepare
    const { deps } = await harness();
    const { request, batchId } = await dropAwkwardBatch('tower-incomplete/flight-1/');
    const prepared = await prepareInspection(request, batchId, deps);
    const copy = await copyAll(prepared, deps);
    const mark = simulator.requests.length;

    // Act
    const outcome = registerPhotos(
      { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id, copy: copy.slice(0, 2) },
      deps,
    );

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(CopyIncompleteError);
    expect(requestsSince(mark, 'POST', /\/register_images\/$/)).toEqual([]);
  });
});

describe('the whole run, step by step', () => {
  it('starts processing once, polls until completed, and publishes one message with the skipped files and no secret', async () => {
    // Prepare
    const { deps, publisher } = await harness();
    const prefix = 'Tower X run/Flight 1+2/';
    const dropBefore = await snapshot(DROP_BUCKET);
    const { request, batchId } = await dropAwkwardBatch(prefix);
    const dropWithBatch = await snapshot(DROP_BUCKET);
    const prepared = await prepareInspection(request, batchId, deps);
    const copy = await copyAll(prepared, deps);
    const registration = await registerPhotos(
      { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id, copy },
      deps,
    );
    const mark = simulator.requests.length;

    // Act
    const processing = await startProcessing(
      { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id },
      deps,
    );
    const restarted = await startProcessing(
      { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id },
      deps,
    );
    const poll = await pollUntilDone(prepared.inspection.id, processing, deps);
    const outcome = await notifyOutcome(
      {
        batchId,
        type: 'inspection.completed',
        state: { ...request, prepared, copy, registration, processing: { ...processing, poll } },
      },
      deps,
    );

    // Assess
    expect(requestsSince(mark, 'POST', /\/process\/$/)).toEqual([expect.objectContaining({ status: 202 })]);
    expect(restarted.startedAt).toBe(processing.startedAt);
    expect(restarted.deadline).toBe(processing.deadline);
    expect(poll).toMatchObject({ outcome: 'completed', status: { id: 7, name: 'Processing completed' } });
    expect(publisher.published).toHaveLength(1);
    const [published] = publisher.published;
    expect(outcome).toEqual({ type: 'inspection.completed', subject: published!.subject });
    expect(published!.message).toMatchObject({
      version: 1,
      type: 'inspection.completed',
      batch: { bucket: DROP_BUCKET, prefix, id: batchId },
      asset: { id: prepared.asset.id, name: 'Tower X' },
      inspection: {
        id: prepared.inspection.id,
        projectId: prepared.inspection.projectId,
        name: 'Flight X',
        status: { id: 7, name: 'Processing completed' },
        url: `https://inspect.pix4d.com/project/${prepared.inspection.projectId}/`,
      },
      images: { found: 8, copied: 5, registered: 5, skippedTotal: 3 },
    });
    expect(published!.message.images.skipped).toEqual(
      expect.arrayContaining([
        { key: `${prefix}empty.jpg`, reason: 'empty file (0 bytes)' },
        { key: `${prefix}notes.txt`, reason: 'unsupported extension (.txt)' },
        { key: `${prefix}fake.jpg`, reason: expect.stringMatching(/^content is not a JPEG image/) },
      ]),
    );
    expect(published!.messageAttributes).toEqual({
      type: { DataType: 'String', StringValue: 'inspection.completed' },
      asset: { DataType: 'String', StringValue: 'Tower X' },
    });
    const sns = JSON.parse(published!.snsMessage) as { default: string; email: string };
    expect(JSON.parse(sns.default)).toEqual(published!.message);
    expect(sns.email).toContain('Flight X');
    for (const secret of [simulator.account.password, simulator.account.apiKey])
      expect(published!.snsMessage).not.toContain(secret);
    expect(await snapshot(DROP_BUCKET)).toEqual(dropWithBatch);
    expect(dropWithBatch.length - dropBefore.length).toBe(9);
  });
});

describe('Check processing status, when the status cannot be read', () => {
  it('fails the step before the deadline, so the workflow retries and keeps polling', async () => {
    // Prepare: an inspection the service does not know
    const { deps } = await harness();
    const metrics = new RecordedMetrics();

    // Act
    const checking = checkProcessing(
      { inspectionId: 987_654, deadline: new Date(Date.now() + 3_600_000).toISOString(), pollCount: 4 },
      {
        ...deps,
        metrics,
      },
    );

    // Assess
    await expect(checking).rejects.toThrow(/987654/);
    expect(metrics.names).toEqual(['StatusChecksFailed']);
  });

  it('ends the run timed out past the deadline instead of polling on', async () => {
    // Prepare
    const { deps } = await harness();

    // Act
    const poll = await checkProcessing(
      { inspectionId: 987_654, deadline: new Date(Date.now() - 1_000).toISOString(), pollCount: 4 },
      deps,
    );

    // Assess
    expect(poll).toEqual({ outcome: 'timed_out', waitSeconds: 0, pollCount: 5, status: null });
  });
});

describe('Check processing status, of a run that started before the schedule had its inputs', () => {
  it('takes the run as started its deadline hours before the deadline, and waits a tenth of the time since', async () => {
    // Prepare: a check input without startedAt, expectedSeconds or pollBudget, 10 hours into a 48-hour deadline
    const { deps } = await harness();
    const api = await deps.pix4d();
    const asset = await api.createAsset({ name: 'tower-legacy', type: 1 });
    const inspection = await api.createInspection({
      asset: asset.id,
      processing_parameters: deps.config.defaultProcessingParameters,
    });
    const deadline = new Date(Date.now() + (deps.config.deadlineHours - 10) * 3_600_000);

    // Act
    const poll = await checkProcessing(
      { inspectionId: inspection.id, deadline: deadline.toISOString(), pollCount: 12 },
      deps,
    );

    // Assess: 10 % of 10 hours, at most the longest wait
    expect(poll.outcome).toBe('in_progress');
    expect(poll.waitSeconds).toBe(deps.config.pollSchedule.maxWaitSeconds);
  });
});

describe('Notify, retried', () => {
  it('publishes once: a batch record it cannot write is logged and counted, and a retried step writes it', async () => {
    // Prepare: the batch record cannot be written once, after the outcome is published
    const { deps, publisher, workBucket } = await harness();
    const { request, batchId } = await dropAwkwardBatch('tower-notify/flight-1/');
    const prepared = await prepareInspection(request, batchId, deps);
    const input = {
      batchId,
      type: 'inspection.failed' as const,
      state: { ...request, prepared, error: { Error: 'PhotoCopyError', Cause: 'test' }, failure: { stage: 'copy' } },
    };
    const warnings: unknown[] = [];
    const metrics = new RecordedMetrics();
    const recording = {
      ...deps,
      logger: {
        ...deps.logger,
        warn: (message: string, attributes?: Record<string, unknown>) => warnings.push({ message, ...attributes }),
      },
      metrics,
    };

    // Act: the first attempt succeeds without the record; Step Functions loses its answer and runs it again
    const first = await notifyOutcome(input, { ...recording, s3: failingPutOf(`${batchId}.json`) });
    const missing = await s3.send(new GetObjectCommand({ Bucket: workBucket, Key: `batches/${batchId}.json` })).then(
      (answer) => answer.Body!.transformToString(),
      (error: Error) => error.name,
    );
    const again = await notifyOutcome(input, deps);

    // Assess
    expect(publisher.published).toHaveLength(1);
    expect(first).toEqual({ type: 'inspection.failed', subject: publisher.published[0]!.subject, cause: 'system' });
    expect(again).toEqual(first);
    expect(warnings).toEqual([
      expect.objectContaining({
        record: 'batch state failed',
        error: { name: 'InternalError', message: 'S3 refused the write (test)' },
      }),
    ]);
    expect(metrics.points.filter((point) => point.name !== 'TimeToNotification')).toEqual([
      { name: 'InspectionsFailed', value: 1, dimensions: { cause: 'system' } },
      { name: 'FailuresByStage', value: 1, dimensions: { stage: 'copy' } },
      { name: 'RecordsNotWritten', value: 1, dimensions: {} },
    ]);
    expect(JSON.parse(missing)).toMatchObject({ state: 'copying' });
    const record = await s3.send(new GetObjectCommand({ Bucket: workBucket, Key: `batches/${batchId}.json` }));
    expect(JSON.parse(await record.Body!.transformToString())).toMatchObject({ state: 'failed' });
  });
});

describe('SnsNotificationPublisher', () => {
  const sns = mockClient(SNSClient);

  beforeEach(() => {
    sns.reset();
  });

  afterAll(() => {
    sns.restore();
  });

  it('publishes the built notification to the topic as MessageStructure json, with subject and attributes', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'message-1' });
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:inspection-outcomes';
    const built = buildNotification({
      type: 'inspection.completed',
      batch: { bucket: DROP_BUCKET, prefix: 'tower-123/flight-1/', id: 'm-tower-123-flight-1-abc' },
      asset: { id: 915, name: 'tower-123' },
      inspection: { id: 1417, projectId: 745411, name: 'flight-1', status: { id: 7, name: 'Processing completed' } },
      images: { found: 2, copied: 2, registered: 2, skipped: [] },
      timings: {
        closedAt: '2026-11-28T10:00:00Z',
        processingStartedAt: '2026-11-28T10:05:00Z',
        finishedAt: '2026-11-28T10:30:00Z',
      },
    });
    const publisher = new SnsNotificationPublisher(new SNSClient({ region: 'eu-west-1' }), topicArn);

    // Act
    await publisher.publish(built);

    // Assess
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      TopicArn: topicArn,
      Subject: built.subject,
      MessageStructure: 'json',
      Message: built.snsMessage,
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'inspection.completed' },
        asset: { DataType: 'String', StringValue: 'tower-123' },
      },
    });
    expect(built.subject).toMatch(/^Inspection completed: /);
  });

  it('lets a failed publish through', async () => {
    // Prepare
    const refused = new Error('AuthorizationError: not allowed to publish');
    sns.on(PublishCommand).rejects(refused);
    const built = buildNotification({
      type: 'inspection.failed',
      batch: { bucket: DROP_BUCKET, prefix: 'tower-1/flight-1/', id: 'm-x' },
      asset: { id: null, name: 'tower-1' },
      inspection: null,
      images: { found: 0, copied: 0, registered: 0, skipped: [] },
      error: { stage: 'manifest', message: 'manifest.json is empty' },
      timings: { closedAt: '2026-11-28T10:00:00Z', processingStartedAt: null, finishedAt: '2026-11-28T10:00:05Z' },
    });
    const publisher = new SnsNotificationPublisher(
      new SNSClient({ region: 'eu-west-1' }),
      'arn:aws:sns:eu-west-1:123456789012:t',
    );

    // Act
    const outcome = publisher.publish(built);

    // Assess
    await expect(outcome).rejects.toBe(refused);
  });
});
