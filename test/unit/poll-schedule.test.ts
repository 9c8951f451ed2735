import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLL_SCHEDULE,
  MAX_RUN_TRANSITIONS,
  nextWaitSeconds,
  pollBudget,
  simulatePolling,
  TRANSITIONS_PER_POLL,
  windowHalfWidth,
} from '../../src/status/poll-schedule';

const MINUTE = 60;
const HOUR = 3_600;
const DEADLINE = 48 * HOUR;
const DURATIONS = [10 * MINUTE, HOUR, 6 * HOUR, 24 * HOUR];

describe('the poll schedule', () => {
  it('sees a processing that ends when expected within a minute of its end, for 10 min to 24 h', () => {
    // Act
    const runs = DURATIONS.map((seconds) =>
      simulatePolling({ durationSeconds: seconds, expectedSeconds: seconds, deadlineSeconds: DEADLINE }),
    );

    // Assess
    for (const [index, run] of runs.entries()) {
      expect(run.seen).toBe(true);
      expect(run.seenAtSeconds - DURATIONS[index]!).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.intervalSeconds);
    }
    // 6 hours: sparse polls, then every minute through the window of +-30 minutes.
    expect(runs[2]!.polls).toBeLessThanOrEqual(60);
  });

  it('is a minute late at most for an end within the window around the expected one, later by a tenth past it', () => {
    // Prepare
    const expected = 6 * HOUR;
    const half = windowHalfWidth(expected);
    const ends = [-half, -half / 2, 0, half / 2, half - 1].map((offset) => expected + offset);
    const late = expected + 3 * HOUR;

    // Act
    const delayOf = (end: number) =>
      simulatePolling({ durationSeconds: end, expectedSeconds: expected, deadlineSeconds: DEADLINE }).seenAtSeconds -
      end;

    // Assess
    expect(half).toBe(30 * MINUTE);
    for (const end of ends) expect(delayOf(end)).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.intervalSeconds);
    expect(delayOf(late)).toBeLessThanOrEqual(0.1 * (late - expected) + 1);
  });

  it('bounds the delay of a wrong expectation: an hour when too long, a tenth of the overrun when too short', () => {
    // Act
    const tooLong = simulatePolling({ durationSeconds: HOUR, expectedSeconds: 8 * HOUR, deadlineSeconds: DEADLINE });
    const tooShort = simulatePolling({ durationSeconds: 5 * HOUR, expectedSeconds: HOUR, deadlineSeconds: DEADLINE });

    // Assess
    expect(tooLong.seenAtSeconds - HOUR).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.approachMaxWaitSeconds);
    expect(tooShort.seenAtSeconds - 5 * HOUR).toBeLessThanOrEqual(0.1 * 4 * HOUR + 1);
  });

  it('keeps a processing that never ends within the poll budget, its last poll at the deadline', () => {
    // Prepare
    const expectations = [MINUTE, HOUR, 24 * HOUR, DEADLINE];

    // Act
    const runs = expectations.map((expected) =>
      simulatePolling({
        durationSeconds: Number.POSITIVE_INFINITY,
        expectedSeconds: expected,
        deadlineSeconds: DEADLINE,
      }),
    );

    // Assess
    for (const run of runs) {
      expect(run.seen).toBe(false);
      expect(run.seenAtSeconds).toBe(DEADLINE);
      expect(run.polls).toBeLessThanOrEqual(pollBudget(1));
    }
  });

  it('gives the loop what the run transitions leave after the copy chunks, never under 30 polls', () => {
    // Act
    const budgets = [0, 1, 10, 100].map(pollBudget);

    // Assess
    expect(budgets[0]! * TRANSITIONS_PER_POLL).toBeLessThan(MAX_RUN_TRANSITIONS);
    expect(budgets).toEqual([...budgets].sort((a, b) => b - a));
    expect(budgets[1]).toBeGreaterThanOrEqual(100);
    expect(budgets[3]).toBe(30);
  });

  it('waits whole seconds, at least one, never past the deadline, and refuses a bad schedule', () => {
    // Prepare
    const base = { elapsedSeconds: 0, expectedSeconds: HOUR, pollCount: 0, pollBudget: 100 };

    // Act
    const nearDeadline = nextWaitSeconds({ ...base, secondsLeft: 0.2 });
    const first = nextWaitSeconds({ ...base, secondsLeft: DEADLINE });

    // Assess
    expect(nearDeadline).toBe(1);
    expect(Number.isInteger(first)).toBe(true);
    expect(() =>
      nextWaitSeconds({ ...base, secondsLeft: DEADLINE, schedule: { ...DEFAULT_POLL_SCHEDULE, intervalSeconds: 0 } }),
    ).toThrow(/intervalSeconds/);
    expect(() => nextWaitSeconds({ ...base, elapsedSeconds: Number.NaN, secondsLeft: DEADLINE })).toThrow(RangeError);
  });
});
