import { scaledTimers as fasterTimers, type Timers } from '../../src/timers';

/** A request timeout asked of the timers: when (simulated epoch ms) and for how long (simulated ms). */
export interface RequestedTimeout {
  readonly at: number;
  readonly ms: number;
}

export interface ScaledTimers extends Timers {
  readonly factor: number;
  /** Every `timeoutSignal` asked for, in order, so that a test can check each attempt's timeout. */
  readonly timeouts: readonly RequestedTimeout[];
}

/** Local mode's timers running `factor` times faster than the wall clock, with every timeout asked of them recorded. */
export function scaledTimers(factor: number): ScaledTimers {
  const timers = fasterTimers(factor);
  const timeouts: RequestedTimeout[] = [];
  return {
    factor,
    timeouts,
    now: () => timers.now(),
    sleep: (ms) => timers.sleep(ms),
    timeoutSignal: (ms) => {
      timeouts.push({ at: timers.now(), ms });
      return timers.timeoutSignal(ms);
    },
  };
}
