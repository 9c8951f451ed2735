import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { DEFAULT_POLL_SCHEDULE } from '../../src/status/poll-schedule';
import {
  expectedProcessing,
  HISTORY_RUNS,
  PROCESSING_HISTORY_KEY,
  ProcessingHistory,
  type ProcessingSample,
} from '../../src/status/processing-history';

/** The history of processing times in a real (embedded) work bucket, and the expectation drawn from it. */

const WORK_BUCKET = 'work-history';
const DEADLINE = 48 * 3_600;

let embedded: EmbeddedS3;
let s3: S3Client;

beforeAll(async () => {
  embedded = await startEmbeddedS3({ buckets: [WORK_BUCKET] });
  s3 = embedded.client();
});

afterAll(async () => {
  await embedded.close();
});

beforeEach(async () => {
  await s3.send(new DeleteObjectCommand({ Bucket: WORK_BUCKET, Key: PROCESSING_HISTORY_KEY }));
});

const sample = (photos: number, seconds: number, index = 0): ProcessingSample => ({
  photos,
  seconds,
  finishedAt: new Date(Date.UTC(2026, 11, 1, 0, index)).toISOString(),
});

describe('ProcessingHistory', () => {
  it('keeps the last 20 runs, oldest first, and adds concurrent runs without losing one', async () => {
    // Prepare
    const history = new ProcessingHistory(s3, WORK_BUCKET);
    for (let index = 0; index < HISTORY_RUNS + 2; index++) await history.add(sample(100, 1_000 + index, index));

    // Act
    const kept = await history.runs();
    await Promise.all([history.add(sample(10, 1, 90)), history.add(sample(10, 2, 91))]);
    const afterConcurrent = await history.runs();

    // Assess
    expect(kept).toHaveLength(HISTORY_RUNS);
    expect(kept[0]?.seconds).toBe(1_002);
    expect(kept.at(-1)?.seconds).toBe(1_000 + HISTORY_RUNS + 1);
    expect(
      afterConcurrent
        .slice(-2)
        .map((run) => run.seconds)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('reads a missing or damaged history as none, and the next run replaces a damaged one', async () => {
    // Prepare
    const history = new ProcessingHistory(s3, WORK_BUCKET);
    const missing = await history.runs();
    await s3.send(new PutObjectCommand({ Bucket: WORK_BUCKET, Key: PROCESSING_HISTORY_KEY, Body: '{"runs":"many"}' }));

    // Act
    const damaged = await history.runs();
    await history.add(sample(50, 500));

    // Assess
    expect(missing).toEqual([]);
    expect(damaged).toEqual([]);
    expect(await history.runs()).toEqual([sample(50, 500)]);
  });
});

describe('expectedProcessing', () => {
  it('is the photo count times the median seconds per photo of the kept runs', () => {
    // Prepare
    const runs = [sample(100, 900), sample(200, 2_000), sample(50, 600), sample(10, 10_000)];

    // Act
    const expected = expectedProcessing(300, runs, DEADLINE);

    // Assess: rates 9, 10, 12, 1000 -> median 11.
    expect(expected).toEqual({ seconds: 3_300, basedOnRuns: 4 });
  });

  it('takes the default rate without history, and stays between one interval and the deadline', () => {
    // Act
    const fresh = expectedProcessing(1_000, [], DEADLINE);
    const tiny = expectedProcessing(1, [sample(100, 100)], DEADLINE);
    const huge = expectedProcessing(100_000, [sample(1, 100)], DEADLINE);

    // Assess
    expect(fresh).toEqual({ seconds: 1_000 * DEFAULT_POLL_SCHEDULE.defaultSecondsPerPhoto, basedOnRuns: 0 });
    expect(tiny.seconds).toBe(DEFAULT_POLL_SCHEDULE.intervalSeconds);
    expect(huge.seconds).toBe(DEADLINE);
  });
});
