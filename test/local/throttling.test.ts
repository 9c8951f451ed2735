import { describe, expect, it } from 'vitest';
import { throttleSchedule } from '../../lib/retry-policies';
import { dropFlight, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * Lambda throttling (an account whose concurrency is used up) is waited out, not failed: the state machines retry
 * `Lambda.TooManyRequestsException` on a schedule of their own, longer than that of other transient errors.
 */

const start = localPipelinesPerTest();

describe('Lambda throttling', () => {
  it('is waited out: with half the Lambda invocations throttled, and each copy throttled 7 times, every flight completes once', async () => {
    // Prepare: every task's odd attempts are throttled (half of all invocations), except "Copy chunk", whose first
    // seven are: more than the five retries of other transient errors, fewer than the throttling schedule allows.
    const throttled: string[] = [];
    const passed: string[] = [];
    const pipeline = await start({
      // Long enough that the manifest flight's manifest, written right after its photos, comes within it under load.
      quietPeriodSeconds: 3,
      simulatorSettings: { processingSeconds: 0.3 },
      config: { photosPerChunk: 2 },
      throttleTask: (_execution, state, attempt) => {
        const throttle = state === 'Copy chunk' ? attempt <= 7 : attempt % 2 === 1;
        (throttle ? throttled : passed).push(state);
        return throttle;
      },
    });

    // Act: one flight closed by its manifest, one by the quiet period (the batch waiter's "Check batch" task)
    await dropFlight(pipeline.s3, pipeline.dropBucket, 'tower-busy/flight-manifest/', photos(6), {
      inspection: { name: 'Busy day' },
    });
    await dropFlight(pipeline.s3, pipeline.dropBucket, 'tower-busy/flight-quiet/', photos(4));
    await pipeline.settle();

    // Assess
    expect(throttleSchedule().maxAttempts).toBeGreaterThan(7);
    expect(pipeline.notifications.map((message) => [message.batch.prefix, message.type]).sort()).toEqual([
      ['tower-busy/flight-manifest/', 'inspection.completed'],
      ['tower-busy/flight-quiet/', 'inspection.completed'],
    ]);
    expect(
      pipeline
        .simulator!.holdings()
        .inspections.map((inspection) => [inspection.images, inspection.processingStarted])
        .sort(),
    ).toEqual([
      [4, true],
      [6, true],
    ]);
    const others = (states: string[]) => states.filter((state) => state !== 'Copy chunk');
    expect(others(throttled).length).toBe(others(passed).length);
    expect(new Set(others(throttled))).toEqual(
      new Set([
        'Check batch',
        'Prepare inspection',
        'Register photos',
        'Start processing',
        'Check processing status',
        'Notify completed',
      ]),
    );
    // Five chunks of two photos, each throttled seven times, then copied once.
    expect(throttled.filter((state) => state === 'Copy chunk')).toHaveLength(5 * 7);
    expect(passed.filter((state) => state === 'Copy chunk')).toHaveLength(5);
  }, 120_000);
});
