/**
 * When "Wait for processing" looks again (DESIGN.md, Workflow step 5). The schedule aims at the processing's
 * expected end, learnt from past runs (`processing-history.ts`): before it each wait is a quarter of the time left (at
 * most an hour), so that a long processing costs a few polls; within a tenth of the expected time around it (up to
 * 30 minutes either side) the status is read every `intervalSeconds`, so that the notification follows the end
 * within a minute; past it the waits grow with the overrun (a tenth of it, at
 * most `maxWaitSeconds`). A budget of polls, from the state transitions one run may take, bounds the whole loop up
 * to the deadline.
 */

export interface PollSchedule {
  /** How often the status is read around the expected end; the shortest wait. @default 60 */
  readonly intervalSeconds: number;
  /** Longest wait once the expected end has passed. @default 900 */
  readonly maxWaitSeconds: number;
  /** Longest wait before the expected end: a bound on the delay when the expectation is too long. @default 3600 */
  readonly approachMaxWaitSeconds: number;
  /** Processing time per photo expected while the work bucket holds no history. @default 10 */
  readonly defaultSecondsPerPhoto: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = Object.freeze({
  intervalSeconds: 60,
  maxWaitSeconds: 900,
  approachMaxWaitSeconds: 3_600,
  defaultSecondsPerPhoto: 10,
});

/** State transitions one run may take in all (the processing loop's budget is what the other states leave). */
export const MAX_RUN_TRANSITIONS = 400;
/** Transitions of a poll: Wait for processing, Check processing status, Processing done?. */
export const TRANSITIONS_PER_POLL = 3;
/** State transitions outside the poll loop that the budget sets aside. */
const RESERVED = Object.freeze({
  /**
   * Prepare to Start processing and a notification (about 10 when nothing fails), with room for retried steps and
   * status checks that fail and go through "Keep polling".
   */
  transitions: 40,
  /** Each copy chunk: its iteration and its task, with room for a retry. */
  perChunk: 3,
});

/** The schedule's proportions. */
const SHAPE = Object.freeze({
  /** Before the window, each wait is this share of the time left to it: an early end is seen within a third of it. */
  approachShare: 0.25,
  /** The window's half-width, as a share of the expected time, and its most, in seconds. */
  windowShare: 0.1,
  maxWindowHalfSeconds: 30 * 60,
  /** Polls the window leaves to the approach and the overrun. */
  windowReservePolls: 30,
  /** Past the expected end, each wait is this share of the time past it: the delay stays within that share. */
  overrunShare: 0.1,
  /** Polls kept for the time past the expected end, whatever the approach took. */
  overrunPolls: 10,
});

/** Polls one run may make: what `MAX_RUN_TRANSITIONS` leaves after the other states, at least 30. */
export function pollBudget(chunks: number): number {
  const left = MAX_RUN_TRANSITIONS - RESERVED.transitions - RESERVED.perChunk * Math.max(0, chunks);
  return Math.max(30, Math.floor(left / TRANSITIONS_PER_POLL));
}

/**
 * Half the width of the window around the expected end in which the status is read every interval: a tenth of
 * the expected time (processing times of like flights vary by about that), at least one interval, at most 30
 * minutes, and no more than the poll budget leaves after the approach and the overrun.
 */
export function windowHalfWidth(
  expectedSeconds: number,
  schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
  budget: number = pollBudget(1),
): number {
  const step = schedule.intervalSeconds;
  const affordable = step * Math.floor((budget - SHAPE.windowReservePolls) / 2);
  return Math.max(step, Math.min(SHAPE.maxWindowHalfSeconds, affordable, SHAPE.windowShare * expectedSeconds));
}

export interface WaitInput {
  /** Seconds since processing started. */
  readonly elapsedSeconds: number;
  /** Seconds from the start that processing is expected to take. */
  readonly expectedSeconds: number;
  /** Seconds until the deadline. */
  readonly secondsLeft: number;
  /** Polls made so far. */
  readonly pollCount: number;
  readonly pollBudget: number;
  readonly schedule?: PollSchedule;
}

/** Seconds to wait before the next poll: whole, at least 1, never past the deadline. */
export function nextWaitSeconds(input: WaitInput): number {
  const schedule = input.schedule ?? DEFAULT_POLL_SCHEDULE;
  checkSchedule(schedule);
  const { elapsedSeconds: elapsed, expectedSeconds: expected, secondsLeft } = input;
  if (![elapsed, expected, secondsLeft].every(Number.isFinite)) {
    throw new RangeError(
      `elapsed, expected and remaining seconds must be finite (${elapsed}, ${expected}, ${secondsLeft})`,
    );
  }
  const step = schedule.intervalSeconds;
  const half = windowHalfWidth(expected, schedule, input.pollBudget);
  const pollsLeft = Math.max(1, input.pollBudget - input.pollCount);
  let wait: number;
  if (elapsed < expected - half) {
    const untilWindow = expected - half - elapsed;
    const windowPolls = Math.ceil((2 * half) / step) + 1;
    // Polls of the approach are those the window and the overrun do not need.
    const approachPolls = Math.max(1, pollsLeft - windowPolls - SHAPE.overrunPolls);
    const closing =
      untilWindow <= 2 * step
        ? untilWindow
        : Math.min(SHAPE.approachShare * untilWindow, schedule.approachMaxWaitSeconds);
    wait = Math.max(step, closing, Math.ceil(untilWindow / approachPolls));
  } else if (elapsed < expected + half) {
    wait = step;
  } else {
    const backoff = Math.min(schedule.maxWaitSeconds, Math.max(step, SHAPE.overrunShare * (elapsed - expected)));
    wait = Math.max(backoff, budgetedWait(secondsLeft, pollsLeft));
  }
  return Math.max(1, Math.min(Math.round(wait), Math.ceil(secondsLeft)));
}

/**
 * The shortest wait from which waits growing by a tenth each still reach the deadline within `pollsLeft` polls: tiny
 * while the budget is ample, it takes over from the longest wait only when polling every `maxWaitSeconds` to the
 * deadline would spend more polls than are left.
 */
function budgetedWait(secondsLeft: number, pollsLeft: number): number {
  const growth = 1 + SHAPE.overrunShare;
  return Math.ceil((SHAPE.overrunShare * secondsLeft) / (growth ** pollsLeft - 1));
}

function checkSchedule(schedule: PollSchedule): void {
  for (const [name, value] of Object.entries(schedule)) {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
}

export interface SimulatedPolling {
  /** Polls made, the one that saw the end included. */
  readonly polls: number;
  /** Seconds from the start to the poll that saw the end (or to the deadline). */
  readonly seenAtSeconds: number;
  /** False when the deadline came first. */
  readonly seen: boolean;
}

/**
 * What the schedule does for a processing that takes `durationSeconds` when it was expected to take
 * `expectedSeconds`: the polls up to the one that sees it done, as the workflow would make them.
 */
export function simulatePolling(input: {
  readonly durationSeconds: number;
  readonly expectedSeconds: number;
  readonly deadlineSeconds: number;
  readonly chunks?: number;
  readonly schedule?: PollSchedule;
}): SimulatedPolling {
  const budget = pollBudget(input.chunks ?? 1);
  let elapsed = 0;
  let polls = 0;
  while (elapsed < input.deadlineSeconds) {
    elapsed += nextWaitSeconds({
      elapsedSeconds: elapsed,
      expectedSeconds: input.expectedSeconds,
      secondsLeft: input.deadlineSeconds - elapsed,
      pollCount: polls,
      pollBudget: budget,
      ...(input.schedule ? { schedule: input.schedule } : {}),
    });
    polls += 1;
    if (elapsed >= input.durationSeconds) return { polls, seenAtSeconds: elapsed, seen: true };
  }
  return { polls, seenAtSeconds: elapsed, seen: false };
}
