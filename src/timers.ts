import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * The clock and timers of code that must keep within a time limit (a Lambda timeout, a retry budget). Production
 * code uses `systemTimers`; local mode may pass timers that run faster than the wall clock, so that minutes of a
 * stalled service take seconds, with every limit keeping its proportion.
 */
export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A signal that aborts after `ms`, for request timeouts. */
  timeoutSignal(ms: number): AbortSignal;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  sleep: async (ms) => {
    await sleepFor(Math.max(0, ms));
  },
  timeoutSignal: (ms) => AbortSignal.timeout(Math.max(0, Math.ceil(ms))),
};

/**
 * Timers on which time passes `factor` times as fast as on the wall clock (60: a simulated minute takes a real
 * second). `now()` starts at the real time; every wait and timeout is shortened in proportion, so limits keep their
 * ratios. Local mode uses them to play minutes of a stalled service in seconds.
 */
export function scaledTimers(factor: number): Timers {
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new RangeError(`The time scale must be a positive number, not ${factor}`);
  if (factor === 1) return systemTimers;
  const origin = Date.now();
  const realStart = performance.now();
  const real = (ms: number) => Math.ceil(Math.max(0, ms) / factor);
  return {
    now: () => origin + (performance.now() - realStart) * factor,
    sleep: async (ms) => {
      await sleepFor(real(ms));
    },
    timeoutSignal: (ms) => AbortSignal.timeout(real(ms)),
  };
}
