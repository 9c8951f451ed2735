import { describe, expect, it } from 'vitest';
import { checkPublish, SnsRequestError } from '../../local/aws/sns-publish-rules';
import {
  buildNotification,
  MAX_CAMERAS_LISTED,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_SNS_MESSAGE_BYTES,
  MAX_SUBJECT_CHARS,
  MAX_WARNINGS_LISTED,
  NOTIFICATION_TYPES,
  type NotificationInput,
  notificationSchema,
} from '../../src/notify/notification';

/** The example of DESIGN.md as builder input. */
function designInput(overrides: Partial<NotificationInput> = {}): NotificationInput {
  return {
    type: 'inspection.completed',
    batch: { bucket: 'drop-bucket', prefix: 'tower-123/flight-1/', id: 'batch-7f3a' },
    asset: { id: 915, name: 'tower-123' },
    inspection: {
      id: 1417,
      projectId: 745411,
      name: 'flight-1',
      status: { id: 7, name: 'Processing completed', extra: 'ignored' },
    },
    images: {
      found: 120,
      copied: 118,
      registered: 118,
      skipped: [
        { key: 'tower-123/flight-1/notes.txt', reason: 'unsupported extension' },
        { key: 'tower-123/flight-1/empty.jpg', reason: 'empty file' },
      ],
    },
    timings: {
      closedAt: '2026-11-28T10:00:00Z',
      processingStartedAt: new Date('2026-11-28T10:04:00Z'),
      finishedAt: '2026-11-28T12:30:00.000Z',
    },
    ...overrides,
  };
}

function decode(snsMessage: string): { default: string; email: string } {
  const outer = JSON.parse(snsMessage) as Record<string, unknown>;
  expect(Object.keys(outer).sort()).toEqual(['default', 'email']);
  return outer as { default: string; email: string };
}

const SUBJECT_CHARSET = /^[A-Za-z0-9][\x20-\x7E]*$/;

describe('buildNotification: the three outcomes', () => {
  it('builds a completed message in the shape of DESIGN.md, without error', () => {
    // Prepare
    const input = designInput();

    // Act
    const built = buildNotification(input);

    // Assess
    expect(built.message).toEqual({
      version: 1,
      type: 'inspection.completed',
      batch: { bucket: 'drop-bucket', prefix: 'tower-123/flight-1/', id: 'batch-7f3a' },
      asset: { id: 915, name: 'tower-123' },
      inspection: {
        id: 1417,
        projectId: 745411,
        name: 'flight-1',
        status: { id: 7, name: 'Processing completed' },
        url: 'https://inspect.pix4d.com/project/745411/',
      },
      images: {
        found: 120,
        copied: 118,
        registered: 118,
        skipped: [
          { key: 'tower-123/flight-1/notes.txt', reason: 'unsupported extension' },
          { key: 'tower-123/flight-1/empty.jpg', reason: 'empty file' },
        ],
        skippedTotal: 2,
      },
      flight: null,
      warnings: [],
      timings: {
        closedAt: '2026-11-28T10:00:00.000Z',
        processingStartedAt: '2026-11-28T10:04:00.000Z',
        finishedAt: '2026-11-28T12:30:00.000Z',
      },
    });
    expect('error' in built.message).toBe(false);
    expect(notificationSchema.parse(built.message)).toEqual(built.message);
    expect(JSON.parse(decode(built.snsMessage).default)).toEqual(built.message);
    expect(Object.keys(built.message)).toEqual([
      'version',
      'type',
      'batch',
      'asset',
      'inspection',
      'images',
      'flight',
      'warnings',
      'timings',
    ]);
    expect(built.subject).toBe('Inspection completed: tower-123/flight-1 (118 photos)');
  });

  it('builds a failed message with the stage and the reason, also when no inspection was created', () => {
    // Prepare
    const atCopy = designInput({
      type: 'inspection.failed',
      error: { stage: 'copy', message: 'Access Denied while writing DJI_0001.JPG' },
      timings: { closedAt: '2026-11-28T10:00:00Z', processingStartedAt: null, finishedAt: '2026-11-28T10:03:00Z' },
    });
    const atManifest = designInput({
      type: 'inspection.failed',
      asset: { id: null, name: undefined },
      inspection: null,
      images: { found: 0, copied: 0, registered: 0, skipped: [] },
      error: { stage: 'manifest', message: 'manifest.json: unknown field "assets"' },
      timings: { closedAt: '2026-11-28T10:00:00Z', processingStartedAt: undefined, finishedAt: '2026-11-28T10:00:05Z' },
    });

    // Act
    const copy = buildNotification(atCopy);
    const manifest = buildNotification(atManifest);

    // Assess
    expect(notificationSchema.parse(copy.message)).toEqual(copy.message);
    expect(copy.message).toMatchObject({
      type: 'inspection.failed',
      error: { stage: 'copy', message: 'Access Denied while writing DJI_0001.JPG' },
      timings: { processingStartedAt: null },
    });
    expect(Object.keys(copy.message)).toEqual([
      'version',
      'type',
      'batch',
      'asset',
      'inspection',
      'images',
      'flight',
      'warnings',
      'error',
      'timings',
    ]);
    expect(copy.subject).toBe('Inspection failed at copy: tower-123/flight-1');
    expect(notificationSchema.parse(manifest.message)).toEqual(manifest.message);
    expect(manifest.message).toMatchObject({
      asset: { id: null, name: '(unknown)' },
      inspection: null,
      images: { skipped: [], skippedTotal: 0 },
      error: { stage: 'manifest', message: 'manifest.json: unknown field "assets"' },
    });
    expect(manifest.subject).toBe('Inspection failed at manifest: tower-123/flight-1');
  });

  it('builds a timed-out message whose error names the deadline and the last status', () => {
    // Prepare
    const input = designInput({
      type: 'inspection.timed_out',
      inspection: { id: 1417, projectId: 745411, name: 'flight-1', status: { id: 4, name: 'Processing' } },
      deadline: '2026-11-30T10:04:00Z',
    });

    // Act
    const built = buildNotification(input);

    // Assess
    expect(notificationSchema.parse(built.message)).toEqual(built.message);
    expect(built.message.type).toBe('inspection.timed_out');
    const error = 'error' in built.message ? built.message.error : undefined;
    expect(error?.stage).toBe('processing');
    expect(error?.message).toMatch(/deadline \(2026-11-30T10:04:00\.000Z\) passed/);
    expect(error?.message).toContain('last status: "Processing" (id 4)');
    expect(built.subject).toBe('Inspection timed out: tower-123/flight-1');
  });

  it('links the project under the configured base, and gives no link without a project id', () => {
    // Prepare
    const withProject = designInput();
    const withoutProject = designInput({
      type: 'inspection.failed',
      inspection: { id: 1417, projectId: null, name: 'flight-1', status: null },
      error: { stage: 'prepare', message: 'no project yet' },
    });

    // Act
    const custom = buildNotification(withProject, { inspectBaseUrl: 'https://inspect.example.test/' });
    const none = buildNotification(withoutProject);

    // Assess
    expect(custom.message.inspection?.url).toBe('https://inspect.example.test/project/745411/');
    expect(none.message.inspection).toEqual({ id: 1417, projectId: null, name: 'flight-1', status: null, url: null });
    expect(decode(none.snsMessage).email).not.toContain('Link:');
  });

  it('fails loudly when the input contradicts the type or the message would not match the schema', () => {
    // Prepare
    const failedWithoutError = designInput({ type: 'inspection.failed' });
    const completedWithError = designInput({ error: { stage: 'copy', message: 'x' } });
    const completedWithoutInspection = designInput({ inspection: null });
    const badTimestamp = designInput({
      timings: { closedAt: 'yesterday', processingStartedAt: null, finishedAt: '2026-11-28T10:00:00Z' },
    });
    const negativeCount = designInput({ images: { found: -1, copied: 0, registered: 0, skipped: [] } });

    // Act
    const attempts = [
      failedWithoutError,
      completedWithError,
      completedWithoutInspection,
      badTimestamp,
      negativeCount,
    ].map((input) => () => buildNotification(input));

    // Assess
    expect(attempts[0]).toThrow(/needs an error/);
    expect(attempts[1]).toThrow(/takes no error/);
    expect(attempts[2]).toThrow(/version-1 schema[\s\S]*needs an inspection/);
    expect(attempts[3]).toThrow(/closedAt is not a date/);
    expect(attempts[4]).toThrow(/version-1 schema[\s\S]*found/);
  });
});

describe('buildNotification: the flight block and the warnings', () => {
  const FLIGHT = {
    photos: 30,
    geotagged: 28,
    capturedFrom: '2026-11-28T10:00:00+01:00',
    capturedTo: '2026-11-28T10:01:27+01:00',
    cameras: ['DJI FC6310', 'DJI FC3411'],
    centroid: { latitude: 46.5197, longitude: 6.5663 },
    altitude: { min: 455, max: 469.5 },
  };

  it('adds what the photos say of the flight, and the warnings, to the message and to the email in plain words', () => {
    // Prepare
    const input = designInput({
      flight: FLIGHT,
      warnings: [
        '2 of 30 photos have no GPS position (a.JPG, b.JPG)',
        'photos from 2 cameras: DJI FC6310 (15), DJI FC3411 (15)',
      ],
    });

    // Act
    const built = buildNotification(input);
    const email = decode(built.snsMessage).email;

    // Assess
    expect(notificationSchema.parse(built.message)).toEqual(built.message);
    expect(built.message.version).toBe(1);
    expect(built.message.flight).toEqual({
      capturedFrom: '2026-11-28T10:00:00+01:00',
      capturedTo: '2026-11-28T10:01:27+01:00',
      cameras: ['DJI FC6310', 'DJI FC3411'],
      geotagged: 28,
      photos: 30,
      centroid: { latitude: 46.5197, longitude: 6.5663 },
      altitude: { min: 455, max: 469.5 },
    });
    expect(built.message.warnings).toHaveLength(2);
    expect(email).toContain('Captured:   2026-11-28T10:00:00+01:00 to 2026-11-28T10:01:27+01:00');
    expect(email).toContain('Geotagged:  28 of 30 photos, centred on 46.519700, 6.566300');
    expect(email).toContain('Altitude:   455 to 469.5 m above sea level');
    expect(email).toContain('Cameras:    DJI FC6310, DJI FC3411');
    expect(email).toContain(
      'Warnings:\n  - 2 of 30 photos have no GPS position (a.JPG, b.JPG)\n  - photos from 2 cameras',
    );
  });

  it('says when no metadata was read (flight null) and lists no warnings', () => {
    // Prepare
    const input = designInput();

    // Act
    const built = buildNotification(input);
    const email = decode(built.snsMessage).email;

    // Assess
    expect(built.message).toMatchObject({ flight: null, warnings: [] });
    expect(email).not.toContain('Captured:');
    expect(email).not.toContain('Warnings:');
  });

  it('redacts secrets from warnings and camera names, and bounds their number', () => {
    // Prepare
    const secret = 'hunter2-api-key';
    const input = designInput({
      flight: { ...FLIGHT, cameras: [`Cam ${secret}`, ...Array.from({ length: 30 }, (_, index) => `Camera ${index}`)] },
      warnings: [
        `photo ${secret}.JPG has no GPS position`,
        ...Array.from({ length: 30 }, (_, index) => `warning ${index}`),
      ],
      secrets: [secret],
    });

    // Act
    const built = buildNotification(input);

    // Assess
    expect(built.snsMessage).not.toContain(secret);
    expect(built.message.flight!.cameras).toHaveLength(MAX_CAMERAS_LISTED);
    expect(built.message.warnings).toHaveLength(MAX_WARNINGS_LISTED);
    expect(notificationSchema.parse(built.message)).toEqual(built.message);
  });
});

describe('notificationSchema', () => {
  it('refuses an error on a completed message, a failure without one and unknown fields', () => {
    // Prepare
    const completed = buildNotification(designInput()).message;
    const failed = buildNotification(
      designInput({ type: 'inspection.failed', error: { stage: 'copy', message: 'x' } }),
    ).message;
    const { error: _error, ...failedWithoutError } = failed as typeof failed & { error: unknown };

    // Act
    const results = [
      notificationSchema.safeParse({ ...completed, error: { stage: 'copy', message: 'x' } }),
      notificationSchema.safeParse(failedWithoutError),
      notificationSchema.safeParse({ ...completed, version: 2 }),
      notificationSchema.safeParse({ ...completed, extra: true }),
      notificationSchema.safeParse(completed),
    ];

    // Assess
    expect(_error).toEqual({ stage: 'copy', message: 'x' });
    expect(results.map((result) => result.success)).toEqual([false, false, false, false, true]);
  });
});

describe('buildNotification: subject and attributes', () => {
  it('keeps the subject on one printable ASCII line of at most 99 characters, whatever the names', () => {
    // Prepare
    const prefix = `Tour Eiffel – été 🗼\nRenée’s “tower”/${'Flüge-'.repeat(40)}/`;
    const types = [
      { type: 'inspection.completed' as const },
      {
        type: 'inspection.failed' as const,
        error: { stage: 'copy\u0007 ünïcode stage that is far too long', message: 'x' },
      },
      { type: 'inspection.timed_out' as const },
    ];

    // Act
    const subjects = types.map(
      (extra) => buildNotification(designInput({ ...extra, batch: { bucket: 'b', prefix, id: 'i' } })).subject,
    );

    // Assess
    for (const subject of subjects) {
      expect(subject.length).toBeLessThanOrEqual(99);
      expect(subject).toMatch(SUBJECT_CHARSET);
      expect(subject).toContain('Tour Eiffel - ete ? Renee\'s "tower"/Fluge-');
    }
    expect(subjects[0]).toMatch(/^Inspection completed: .*\.\.\. \(118 photos\)$/);
    expect(subjects[1]).toMatch(/^Inspection failed at copy\? unicode stage t\.\.\.: Tour Eiffel/);
    expect(subjects[2]).toMatch(/^Inspection timed out: .*\.\.\.$/);
  });

  it('gives the type and the asset as non-empty String attributes', () => {
    // Prepare
    const named = designInput({ type: 'inspection.timed_out', asset: { id: 915, name: '  Tower 123 ' } });
    const unnamed = designInput({
      type: 'inspection.failed',
      asset: { id: null, name: '' },
      error: { stage: 's', message: 'm' },
    });

    // Act
    const first = buildNotification(named).messageAttributes;
    const second = buildNotification(unnamed).messageAttributes;

    // Assess
    expect(first).toEqual({
      type: { DataType: 'String', StringValue: 'inspection.timed_out' },
      asset: { DataType: 'String', StringValue: 'Tower 123' },
    });
    expect(second).toEqual({
      type: { DataType: 'String', StringValue: 'inspection.failed' },
      asset: { DataType: 'String', StringValue: '(unknown)' },
    });
  });
});

describe('buildNotification: the email body', () => {
  it('tells a person the outcome, the flight, the link, the counts, 20 skipped keys, the error and the timings', () => {
    // Prepare
    const skipped = Array.from({ length: 25 }, (_, index) => ({
      key: `tower-123/flight-1/extra-${String(index).padStart(2, '0')}.txt`,
      reason: 'unsupported extension',
    }));
    const input = designInput({
      type: 'inspection.failed',
      images: { found: 145, copied: 118, registered: 0, skipped },
      error: { stage: 'register', message: 'registered 117 of 118 images' },
    });

    // Act
    const email = decode(buildNotification(input).snsMessage).email;

    // Assess
    expect(email.split('\n')[0]).toBe('Inspection failed at stage register for tower-123/flight-1.');
    expect(email).toContain('Asset:      tower-123 (id 915)');
    expect(email).toContain('Flight:     flight-1 (inspection 1417, project 745411)');
    expect(email).toContain('Link:       https://inspect.pix4d.com/project/745411/');
    expect(email).toContain('Photos: 145 found, 118 copied, 0 registered, 25 skipped');
    expect(email).toContain('  - tower-123/flight-1/extra-00.txt: unsupported extension');
    expect(email).toContain('  - tower-123/flight-1/extra-19.txt: unsupported extension');
    expect(email).not.toContain('extra-20.txt');
    expect(email).toContain('  ... and 5 more');
    expect(email).toContain('Error at stage register:\nregistered 117 of 118 images');
    expect(email).toContain('Batch closed:        2026-11-28T10:00:00.000Z');
    expect(email).toContain('Processing started:  2026-11-28T10:04:00.000Z');
    expect(email).toContain('Finished:            2026-11-28T12:30:00.000Z');
    expect(email).not.toMatch(/[{}]/);
  });

  it('says a completed inspection is done and lists no error', () => {
    // Prepare
    const input = designInput({ images: { found: 118, copied: 118, registered: 118, skipped: [] } });

    // Act
    const email = decode(buildNotification(input).snsMessage).email;

    // Assess
    expect(email.split('\n')[0]).toBe('Inspection completed for tower-123/flight-1.');
    expect(email).toContain('Status:     Processing completed (7)');
    expect(email).toContain('118 registered, 0 skipped');
    expect(email).not.toContain('Skipped:');
    expect(email).not.toContain('Error');
  });
});

describe('buildNotification: size', () => {
  it('lists at most maxSkippedListed skipped images and always counts them all', () => {
    // Prepare
    const skipped = Array.from({ length: 250 }, (_, index) => ({ key: `a/f/${index}.txt`, reason: 'unsupported' }));
    const partial = designInput({
      images: { found: 10, copied: 10, registered: 10, skipped: skipped.slice(0, 3), skippedTotal: 40 },
    });

    // Act
    const byDefault = buildNotification(designInput({ images: { found: 250, copied: 0, registered: 0, skipped } }));
    const ten = buildNotification(designInput({ images: { found: 250, copied: 0, registered: 0, skipped } }), {
      maxSkippedListed: 10,
    });
    const given = buildNotification(partial);

    // Assess
    expect(byDefault.message.images.skipped).toEqual(skipped.slice(0, 100));
    expect(byDefault.message.images.skippedTotal).toBe(250);
    expect(ten.message.images.skipped).toHaveLength(10);
    expect(ten.message.images.skippedTotal).toBe(250);
    expect(given.message.images.skipped).toHaveLength(3);
    expect(given.message.images.skippedTotal).toBe(40);
    expect(decode(given.snsMessage).email).toContain('... and 37 more');
  });

  it('stays under 200 KB with 10,000 skipped keys of 1 KB and a 50 KB error message', () => {
    // Prepare
    const skipped = Array.from({ length: 10_000 }, (_, index) => ({
      key: `tower-123/flight-1/${String(index).padStart(5, '0')}-${'k'.repeat(1_000)}.txt`,
      reason: 'unsupported extension',
    }));
    const quoted = skipped.map((image) => ({ key: '"\\'.repeat(512), reason: image.reason }));
    const input = designInput({
      type: 'inspection.failed',
      images: { found: 10_000, copied: 0, registered: 0, skipped },
      error: { stage: 'copy', message: 'e'.repeat(50 * 1024) },
    });

    // Act
    const byDefault = buildNotification(input);
    const all = buildNotification(input, { maxSkippedListed: 10_000 });
    const escaped = buildNotification({ ...input, images: { ...input.images, skipped: quoted } });

    // Assess
    for (const built of [byDefault, all, escaped]) {
      expect(Buffer.byteLength(built.snsMessage, 'utf8')).toBeLessThan(MAX_SNS_MESSAGE_BYTES);
      expect(notificationSchema.parse(built.message)).toEqual(built.message);
      expect(built.message.images.skippedTotal).toBe(10_000);
    }
    expect(MAX_SNS_MESSAGE_BYTES).toBe(200 * 1024);
    expect(byDefault.message.images.skipped).toHaveLength(100);
    expect(all.message.images.skipped.length).toBeGreaterThan(150);
    expect(all.message.images.skipped.length).toBeLessThan(10_000);
    expect(escaped.message.images.skipped.length).toBeLessThan(100);
    const error = 'error' in byDefault.message ? byDefault.message.error.message : '';
    expect(error).toHaveLength(MAX_ERROR_MESSAGE_CHARS);
    expect(error.endsWith('…')).toBe(true);
    expect(decode(byDefault.snsMessage).email).toContain('... and 9980 more');
  });
});

describe('buildNotification: redaction', () => {
  it('removes the given secrets and any JWT from every outgoing text, and never copies the secrets', () => {
    // Prepare
    const password = 'Pw-7f9c2e1b-SECRET';
    const apiKey = 'AK-3d8a55e0c4b24f0e';
    const username = 'pilot-q8z@example.test';
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwaWxvdC1xOHoifQ.Zm9yZ2VkLXNpZ25hdHVyZS12YWx1ZQ';
    const input = designInput({
      type: 'inspection.failed',
      batch: { bucket: 'drop-bucket', prefix: `tower-${apiKey}/flight-1/`, id: 'batch-1' },
      asset: { id: 915, name: `tower ${password}` },
      inspection: {
        id: 1417,
        projectId: 745411,
        name: `flight by ${username}`,
        status: { id: 2, name: `x ${apiKey}` },
      },
      images: {
        found: 2,
        copied: 1,
        registered: 0,
        skipped: [{ key: `tower-123/flight-1/${password}.txt`, reason: `token ${jwt}` }],
      },
      error: {
        stage: 'register',
        message: `POST /v1/auth/token/ username=${username} password=${password} X-Api-Key: ${apiKey} Authorization: Bearer ${jwt}`,
      },
      secrets: [password, apiKey, username, undefined],
    });

    // Act
    const built = buildNotification(input);

    // Assess
    const outgoing = [
      built.snsMessage,
      decode(built.snsMessage).email,
      built.subject,
      JSON.stringify(built.messageAttributes),
    ];
    for (const text of outgoing) {
      for (const value of [password, apiKey, username, jwt, 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9']) {
        expect(text).not.toContain(value);
      }
    }
    expect('secrets' in built.message).toBe(false);
    expect(built.message.asset.name).toBe('tower [redacted]');
    expect(built.messageAttributes.asset.StringValue).toBe('tower [redacted]');
    const error = 'error' in built.message ? built.message.error.message : '';
    expect(error).toBe(
      'POST /v1/auth/token/ username=[redacted] password=[redacted] X-Api-Key: [redacted] Authorization: Bearer [redacted JWT]',
    );
  });

  it('redacts before it cuts, so that a long message never ends with the start of a secret', () => {
    // Prepare
    const password = 'Zq81-LongPassword-Value';
    const message = `${'x'.repeat(MAX_ERROR_MESSAGE_CHARS - 8)}${password} and more text`;
    const input = designInput({ type: 'inspection.failed', error: { stage: 'copy', message }, secrets: [password] });

    // Act
    const built = buildNotification(input);

    // Assess
    expect(built.snsMessage).not.toContain(password.slice(0, 7));
    const error = 'error' in built.message ? built.message.error.message : '';
    expect(error).toHaveLength(MAX_ERROR_MESSAGE_CHARS);
    expect(error.endsWith('x[redact…')).toBe(true);
  });
});

describe('buildNotification: what SNS accepts', () => {
  const topicArn = 'arn:aws:sns:eu-west-1:123456789012:inspection-outcomes';

  /** The Publish request of `SnsNotificationPublisher`, for the SNS rules of local mode. */
  function publishOf(built: ReturnType<typeof buildNotification>) {
    return {
      TopicArn: topicArn,
      Subject: built.subject,
      Message: built.snsMessage,
      MessageStructure: 'json',
      MessageAttributes: built.messageAttributes,
    };
  }

  /** `head`, then `fill` and 'a' up to exactly `bytes` UTF-8 bytes. */
  function ofBytes(head: string, fill: string, bytes: number): string {
    let text = head;
    while (Buffer.byteLength(text + fill, 'utf8') <= bytes) text += fill;
    while (Buffer.byteLength(text, 'utf8') < bytes) text += 'a';
    return text;
  }

  /** One input of each type; `inspection.failed` with a stage far over the subject's share. */
  function eachType(overrides: Partial<NotificationInput>): NotificationInput[] {
    return NOTIFICATION_TYPES.map((type) =>
      designInput({
        type,
        ...(type === 'inspection.failed'
          ? { error: { stage: `register\t\u00e9tape \u2013 ${'very-long-stage-'.repeat(8)}\n`, message: 'x' } }
          : {}),
        ...(type === 'inspection.timed_out' ? { deadline: '2026-11-30T10:04:00Z' } : {}),
        ...(type === 'inspection.late_photos' || type === 'inspection.skipped'
          ? { notice: `Run q-1 closed the folder.\n${'x'.repeat(3_000)}`, inspection: null }
          : {}),
        ...overrides,
      }),
    );
  }

  const keyLike = `${ofBytes('tower-123/', 'flight-2026-11-28-', 1_023)}/`;
  const unicodeKeyLike = `${ofBytes(
    'Tour Eiffel \u2013 \u00e9t\u00e9 \ud83d\uddfc/Ren\u00e9e\u2019s \u201ctower\u201d/',
    '\u00fc\u6771\ud83d\ude81',
    1_023,
  )}/`;
  const folders = [
    keyLike,
    unicodeKeyLike,
    '\u6771\u4eac\u30bf\u30ef\u30fc/\u70b9\u691c-1/',
    '\ud83d\uddfc\ud83d\ude81/',
    'Caf\u00e9 Ren\u00e9e/Fl\u00fcge \u00e0 Z\u00fcrich/',
    'tower\n123/flight\t1\r\n/',
    '  \u0007bell\u007f/\u2028flight/',
  ];

  it('builds folders of the awkward kinds: 1,024 bytes (ASCII and unicode), CJK, emoji, line breaks, tabs', () => {
    // Prepare
    const lengths = [keyLike, unicodeKeyLike].map((folder) => Buffer.byteLength(folder, 'utf8'));

    // Act
    const hasLineBreak = folders.some((folder) => /[\r\n\u2028]/.test(folder));

    // Assess
    expect(lengths).toEqual([1_024, 1_024]);
    expect(unicodeKeyLike).toMatch(/\u6771/);
    expect(hasLineBreak).toBe(true);
  });

  it('gives every type, for every awkward folder and asset name, a request checkPublish accepts', () => {
    // Prepare
    const inputs = folders.flatMap((folder) =>
      eachType({ batch: { bucket: 'drop-bucket', prefix: folder, id: 'batch-1' }, asset: { id: 915, name: folder } }),
    );

    // Act
    const built = inputs.map((input) => buildNotification(input));

    // Assess
    expect(built).toHaveLength(folders.length * NOTIFICATION_TYPES.length);
    for (const notification of built) {
      expect(() => checkPublish(publishOf(notification))).not.toThrow();
      expect(notification.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
      expect(notification.subject).toMatch(SUBJECT_CHARSET);
    }
  });

  it('uses the whole subject budget of 99 characters for a 1,024-byte folder, and SNS takes it', () => {
    // Prepare
    const inputs = eachType({ batch: { bucket: 'drop-bucket', prefix: keyLike, id: 'batch-1' } });

    // Act
    const subjects = inputs.map((input) => buildNotification(input).subject);

    // Assess
    expect(subjects.map((subject) => subject.length)).toEqual([99, 99, 99, 99, 99]);
    expect(subjects[0]).toMatch(/^Inspection completed: tower-123\/flight-.*\.\.\. \(118 photos\)$/);
    expect(subjects[1]).toMatch(/^Inspection failed at register etape - very\.\.\.: tower-123\/flight-.*\.\.\.$/);
    expect(subjects[2]).toMatch(/^Inspection timed out: tower-123\/flight-.*\.\.\.$/);
    expect(subjects[3]).toMatch(/^Late photos not processed: tower-123\/flight-.*\.\.\. \(\d+\)$/);
    expect(subjects[4]).toMatch(/^Already processing, not started again: tower-123\/flight-.*\.\.\.$/);
    for (const subject of subjects)
      expect(() => checkPublish({ TopicArn: topicArn, Subject: subject, Message: 'm' })).not.toThrow();
  });

  it('stays within what SNS accepts with the largest message: 10,000 skipped keys of 1 KB', () => {
    // Prepare
    const skipped = Array.from({ length: 10_000 }, (_, index) => ({
      key: `${unicodeKeyLike}${String(index).padStart(5, '0')}.txt`,
      reason: 'unsupported extension',
    }));
    const inputs = eachType({
      batch: { bucket: 'drop-bucket', prefix: unicodeKeyLike, id: 'batch-1' },
      asset: { id: 915, name: unicodeKeyLike },
      images: { found: 10_000, copied: 0, registered: 0, skipped },
    });

    // Act
    const built = inputs.map((input) => buildNotification(input, { maxSkippedListed: 10_000 }));

    // Assess
    for (const notification of built) {
      expect(notification.message.images.skipped.length).toBeGreaterThan(10);
      expect(() => checkPublish(publishOf(notification))).not.toThrow();
    }
  });

  it('matches SNS: a subject of MAX_SUBJECT_CHARS is accepted, and one of 100 characters is refused', () => {
    // Prepare
    const built = buildNotification(
      designInput({ type: 'inspection.timed_out', batch: { bucket: 'b', prefix: keyLike, id: 'i' } }),
    );
    const hundred = built.subject.padEnd(100, 'x');

    // Act
    const refusal = (() => {
      try {
        checkPublish({ ...publishOf(built), Subject: hundred });
      } catch (error) {
        return error;
      }
      return undefined;
    })();

    // Assess
    expect(hundred).toHaveLength(100);
    expect(refusal).toBeInstanceOf(SnsRequestError);
    expect(refusal).toMatchObject({ code: 'InvalidParameter', statusCode: 400, message: 'Invalid parameter: Subject' });
    expect(() => checkPublish({ ...publishOf(built), Subject: 'x'.repeat(MAX_SUBJECT_CHARS) })).not.toThrow();
    expect(() => checkPublish({ ...publishOf(built), Subject: 'x'.repeat(MAX_SUBJECT_CHARS + 1) })).toThrow(
      SnsRequestError,
    );
  });
});
