import { afterEach, describe, expect, it } from 'vitest';
import { runLocalFlights } from '../../local/local-run';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline/local-pipeline';
import type { NotificationV1 } from '../../src/notify/notification';
import { listBucket, readObject, sha256 } from '../helpers/bucket-contents';
import { type DroppedFile, dropFlight, jpegBytes, photos } from '../helpers/flights';
import { jsonLines, killStartedClis, notificationsOf, runCli } from '../helpers/local-cli-process';
import { SMALL_FLIGHT_PREFLIGHT } from '../helpers/small-flights';

/**
 * The local pipeline under the conditions a real deployment meets: a flaky, throttling Pix4Dinspect with short-lived
 * tokens and S3 credentials, processing that fails or never ends, many flights at once with every S3 event
 * delivered three times, bad input, and secrets that must not leave the process.
 */

let pipeline: LocalPipeline | undefined;

afterEach(async () => {
  // Every call each function and state machine made was allowed by its role in the synthesized template.
  const refused = pipeline?.iam?.refused() ?? [];
  await pipeline?.close();
  pipeline = undefined;
  expect(refused, 'AWS calls IAM refused').toEqual([]);
  killStartedClis();
});

async function start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  pipeline = await startLocalPipeline({
    quietPeriodSeconds: 0,
    ...options,
    config: { preflight: SMALL_FLIGHT_PREFLIGHT, ...options.config },
    simulatorSettings: { processingSeconds: 0.5, ...options.simulatorSettings },
  });
  return pipeline;
}

function inspectionExecutions(local: LocalPipeline) {
  return local.executions.filter((execution) => execution.machine === 'inspection');
}

/** The objects of the simulator's bucket below one inspection's prefix (`user-<uuid>/project-<id>/`), by relative path. */
async function copiedObjects(local: LocalPipeline, projectId: number): Promise<Map<string, Buffer>> {
  const client = local.embeddedS3.client();
  const bucket = local.simulator!.bucket;
  const listed = await listBucket(client, bucket);
  const prefix = new RegExp(`^user-[^/]+/project-${projectId}/`);
  const outside = listed.filter((object) => !prefix.test(object.key)).map((object) => object.key);
  expect(outside, 'objects outside the inspection prefix').toEqual([]);
  const objects = new Map<string, Buffer>();
  for (const object of listed)
    objects.set(object.key.replace(prefix, ''), await readObject(client, bucket, object.key));
  return objects;
}

function hashes(files: ReadonlyMap<string, Buffer> | readonly DroppedFile[]): Record<string, string> {
  const entries = Array.isArray(files)
    ? (files as readonly DroppedFile[]).map((file) => [file.relativePath, sha256(file.body)] as const)
    : [...(files as ReadonlyMap<string, Buffer>)].map(([path, body]) => [path, sha256(body)] as const);
  return Object.fromEntries(entries);
}

describe('reliability of the local pipeline', () => {
  it('completes a 40-photo flight byte for byte through 5xx, 429, expiring tokens and expiring S3 credentials', async () => {
    // Prepare: a fifth of the API requests fail with 502/503/504 and a tenth are throttled; tokens live 3 s and
    // S3 credentials 5 s, processing takes 6 s. Ten photos per copy invocation, so that the four copy chunks each
    // fetch credentials (one chunk of 40 small photos copies well within a credentials lifetime).
    const local = await start({
      simulatorSettings: {
        errorRate: 0.2,
        rateLimitRate: 0.1,
        retryAfterSeconds: 0,
        tokenTtlSeconds: 3,
        credentialsTtlSeconds: 5,
        processingSeconds: 6,
      },
      config: { photosPerChunk: 10 },
    });
    const flight = photos(40, 64 * 1024);

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-20/flight-faults/', flight, {
      inspection: { name: 'Faulty day' },
    });
    await local.settle();

    // Assess: one completed inspection with every photo
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.completed',
        batch: expect.objectContaining({ prefix: 'tower-20/flight-faults/' }),
        images: expect.objectContaining({ found: 40, copied: 40, registered: 40, skippedTotal: 0 }),
      }),
    ]);
    expect(inspectionExecutions(local).map((execution) => execution.status)).toEqual(['succeeded']);
    // Assess: every copy is byte-identical to its source, under the inspection's prefix, nothing else
    const copied = await copiedObjects(local, local.notifications[0]!.inspection!.projectId!);
    expect(hashes(copied)).toEqual(hashes(flight));
    // Assess: the faults and the renewals did happen
    const requests = local.simulator!.requests;
    expect(requests.filter((request) => request.fault === 'injected').length).toBeGreaterThan(0);
    const tokensIssued = requests.filter((request) => request.path === '/v1/auth/token/' && request.status === 200);
    expect(tokensIssued.length).toBeGreaterThan(1);
    const credentialsIssued = requests.filter(
      (request) => request.path.endsWith('/s3_credentials/') && request.status === 200,
    );
    expect(credentialsIssued.length).toBeGreaterThan(1);
    expect(requests.filter((request) => request.path.endsWith('/process/') && request.status === 202)).toHaveLength(1);
  }, 120_000);

  it('asks again for S3 credentials that arrive already expired, copies with the new ones, and counts the refresh', async () => {
    // Prepare: the copy's first credentials answer is stale (expired a minute before the service's own clock)
    const stale = () => ({
      access_key: 'ASIASTALE0000000000',
      secret_key: 'stale-secret-never-valid',
      session_token: 'stale-session-token',
      expiration: new Date(Date.now() - 60_000).toISOString(),
      bucket: pipeline!.simulator!.bucket,
      key: 'user-stale/project-0',
      server_time: new Date().toISOString(),
      region: 'us-east-1',
    });
    const local = await start({
      onEvent: (event) => {
        if (event.event === 'state' && event.state === 'Copy photos') {
          pipeline!.simulator!.injectFault({
            action: 'answer',
            status: 200,
            body: stale(),
            method: 'GET',
            pathIncludes: '/s3_credentials/',
          });
        }
      },
    });
    const flight = photos(4);

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-22/flight-stale-credentials/', flight, {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.completed',
        images: expect.objectContaining({ copied: 4, registered: 4 }),
      }),
    ]);
    expect(hashes(await copiedObjects(local, local.notifications[0]!.inspection!.projectId!))).toEqual(hashes(flight));
    const refreshes = local.metrics.records.filter((record) => record.name === 'S3CredentialRefreshes');
    expect(refreshes.map((record) => [record.values, record.batchId])).toEqual([
      [[1], local.notifications[0]!.batch.id],
    ]);
  }, 60_000);

  it('reports a failed processing as exactly one inspection.failed', async () => {
    // Prepare
    let started: LocalPipeline | undefined;

    // Act
    const result = await runLocalFlights(
      {
        source: { generate: 2 },
        asset: 'tower-21',
        flight: 'flight-failed',
        flights: 1,
        manifest: JSON.stringify({}),
        pipeline: {
          quietPeriodSeconds: 0,
          config: { preflight: SMALL_FLIGHT_PREFLIGHT },
          simulatorSettings: { processingSeconds: 0.5, processingOutcome: 'failed' },
        },
      },
      (event) => {
        if (event.event === 'ready') started = event.pipeline;
      },
    );

    // Assess
    expect(result.succeeded).toBe(false);
    expect(result.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        batch: expect.objectContaining({ prefix: 'tower-21/flight-failed/' }),
      }),
    ]);
    expect(started!.simulator!.requests.filter((request) => request.path.endsWith('/process/'))).toHaveLength(1);
  }, 60_000);

  it('reports processing that never ends as exactly one inspection.timed_out at the deadline', async () => {
    // Prepare
    const options = {
      source: { generate: 2 },
      asset: 'tower-22',
      flight: 'flight-never',
      flights: 1,
      manifest: JSON.stringify({}),
      pipeline: {
        quietPeriodSeconds: 0,
        config: { preflight: SMALL_FLIGHT_PREFLIGHT },
        deadlineSeconds: 2,
        simulatorSettings: { processingSeconds: 0.5, processingOutcome: 'never' as const },
      },
    };

    // Act
    const result = await runLocalFlights(options, () => undefined);

    // Assess
    expect(result.succeeded).toBe(false);
    expect(result.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.timed_out',
        batch: expect.objectContaining({ prefix: 'tower-22/flight-never/' }),
        error: expect.objectContaining({ stage: 'processing' }),
      }),
    ]);
  }, 60_000);

  it('turns 10 flights dropped at once, every S3 event delivered 3 times, into exactly 10 inspections', async () => {
    // Prepare
    let started: LocalPipeline | undefined;
    const prefixes = Array.from({ length: 10 }, (_, i) => `tower-1/flight-${String(i + 1).padStart(2, '0')}/`);

    // Act
    const result = await runLocalFlights(
      {
        source: { generate: 3 },
        asset: 'tower-1',
        flight: 'flight',
        flights: 10,
        manifest: JSON.stringify({}),
        pipeline: {
          quietPeriodSeconds: 0,
          config: { preflight: SMALL_FLIGHT_PREFLIGHT },
          duplicateEvents: 3,
          simulatorSettings: { processingSeconds: 0.5 },
        },
      },
      (event) => {
        if (event.event === 'ready') started = event.pipeline;
      },
    );

    // Assess: one of everything per flight, none lost
    const local = started!;
    expect(result.flights.map((flight) => flight.prefix).sort()).toEqual(prefixes);
    expect(inspectionExecutions(local)).toHaveLength(10);
    const inspectionsCreated = local.simulator!.requests.filter(
      (request) => request.method === 'POST' && request.path === '/v1/inspections/',
    );
    expect(inspectionsCreated).toHaveLength(10);
    expect(result.notifications).toHaveLength(10);
    expect(result.notifications.map((message) => message.batch.prefix).sort()).toEqual(prefixes);
    for (const message of result.notifications) {
      expect(message).toMatchObject({ type: 'inspection.completed', images: { found: 3, copied: 3, registered: 3 } });
    }
    expect(result.succeeded).toBe(true);
    expect(local.deadLetters).toEqual([]);
    // All ten flights are of one new asset: it is created once.
    expect(
      local.simulator!.requests.filter((request) => request.method === 'POST' && request.path === '/v1/assets/'),
    ).toHaveLength(1);
  }, 120_000);

  it('makes exactly 20 inspections of 20 flights when a fifth of the API answers are lost after the request took effect', async () => {
    // Prepare
    let started: LocalPipeline | undefined;

    // Act
    const result = await runLocalFlights(
      {
        source: { generate: 3 },
        asset: 'tower-lost',
        flight: 'flight',
        flights: 20,
        manifest: JSON.stringify({}),
        pipeline: {
          quietPeriodSeconds: 0,
          config: { preflight: SMALL_FLIGHT_PREFLIGHT },
          simulatorSettings: { processingSeconds: 0.5, lostAnswerRate: 0.2 },
        },
      },
      (event) => {
        if (event.event === 'ready') started = event.pipeline;
      },
    );

    // Assess: one inspection per flight, every one completed, one asset for the tower
    const local = started!;
    expect(result.refused, 'AWS calls IAM refused').toEqual([]);
    const held = local.simulator!.holdings();
    const lost = local.simulator!.requests.filter((request) => request.fault === 'lost answer');
    expect(lost.filter((request) => request.method === 'POST').length, 'lost answers of POSTs').toBeGreaterThan(0);
    expect(held.inspections).toHaveLength(20);
    expect(new Set(held.inspections.map((inspection) => inspection.name)).size).toBe(20);
    expect(held.assets.filter((asset) => asset.name === 'tower-lost')).toHaveLength(1);
    for (const inspection of held.inspections) expect(inspection).toMatchObject({ images: 3, processingStarted: true });
    expect(result.notifications).toHaveLength(20);
    expect(result.notifications.every((message) => message.type === 'inspection.completed')).toBe(true);
    expect(result.succeeded).toBe(true);
  }, 180_000);

  it('makes one of everything when Step Functions retries every step after the step took effect', async () => {
    // Prepare: the first answer of every task of every execution is lost after its function ran to the end
    const lostOnce = new Set<string>();
    const local = await start({
      loseTaskResult: (execution, state) => {
        const key = `${execution.name}/${state}`;
        if (lostOnce.has(key)) return false;
        lostOnce.add(key);
        return true;
      },
    });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-retried/flight-a/', photos(4), {
      inspection: { name: 'Retried A' },
    });
    await dropFlight(local.s3, local.dropBucket, 'tower-retried/flight-b/', photos(4), {
      inspection: { name: 'Retried B' },
    });
    await local.settle();

    // Assess
    const retried = [...lostOnce].map((key) => key.split('/').slice(1).join('/'));
    for (const state of [
      'Prepare inspection',
      'Copy chunk',
      'Register photos',
      'Start processing',
      'Check processing status',
      'Notify completed',
    ]) {
      expect(retried, `a retry of "${state}"`).toContain(state);
    }
    const held = local.simulator!.holdings();
    expect(held.assets.filter((asset) => asset.name === 'tower-retried')).toHaveLength(1);
    expect(held.inspections.map((inspection) => inspection.name).sort()).toEqual(['Retried A', 'Retried B']);
    for (const inspection of held.inspections) expect(inspection).toMatchObject({ images: 4, processingStarted: true });
    expect(local.notifications.map((message) => `${message.type} ${message.inspection?.name}`).sort()).toEqual([
      'inspection.completed Retried A',
      'inspection.completed Retried B',
    ]);
  }, 120_000);

  it('skips bad files with reasons, keeps odd keys and same-named files apart, and never touches the drop bucket', async () => {
    // Prepare
    const local = await start();
    const prefix = 'tower-23/flight-bad-files/';
    const oddName = 'DCIM/my photo+1 100% été 写真.jpg';
    const good: DroppedFile[] = [
      { relativePath: 'DCIM/100MEDIA/DJI_0001.JPG', body: jpegBytes(4_096, 1) },
      { relativePath: 'DCIM/101MEDIA/DJI_0001.JPG', body: jpegBytes(4_096, 2) },
      { relativePath: oddName, body: jpegBytes(4_096, 3) },
    ];
    const bad: DroppedFile[] = [
      { relativePath: 'notes.txt', body: 'wind 12 kn, battery swapped at 14:02' },
      { relativePath: 'DCIM/empty.jpg', body: Buffer.alloc(0) },
      { relativePath: 'DCIM/not-a-photo.jpg', body: 'this is a text file, not a JPEG' },
    ];

    // Act
    await dropFlight(local.s3, local.dropBucket, prefix, [...good, ...bad], { inspection: { name: 'Bad input' } });
    const before = await listBucket(local.s3, local.dropBucket);
    await local.settle();
    const after = await listBucket(local.s3, local.dropBucket);

    // Assess: the notification names each skipped file with its reason
    expect(local.notifications).toHaveLength(1);
    const message = local.notifications[0]!;
    expect(message).toMatchObject({
      type: 'inspection.completed',
      images: { found: 6, copied: 3, registered: 3, skippedTotal: 3 },
    });
    expect([...message.images.skipped].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual([
      { key: `${prefix}DCIM/empty.jpg`, reason: expect.stringMatching(/empty|0 bytes/i) },
      { key: `${prefix}DCIM/not-a-photo.jpg`, reason: expect.stringMatching(/not a JPEG/i) },
      { key: `${prefix}notes.txt`, reason: expect.stringMatching(/unsupported extension.*\.txt/i) },
    ]);
    // Assess: the good photos landed under their exact relative paths, byte for byte
    expect(hashes(await copiedObjects(local, message.inspection!.projectId!))).toEqual(hashes(good));
    // Assess: the drop bucket is exactly as uploaded
    expect(before.map((object) => object.key)).toContain(`${prefix}${oddName}`);
    expect(before).toHaveLength(7);
    expect(after).toEqual(before);
  }, 60_000);

  it('reports an invalid manifest, an unknown field and a missing image clearly, and never touches the drop bucket', async () => {
    // Prepare
    const local = await start();
    const invalidJson = 'tower-24/flight-invalid-json/';
    const unknownField = 'tower-24/flight-unknown-field/';
    const missingImage = 'tower-24/flight-missing-image/';

    // Act
    await Promise.all([
      dropFlight(local.s3, local.dropBucket, invalidJson, photos(2), '{ "inspection": { "name": "Flight 1", } '),
      dropFlight(local.s3, local.dropBucket, unknownField, photos(2), {
        inspection: { name: 'Flight 2' },
        colour: 'red',
      }),
      dropFlight(local.s3, local.dropBucket, missingImage, photos(2), {
        images: ['DCIM/IMG_0000.JPG', 'DCIM/IMG_0099.JPG'],
      }),
    ]);
    const before = await listBucket(local.s3, local.dropBucket);
    await local.settle();
    const after = await listBucket(local.s3, local.dropBucket);

    // Assess
    const byPrefix = new Map<string, NotificationV1>(
      local.notifications.map((message) => [message.batch.prefix, message]),
    );
    expect(local.notifications).toHaveLength(3);
    expect(byPrefix.get(invalidJson)).toMatchObject({
      type: 'inspection.failed',
      error: { stage: 'manifest', message: expect.stringMatching(/not valid JSON/) },
    });
    expect(byPrefix.get(unknownField)).toMatchObject({
      type: 'inspection.failed',
      error: { stage: 'manifest', message: expect.stringContaining('unknown field "colour"') },
    });
    const missing = byPrefix.get(missingImage);
    expect(missing).toMatchObject({ type: 'inspection.completed', images: { found: 2, copied: 1, registered: 1 } });
    expect(missing!.images.skipped).toEqual(
      expect.arrayContaining([
        {
          key: `${missingImage}DCIM/IMG_0099.JPG`,
          reason: expect.stringMatching(/listed in manifest\.json images but not found/),
        },
      ]),
    );
    expect(before).toHaveLength(9);
    expect(after).toEqual(before);
  }, 60_000);

  it('lets no password, API key, username, JWT or S3 secret reach stdout, stderr or a notification', async () => {
    // Prepare: distinctive account values; faults and a short token lifetime add retry logs and re-authentication.
    const username = 'pilot-Wombat7Qx@example.com';
    const password = 'Pw-Kestrel-93f1xZ';
    const apiKey = 'ak-Lemur-5d2e9c71b4';
    const args = [
      '--generate',
      '6',
      '--json',
      '--log-level',
      'debug',
      '--username',
      username,
      '--password',
      password,
      '--api-key',
      apiKey,
    ];
    const stress = ['--fault-rate', '0.2', '--token-ttl', '2', '--processing-seconds', '3'];

    // Act
    const run = await runCli([...args, ...stress]);

    // Assess: the run worked and logged (so the checks below look at something)
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    const notifications = notificationsOf(jsonLines(run.stdout));
    expect(notifications.map((message) => message.type)).toEqual(['inspection.completed']);
    expect(run.stderr).toContain('"level":"INFO"');
    // Assess: no secret anywhere
    const texts = { stdout: run.stdout, stderr: run.stderr, notifications: JSON.stringify(notifications) };
    for (const [where, text] of Object.entries(texts)) {
      for (const secret of [username, password, apiKey])
        expect(text.includes(secret), `${where} contains ${secret}`).toBe(false);
      expect(text, `a JWT in ${where}`).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      expect(text, `an S3 session token in ${where}`).not.toContain('FwoGZXIvYXdzE');
      const secretFields = [
        ...text.matchAll(/"?(secret_key|secretAccessKey|session_token|sessionToken)"?\s*[:=]\s*"?([^",}\s]*)/g),
      ];
      expect(
        secretFields.filter((match) => match[2] !== '[redacted]').map((match) => match[0]),
        `secret fields in ${where}`,
      ).toEqual([]);
    }
  }, 90_000);
});
