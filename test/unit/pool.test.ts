import { describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '../../src/copy/pool';

/** A promise with its resolve and reject, so a test decides when each call finishes. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapWithConcurrency', () => {
  it('returns the results in the order of the items, whatever order the calls finish in', async () => {
    // Prepare
    const items = [5, 1, 4, 2, 3];
    const gates = items.map(() => deferred<void>());

    // Act
    const running = mapWithConcurrency(items, 3, async (item, index) => {
      await gates[index]!.promise;
      return item * 10;
    });
    for (const index of [4, 1, 3, 0, 2]) {
      await settle();
      gates[index]!.resolve();
    }
    const results = await running;

    // Assess
    expect(results).toEqual([50, 10, 40, 20, 30]);
  });

  it('never has more calls in flight than the limit, and uses all of it', async () => {
    // Prepare
    const items = Array.from({ length: 20 }, (_, index) => index);
    let inFlight = 0;
    let maxInFlight = 0;

    // Act
    const results = await mapWithConcurrency(items, 4, async (item) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Different numbers of turns, so that calls finish out of order.
      for (let turn = 0; turn < (item % 3) + 1; turn++) await settle();
      inFlight -= 1;
      return item;
    });

    // Assess
    expect(results).toEqual(items);
    expect(maxInFlight).toBe(4);
  });

  it('starts no new call after the first failure, and rejects with it once the calls in flight have settled', async () => {
    // Prepare
    const items = Array.from({ length: 10 }, (_, index) => index);
    const started: number[] = [];
    const finished: number[] = [];
    const gates = items.map(() => deferred<void>());
    const first = new Error('item 1 failed');
    let outcome: unknown;

    // Act
    const running = mapWithConcurrency(items, 3, async (item) => {
      started.push(item);
      try {
        await gates[item]!.promise;
        return item;
      } finally {
        finished.push(item);
      }
    }).catch((error: unknown) => {
      outcome = error;
    });
    await settle();
    gates[1]!.reject(first);
    await settle();
    const settledBeforeInFlightFinished = outcome;
    // A later failure of a call already in flight does not replace the first one.
    gates[0]!.reject(new Error('item 0 failed later'));
    gates[2]!.resolve();
    await running;

    // Assess
    expect(started).toEqual([0, 1, 2]);
    expect(settledBeforeInFlightFinished).toBeUndefined();
    expect(finished.sort()).toEqual([0, 1, 2]);
    expect(outcome).toBe(first);
  });

  it('handles no items, and a limit larger than the number of items', async () => {
    // Prepare
    const calls: number[] = [];

    // Act
    const none = await mapWithConcurrency([], 4, async (item: number) => item);
    const few = await mapWithConcurrency([1, 2], 10, async (item) => {
      calls.push(item);
      return item + 1;
    });

    // Assess
    expect(none).toEqual([]);
    expect(few).toEqual([2, 3]);
    expect(calls).toEqual([1, 2]);
  });

  it('refuses a limit that is not a positive integer', async () => {
    // Prepare
    const fn = async (item: number) => item;

    // Act
    const outcomes = await Promise.allSettled(
      [0, -1, 1.5, Number.NaN].map((limit) => mapWithConcurrency([1], limit, fn)),
    );

    // Assess
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    }
  });

  it('treats a call that throws synchronously as a failure', async () => {
    // Prepare
    const boom = new Error('synchronous');
    const started: number[] = [];

    // Act
    const outcome = mapWithConcurrency([1, 2, 3], 1, (item) => {
      started.push(item);
      if (item === 1) throw boom;
      return Promise.resolve(item);
    });

    // Assess
    await expect(outcome).rejects.toBe(boom);
    expect(started).toEqual([1]);
  });
});
