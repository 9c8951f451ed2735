import { ExecutionAlreadyExists, InvalidExecutionInput, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/ingest/handler';
import {
  decideForEvent,
  type IngestDecision,
  type IngestRules,
  type ObjectCreated,
} from '../../src/ingest/batch-events';
import { executionName } from '../../src/ingest/execution-names';
import {
  InvalidS3NotificationError,
  ingestNotification,
  objectCreatedEvents,
  type S3NotificationBody,
} from '../../src/ingest/ingest';
import { SfnWorkflowStarter } from '../../src/ingest/sfn-workflow-starter';
import { RecordedMetrics } from '../helpers/recorded-metrics';
import { RecordingStarter } from '../helpers/recording-starter';

/**
 * From an S3 notification to the execution it asks for: deterministic execution names, the decision for one event,
 * the events of a notification body, the SQS handler with partial batch failures, and the Step Functions starter.
 */

const VALID_NAME = /^[A-Za-z0-9_-]+$/;
const DROP_BUCKET = 'drop-bucket-1';
const RULES: IngestRules = { batchDepth: 2, quietPeriodSeconds: 600 };
const INSPECTION_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Inspection';
const WAITER_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:BatchWaiter';

function objectCreated(encodedKey: string, overrides: Partial<ObjectCreated> = {}): ObjectCreated {
  return {
    bucket: DROP_BUCKET,
    encodedKey,
    eTag: 'd41d8cd98f00b204e9800998ecf8427e',
    eventTime: '2026-11-28T10:00:01.000Z',
    ...overrides,
  };
}

/** An S3 notification body as S3 puts it on the queue, every field of an S3 event record. */
function s3Body(
  ...records: { key: string; eTag?: string; eventName?: string; eventTime?: string; bucket?: string }[]
): S3NotificationBody {
  return {
    Records: records.map((record) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-1',
      eventName: record.eventName ?? 'ObjectCreated:Put',
      eventTime: record.eventTime ?? '2026-11-28T10:00:01.000Z',
      userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
      requestParameters: { sourceIPAddress: '203.0.113.7' },
      responseElements: {
        'x-amz-request-id': 'C3D13FE58DE4C810',
        'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'drop-bucket-events',
        bucket: {
          name: record.bucket ?? DROP_BUCKET,
          ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
          arn: `arn:aws:s3:::${record.bucket ?? DROP_BUCKET}`,
        },
        object: {
          key: record.key,
          size: 2_048,
          eTag: record.eTag ?? '0123456789abcdef0123456789abcdef',
          sequencer: '0055AED6DCD90281E5',
        },
      },
    })),
  };
}

function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1764324001000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1764324001000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:drop-events',
    awsRegion: 'eu-west-1',
  };
}

const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:ingest',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/ingest',
  logStreamName: '2026/11/28/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

function expectAction<A extends IngestDecision['action']>(
  decision: IngestDecision,
  action: A,
): Extract<IngestDecision, { action: A }> {
  expect(decision.action).toBe(action);
  return decision as Extract<IngestDecision, { action: A }>;
}

describe('executionName', () => {
  it('gives at most 80 characters of [A-Za-z0-9_-]', () => {
    // Prepare
    const prefixes = ['tower-123/flight-1/', `${'a'.repeat(300)}/b/`, 'Tower 12 (north)/Flight #3 + extra/', '/', ''];

    // Act
    const names = prefixes.map((prefix) => executionName('m', prefix, DROP_BUCKET, '"etag"'));

    // Assess
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toMatch(VALID_NAME);
    }
  });

  it('is deterministic: the same inputs give the same name', () => {
    // Prepare
    const args = ['tower-123/flight-1/', DROP_BUCKET, 'abc123'] as const;

    // Act
    const first = executionName('q', ...args);
    const second = executionName('q', ...args);

    // Assess
    expect(second).toBe(first);
  });

  it('differs for different ETags, windows, buckets, kinds and prefixes', () => {
    // Prepare
    const prefix = 'tower-123/flight-1/';

    // Act
    const names = [
      executionName('m', prefix, DROP_BUCKET, 'etag-1'),
      executionName('m', prefix, DROP_BUCKET, 'etag-2'),
      executionName('w', prefix, DROP_BUCKET, '2941520'),
      executionName('w', prefix, DROP_BUCKET, '2941521'),
      executionName('m', prefix, 'other-bucket', 'etag-1'),
      executionName('m', 'tower-123/flight-2/', DROP_BUCKET, 'etag-1'),
      executionName('q', prefix, DROP_BUCKET, 'etag-1'),
    ];

    // Assess
    expect(new Set(names).size).toBe(names.length);
  });

  it('starts with the kind and a readable slug of the batch folder', () => {
    // Prepare
    const prefix = 'tower-123/flight 1/';

    // Act
    const name = executionName('m', prefix, DROP_BUCKET, 'etag');

    // Assess
    expect(name).toMatch(/^m-tower-123-flight-1-[0-9a-f]{24}$/);
  });

  it('keeps accented letters readable in the slug (été -> ete)', () => {
    // Prepare
    const prefix = 'Café Tower/Vol été/';

    // Act
    const name = executionName('m', prefix, DROP_BUCKET, 'etag');

    // Assess
    expect(name).toMatch(/^m-Cafe-Tower-Vol-ete-[0-9a-f]{24}$/);
  });

  it('keeps long unicode prefixes within the limit and still tells them apart', () => {
    // Prepare
    const common = 'Ωμέγα πύργος 東京タワー '.repeat(12);
    const first = `${common}A/フライト 1/`;
    const second = `${common}B/フライト 1/`;
    const emoji = `${'🛰️'.repeat(40)}/${'📷'.repeat(40)}/`;

    // Act
    const names = [
      executionName('m', first, DROP_BUCKET, 'e'),
      executionName('m', second, DROP_BUCKET, 'e'),
      executionName('w', emoji, DROP_BUCKET, '1'),
    ];

    // Assess
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toMatch(VALID_NAME);
      expect(name).not.toMatch(/--|-$/);
    }
    expect(names[0]).not.toBe(names[1]);
    expect(names[2]).toMatch(/^w-[0-9a-f]{24}$/);
  });

  it('cuts a long slug without leaving a dash before the hash', () => {
    // Prepare
    const prefix = `${'ab-'.repeat(40)}/flight/`;

    // Act
    const name = executionName('q', prefix, DROP_BUCKET, 'x');

    // Assess
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).not.toContain('--');
    expect(name).toMatch(/^q-ab-ab-.*[a-z]-[0-9a-f]{24}$/);
  });
});

describe('decideForEvent', () => {
  it('starts the inspection for a manifest, named after its ETag', () => {
    // Prepare
    const event = objectCreated('tower-123/flight-1/manifest.json', { eTag: 'aaaa1111' });

    // Act
    const decision = expectAction(decideForEvent(event, RULES), 'start-inspection');

    // Assess
    expect(decision.executionName).toBe(executionName('m', 'tower-123/flight-1/', DROP_BUCKET, 'aaaa1111'));
    expect(decision.executionName.length).toBeLessThanOrEqual(80);
    expect(decision.input).toEqual({
      batch: { bucket: DROP_BUCKET, prefix: 'tower-123/flight-1/', assetName: 'tower-123', flightName: 'flight-1' },
      closedBy: 'manifest',
      closedAt: '2026-11-28T10:00:01.000Z',
      manifest: { key: 'tower-123/flight-1/manifest.json', eTag: 'aaaa1111' },
    });
  });

  it('gives the same name when the same manifest event comes twice, and another for a new manifest version', () => {
    // Prepare
    const event = objectCreated('tower-123/flight-1/manifest.json', { eTag: 'aaaa1111' });
    const newVersion = objectCreated('tower-123/flight-1/manifest.json', {
      eTag: 'bbbb2222',
      eventTime: '2026-11-28T11:00:00.000Z',
    });

    // Act
    const first = decideForEvent(event, RULES);
    const again = decideForEvent({ ...event }, RULES);
    const rerun = decideForEvent(newVersion, RULES);

    // Assess
    expect(again).toEqual(first);
    expect(expectAction(rerun, 'start-inspection').executionName).not.toBe(
      expectAction(first, 'start-inspection').executionName,
    );
  });

  it('ignores the quotes around an ETag', () => {
    // Prepare
    const quoted = objectCreated('tower-123/flight-1/manifest.json', { eTag: '"aaaa1111"' });
    const bare = objectCreated('tower-123/flight-1/manifest.json', { eTag: 'aaaa1111' });

    // Act
    const fromQuoted = expectAction(decideForEvent(quoted, RULES), 'start-inspection');
    const fromBare = expectAction(decideForEvent(bare, RULES), 'start-inspection');

    // Assess
    expect(fromQuoted.executionName).toBe(fromBare.executionName);
    expect(fromQuoted.input.manifest?.eTag).toBe('aaaa1111');
  });

  it('watches the batch for a photo, one waiter per quiet-period window', () => {
    // Prepare
    const key = 'tower-123/flight-1/DCIM/100MEDIA/DJI_0001.JPG';
    const early = objectCreated(key, { eventTime: '2026-11-28T10:00:01.000Z' });
    const late = objectCreated('tower-123/flight-1/DCIM/100MEDIA/DJI_0002.JPG', {
      eventTime: '2026-11-28T10:09:59.000Z',
    });
    const nextWindow = objectCreated(key, { eventTime: '2026-11-28T10:10:00.000Z' });

    // Act
    const first = expectAction(decideForEvent(early, RULES), 'watch-batch');
    const sameWindow = expectAction(decideForEvent(late, RULES), 'watch-batch');
    const second = expectAction(decideForEvent(nextWindow, RULES), 'watch-batch');

    // Assess
    expect(first.input).toEqual({
      batch: { bucket: DROP_BUCKET, prefix: 'tower-123/flight-1/', assetName: 'tower-123', flightName: 'flight-1' },
      quietPeriodSeconds: 600,
    });
    expect(first.executionName).toMatch(/^w-tower-123-flight-1-[0-9a-f]{24}$/);
    expect(sameWindow.executionName).toBe(first.executionName);
    expect(second.executionName).not.toBe(first.executionName);
  });

  it('ignores a photo when the quiet period is 0 (manifest only)', () => {
    // Prepare
    const event = objectCreated('tower-123/flight-1/DCIM/DJI_0001.JPG');

    // Act
    const decision = expectAction(decideForEvent(event, { batchDepth: 2, quietPeriodSeconds: 0 }), 'ignore');

    // Assess
    expect(decision.key).toBe('tower-123/flight-1/DCIM/DJI_0001.JPG');
    expect(decision.reason).toMatch(/manifest/);
  });

  it.each([
    ['tower-123/flight-1/Manifest.JSON', 'its name is not "manifest.json" in lower case'],
    ['tower-123/flight-1/DCIM/manifest.json', 'it is in a sub-folder'],
  ])('names %s as a misplaced manifest, which closes nothing, with a quiet period or without', (key, why) => {
    // Prepare
    const event = objectCreated(key);

    // Act
    const waiting = decideForEvent(event, RULES);
    const manifestOnly = decideForEvent(event, { batchDepth: 2, quietPeriodSeconds: 0 });

    // Assess
    expect(waiting.action).toBe('watch-batch');
    expect(manifestOnly.action).toBe('ignore');
    for (const decision of [waiting, manifestOnly]) expect(decision.misplacedManifest).toContain(why);
  });

  it('logs and counts a misplaced manifest, and nothing for the real one', async () => {
    // Prepare
    const warnings: unknown[] = [];
    const metrics = new RecordedMetrics();
    const logger = {
      info: () => undefined,
      warn: (message: string, attributes?: object) => warnings.push({ message, ...attributes }),
    };
    const body = s3Body({ key: 'tower-123/flight-1/Manifest.JSON' }, { key: 'tower-123/flight-1/manifest.json' });

    // Act
    await ingestNotification(body, { batchDepth: 2, quietPeriodSeconds: 0 }, new RecordingStarter(), logger, metrics);

    // Assess
    expect(warnings).toEqual([
      {
        message: 'File named like a manifest is not one',
        key: 'tower-123/flight-1/Manifest.JSON',
        reason: expect.stringMatching(/only "manifest.json", in lower case/),
      },
    ]);
    expect(metrics.names).toEqual(['ManifestsMisplaced']);
  });

  it('ignores a key that lies in no batch, with the reason', () => {
    // Prepare
    const shallow = objectCreated('tower-123/manifest.json');

    // Act
    const decision = expectAction(decideForEvent(shallow, RULES), 'ignore');

    // Assess
    expect(decision).toEqual({
      action: 'ignore',
      key: 'tower-123/manifest.json',
      reason: 'outside any batch (fewer than 2 folder levels)',
    });
  });

  it('decodes keys: + is a space, %2B a plus, percent-encoded UTF-8 is unicode', () => {
    // Prepare
    const manifest = objectCreated('Tower+%C3%A9t%C3%A9%2B1/Vol+1%2B2/manifest.json');
    const photo = objectCreated('Tower+%C3%A9t%C3%A9%2B1/Vol+1%2B2/DCIM/a+b%2Bc+%E6%9D%B1.JPG');

    // Act
    const closing = expectAction(decideForEvent(manifest, RULES), 'start-inspection');
    const watching = expectAction(decideForEvent(photo, RULES), 'watch-batch');

    // Assess
    expect(closing.input.batch).toEqual({
      bucket: DROP_BUCKET,
      prefix: 'Tower été+1/Vol 1+2/',
      assetName: 'Tower été+1',
      flightName: 'Vol 1+2',
    });
    expect(closing.input.manifest?.key).toBe('Tower été+1/Vol 1+2/manifest.json');
    expect(watching.input.batch.prefix).toBe('Tower été+1/Vol 1+2/');
    expect(closing.executionName).toMatch(VALID_NAME);
  });

  it('tells apart a space and a plus in the folder name', () => {
    // Prepare
    const withSpace = objectCreated('tower+1/flight/manifest.json');
    const withPlus = objectCreated('tower%2B1/flight/manifest.json');

    // Act
    const spaced = expectAction(decideForEvent(withSpace, RULES), 'start-inspection');
    const plussed = expectAction(decideForEvent(withPlus, RULES), 'start-inspection');

    // Assess
    expect(spaced.input.batch.prefix).toBe('tower 1/flight/');
    expect(plussed.input.batch.prefix).toBe('tower+1/flight/');
    expect(spaced.executionName).not.toBe(plussed.executionName);
  });
});

describe('objectCreatedEvents', () => {
  it('gives no event for the s3:TestEvent S3 sends on setup', () => {
    // Prepare
    const body: S3NotificationBody = {
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-28T10:00:00.000Z',
      Bucket: DROP_BUCKET,
    };

    // Act
    const events = objectCreatedEvents(body);

    // Assess
    expect(events).toEqual([]);
  });

  it('gives no event for ObjectRemoved records', () => {
    // Prepare
    const body = s3Body(
      { key: 'tower-1/flight-1/a.jpg', eventName: 'ObjectRemoved:Delete' },
      { key: 'tower-1/flight-1/b.jpg', eventName: 'ObjectRemoved:DeleteMarkerCreated' },
    );

    // Act
    const events = objectCreatedEvents(body);

    // Assess
    expect(events).toEqual([]);
  });

  it('keeps the object-created records, key still encoded', () => {
    // Prepare
    const body = s3Body(
      { key: 'tower+1/flight/a.jpg', eTag: 'e1' },
      { key: 'tower+1/flight/b.jpg', eventName: 'ObjectRemoved:Delete' },
    );

    // Act
    const events = objectCreatedEvents(body);

    // Assess
    expect(events).toEqual([
      { bucket: DROP_BUCKET, encodedKey: 'tower+1/flight/a.jpg', eTag: 'e1', eventTime: '2026-11-28T10:00:01.000Z' },
    ]);
  });

  it.each<[string, unknown]>([
    ['no Records', {}],
    ['Records that is not a list', { Records: 'tower-1/flight-1/a.jpg' }],
    [
      'a created record without a key',
      {
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            eventTime: '2026-11-28T10:00:01Z',
            s3: { bucket: { name: DROP_BUCKET }, object: {} },
          },
        ],
      },
    ],
    [
      'a created record without an event time',
      {
        Records: [
          { eventName: 'ObjectCreated:Put', s3: { bucket: { name: DROP_BUCKET }, object: { key: 'a/b/c.jpg' } } },
        ],
      },
    ],
  ])('refuses a malformed body (%s) with InvalidS3NotificationError', (_what, body) => {
    // Act
    const act = () => objectCreatedEvents(body);

    // Assess
    expect(act).toThrow(InvalidS3NotificationError);
  });
});

describe('ingestNotification', () => {
  it('starts each execution once: a repeated notification gives already-started', async () => {
    // Prepare
    const starter = new RecordingStarter();
    const body = s3Body(
      { key: 'tower-1/flight-1/manifest.json', eTag: 'm1' },
      { key: 'tower-1/flight-1/DCIM/a.jpg' },
      { key: 'tower-1/x.jpg' },
    );

    // Act
    const first = await ingestNotification(body, RULES, starter);
    const second = await ingestNotification(body, RULES, starter);

    // Assess
    expect(first.map((outcome) => outcome.result)).toEqual(['started', 'started', 'ignored']);
    expect(second.map((outcome) => outcome.result)).toEqual(['already-started', 'already-started', 'ignored']);
    expect(starter.started.map((call) => call.machine)).toEqual(['inspection', 'waiter']);
  });
});

describe('the ingest handler', () => {
  it('reports exactly the message whose body is not JSON, and starts the others', async () => {
    // Prepare
    const starter = new RecordingStarter();
    const handler = createHandler(() => ({ rules: RULES, starter }));
    const event: SQSEvent = {
      Records: [
        sqsRecord('msg-1', JSON.stringify(s3Body({ key: 'tower-1/flight-1/manifest.json', eTag: 'm1' }))),
        sqsRecord('msg-2', '{"Records": [ this is not JSON'),
        sqsRecord('msg-3', JSON.stringify(s3Body({ key: 'tower-2/flight+9/DCIM/DJI_0001.JPG' }))),
      ],
    };

    // Act
    const response = await handler(event, lambdaContext);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-2' }] });
    expect(starter.started.map(({ machine, name }) => ({ machine, name }))).toEqual([
      { machine: 'inspection', name: executionName('m', 'tower-1/flight-1/', DROP_BUCKET, 'm1') },
      { machine: 'waiter', name: expect.stringMatching(/^w-tower-2-flight-9-[0-9a-f]{24}$/) },
    ]);
    expect(starter.started[1]?.input).toMatchObject({ batch: { prefix: 'tower-2/flight 9/' } });
  });

  it('reports a message with an undecodable key, and handles duplicates as success', async () => {
    // Prepare
    const starter = new RecordingStarter();
    const handler = createHandler(() => ({ rules: RULES, starter }));
    const manifest = JSON.stringify(s3Body({ key: 'tower-1/flight-1/manifest.json', eTag: 'm1' }));
    const event: SQSEvent = {
      Records: [
        sqsRecord('msg-1', manifest),
        sqsRecord('msg-2', manifest),
        sqsRecord('msg-3', JSON.stringify(s3Body({ key: 'tower-1/flight-1/%E0%A4%A.jpg' }))),
        sqsRecord('msg-4', JSON.stringify({ Event: 's3:TestEvent' })),
      ],
    };

    // Act
    const response = await handler(event, lambdaContext);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-3' }] });
    expect(starter.calls.map((call) => call.result)).toEqual(['started', 'already-started']);
  });
});

describe('SfnWorkflowStarter', () => {
  const sfn = mockClient(SFNClient);
  const arns = { inspection: INSPECTION_ARN, waiter: WAITER_ARN };

  beforeEach(() => {
    sfn.reset();
  });

  it('starts the machine asked for, with the name and the input as JSON', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${INSPECTION_ARN}:x`, startDate: new Date() });
    const starter = new SfnWorkflowStarter(new SFNClient({ region: 'eu-west-1' }), arns);
    const input = { batch: { bucket: DROP_BUCKET, prefix: 'tower-1/flight-1/' }, quietPeriodSeconds: 600 };

    // Act
    const inspection = await starter.start('inspection', 'm-tower-1-flight-1-abc', input);
    const waiter = await starter.start('waiter', 'w-tower-1-flight-1-def', input);

    // Assess
    expect([inspection, waiter]).toEqual(['started', 'started']);
    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: INSPECTION_ARN, name: 'm-tower-1-flight-1-abc', input: JSON.stringify(input) },
      { stateMachineArn: WAITER_ARN, name: 'w-tower-1-flight-1-def', input: JSON.stringify(input) },
    ]);
  });

  it('answers already-started when Step Functions says ExecutionAlreadyExists', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: { httpStatusCode: 400 } }));
    const starter = new SfnWorkflowStarter(new SFNClient({ region: 'eu-west-1' }), arns);

    // Act
    const result = await starter.start('inspection', 'm-x', {});

    // Assess
    expect(result).toBe('already-started');
  });

  it('lets any other error through', async () => {
    // Prepare
    const refused = new InvalidExecutionInput({ message: 'Invalid input', $metadata: { httpStatusCode: 400 } });
    sfn.on(StartExecutionCommand).rejects(refused);
    const starter = new SfnWorkflowStarter(new SFNClient({ region: 'eu-west-1' }), arns);

    // Act
    const outcome = starter.start('waiter', 'w-x', {});

    // Assess
    await expect(outcome).rejects.toBe(refused);
  });

  it('makes the ingest handler report the message when Step Functions fails', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand, { name: executionName('m', 'tower-1/flight-1/', DROP_BUCKET, 'bad') })
      .rejects(new Error('ServiceUnavailable'));
    sfn
      .on(StartExecutionCommand, { name: executionName('m', 'tower-1/flight-1/', DROP_BUCKET, 'good') })
      .resolves({ executionArn: 'arn' });
    const starter = new SfnWorkflowStarter(new SFNClient({ region: 'eu-west-1' }), arns);
    const handler = createHandler(() => ({ rules: RULES, starter }));
    const event: SQSEvent = {
      Records: [
        sqsRecord('ok', JSON.stringify(s3Body({ key: 'tower-1/flight-1/manifest.json', eTag: 'good' }))),
        sqsRecord('throttled', JSON.stringify(s3Body({ key: 'tower-1/flight-1/manifest.json', eTag: 'bad' }))),
      ],
    };

    // Act
    const response = await handler(event, lambdaContext);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'throttled' }] });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });
});
