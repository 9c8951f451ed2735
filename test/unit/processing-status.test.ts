import { describe, expect, it } from 'vitest';
import {
  classifyStatus,
  DEFAULT_POLL_POLICY,
  DEFAULT_STATUS_CLASSES,
  decideAfterPoll,
  parseStatusClasses,
  pollsWithin,
  waitBeforePoll,
} from '../../src/status/processing-status';

const HOUR = 3_600;

describe('classifyStatus', () => {
  it('knows success by id 7 or the exact name, failures by name, and treats anything else as in progress', () => {
    // Prepare
    const statuses = [
      { id: 7, name: 'Processing completed' },
      { id: 99, name: 'PROCESSING COMPLETED' },
      { id: 7, name: 'Renamed by the vendor' },
      { id: 12, name: 'Processing failed' },
      { id: 13, name: 'Error' },
      { id: 14, name: 'Aborted' },
      { id: 15, name: 'Cancelled by user' },
      { id: 4, name: 'Processing' },
      { id: 3, name: 'Uploading' },
      { id: 8, name: 'Processing completed with warnings' },
    ];

    // Act
    const outcomes = statuses.map((status) => classifyStatus(status, DEFAULT_STATUS_CLASSES));

    // Assess
    expect(outcomes).toEqual([
      'completed',
      'completed',
      'completed',
      'failed',
      'failed',
      'failed',
      'failed',
      'in_progress',
      'in_progress',
      'in_progress',
    ]);
  });

  it('follows custom classes, where success wins over a failure-looking name', () => {
    // Prepare
    const classes = parseStatusClasses(
      '{"successIds":[42],"successNames":["Done, no errors"],"failurePattern":"^rejected$|error"}',
    );

    // Act
    const outcomes = [
      classifyStatus({ id: 42, name: 'anything' }, classes),
      classifyStatus({ id: 1, name: 'done, NO ERRORS' }, classes),
      classifyStatus({ id: 7, name: 'Processing completed' }, classes),
      classifyStatus({ id: 2, name: 'REJECTED' }, classes),
      classifyStatus({ id: 3, name: 'not rejected yet' }, classes),
      classifyStatus({ id: 4, name: 'Processing failed' }, classes),
    ];

    // Assess
    expect(outcomes).toEqual(['completed', 'completed', 'in_progress', 'failed', 'in_progress', 'in_progress']);
  });
});

describe('parseStatusClasses', () => {
  it('gives the defaults when unset, and takes the default of each missing field', () => {
    // Prepare
    const partial = '{"successIds":[7,9]}';

    // Act
    const unset = parseStatusClasses(undefined);
    const blank = parseStatusClasses('  ');
    const parsed = parseStatusClasses(partial);

    // Assess
    expect(unset).toEqual({
      successIds: [7],
      successNames: ['Processing completed'],
      failurePattern: 'fail|error|abort|cancel',
    });
    expect(blank).toEqual(unset);
    expect(parsed).toEqual({ ...unset, successIds: [7, 9] });
  });

  it('names the problem of invalid configuration', () => {
    // Prepare
    const cases: [string, RegExp][] = [
      ['{"successIds":[7]', /not valid JSON/],
      ['{"failurePattern":"fail(|error"}', /failurePattern is not a regular expression/],
      ['{"failurePattern":""}', /failurePattern: must not be empty/],
      ['{"successIds":"7"}', /successIds/],
      ['{"successIds":[7.5]}', /successIds\.0/],
      ['{"successNames":[7]}', /successNames\.0/],
      ['{"successID":[7]}', /successID/],
      ['[7]', /Invalid status classes/],
    ];

    // Act
    const messages = cases.map(([json]) => {
      try {
        parseStatusClasses(json);
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    });

    // Assess
    for (const [index, message] of messages.entries()) expect(message).toMatch(cases[index]![1]);
  });
});

describe('waitBeforePoll', () => {
  it('waits 60, 90, 135, 203... seconds, capped at 15 minutes', () => {
    // Prepare
    const pollCounts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 1_000];

    // Act
    const waits = pollCounts.map((pollCount) => waitBeforePoll(pollCount, DEFAULT_POLL_POLICY));

    // Assess
    expect(waits).toEqual([60, 90, 135, 203, 304, 456, 683, 900, 900, 900]);
  });

  it('waits whole seconds, at least one, and refuses a bad poll count or policy', () => {
    // Prepare
    const tiny = { initialWaitSeconds: 0.2, factor: 2, maxWaitSeconds: 10 };

    // Act
    const waits = [0, 1, 2, 3, 10].map((pollCount) => waitBeforePoll(pollCount, tiny));

    // Assess
    expect(waits).toEqual([1, 1, 1, 2, 10]);
    expect(() => waitBeforePoll(-1, DEFAULT_POLL_POLICY)).toThrow(RangeError);
    expect(() => waitBeforePoll(1.5, DEFAULT_POLL_POLICY)).toThrow(RangeError);
    expect(() => waitBeforePoll(0, { ...DEFAULT_POLL_POLICY, factor: 0.5 })).toThrow(/factor/);
  });
});

describe('decideAfterPoll', () => {
  const deadline = new Date('2026-11-30T10:00:00Z');
  const base = { classes: DEFAULT_STATUS_CLASSES, policy: DEFAULT_POLL_POLICY, deadline };
  const processing = { id: 4, name: 'Processing' };

  it('waits the next growing interval while in progress and far from the deadline', () => {
    // Prepare
    const now = new Date('2026-11-28T10:00:00Z');

    // Act
    const afterFirst = decideAfterPoll({ ...base, status: processing, pollCount: 1, now });
    const afterThird = decideAfterPoll({ ...base, status: processing, pollCount: 3, now });

    // Assess
    expect(afterFirst).toEqual({ outcome: 'in_progress', waitSeconds: 90, pollCount: 1 });
    expect(afterThird).toEqual({ outcome: 'in_progress', waitSeconds: 203, pollCount: 3 });
  });

  it('never waits past the deadline, at least one second, and times out at the deadline', () => {
    // Prepare
    const at = (secondsBefore: number): Date => new Date(deadline.getTime() - secondsBefore * 1000);

    // Act
    const decisions = [
      decideAfterPoll({ ...base, status: processing, pollCount: 20, now: at(100) }),
      decideAfterPoll({ ...base, status: processing, pollCount: 20, now: at(0.3) }),
      decideAfterPoll({ ...base, status: processing, pollCount: 20, now: at(0) }),
      decideAfterPoll({ ...base, status: processing, pollCount: 20, now: at(-5) }),
    ];

    // Assess
    expect(decisions).toEqual([
      { outcome: 'in_progress', waitSeconds: 100, pollCount: 20 },
      { outcome: 'in_progress', waitSeconds: 1, pollCount: 20 },
      { outcome: 'timed_out', waitSeconds: 0, pollCount: 20 },
      { outcome: 'timed_out', waitSeconds: 0, pollCount: 20 },
    ]);
  });

  it('reports completed and failed even past the deadline', () => {
    // Prepare
    const late = new Date(deadline.getTime() + 60_000);

    // Act
    const completed = decideAfterPoll({
      ...base,
      status: { id: 7, name: 'Processing completed' },
      pollCount: 9,
      now: late,
    });
    const failed = decideAfterPoll({ ...base, status: { id: 12, name: 'Processing failed' }, pollCount: 9, now: late });

    // Assess
    expect(completed).toEqual({ outcome: 'completed', waitSeconds: 0, pollCount: 9 });
    expect(failed).toEqual({ outcome: 'failed', waitSeconds: 0, pollCount: 9 });
  });

  it('makes the last poll of a processing that never ends exactly at a 48 h deadline', () => {
    // Prepare
    const start = new Date('2026-11-28T10:00:00Z');
    const end = new Date(start.getTime() + 48 * HOUR * 1000);
    let now = new Date(start.getTime() + waitBeforePoll(0, DEFAULT_POLL_POLICY) * 1000);
    let pollCount = 0;
    let decision = { outcome: 'in_progress', waitSeconds: 0, pollCount: 0 };

    // Act
    while (decision.outcome === 'in_progress') {
      pollCount += 1;
      decision = decideAfterPoll({ ...base, deadline: end, status: processing, pollCount, now });
      now = new Date(now.getTime() + decision.waitSeconds * 1000);
    }

    // Assess
    expect(decision.outcome).toBe('timed_out');
    expect(now.getTime()).toBe(end.getTime());
    expect(pollCount).toBe(pollsWithin(48 * HOUR, DEFAULT_POLL_POLICY));
  });
});

describe('pollsWithin', () => {
  it('needs at most 30 polls for 6 hours and 197 for the 48-hour deadline with the defaults', () => {
    // Prepare
    const durations = [0, 60, 61, 6 * HOUR, 48 * HOUR];

    // Act
    const polls = durations.map((seconds) => pollsWithin(seconds, DEFAULT_POLL_POLICY));

    // Assess
    expect(polls[3]).toBeLessThanOrEqual(30);
    expect(polls).toEqual([1, 1, 2, 29, 197]);
    expect(() => pollsWithin(Number.POSITIVE_INFINITY, DEFAULT_POLL_POLICY)).toThrow(RangeError);
  });
});
