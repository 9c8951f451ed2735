import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL_SCHEDULE, pollBudget } from '../../src/status/poll-schedule';
import {
  classifyStatus,
  DEFAULT_STATUS_CLASSES,
  decideAfterPoll,
  parseStatusClasses,
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

describe('decideAfterPoll', () => {
  const startedAt = new Date('2026-11-28T10:00:00Z');
  const deadline = new Date('2026-11-30T10:00:00Z');
  const base = {
    classes: DEFAULT_STATUS_CLASSES,
    schedule: DEFAULT_POLL_SCHEDULE,
    startedAt,
    deadline,
    expectedSeconds: 2 * HOUR,
    pollBudget: pollBudget(1),
  };
  const processing = { id: 4, name: 'Processing' };
  const sinceStart = (seconds: number): Date => new Date(startedAt.getTime() + seconds * 1000);

  it('waits as the schedule says while in progress: sparsely before the expected end, every minute near it', () => {
    // Act
    const early = decideAfterPoll({ ...base, status: processing, pollCount: 1, now: sinceStart(60) });
    const near = decideAfterPoll({ ...base, status: processing, pollCount: 9, now: sinceStart(2 * HOUR - 300) });

    // Assess
    expect(early.outcome).toBe('in_progress');
    expect(early.waitSeconds).toBeGreaterThan(10 * 60);
    expect(near).toEqual({ outcome: 'in_progress', waitSeconds: 60, pollCount: 9 });
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

  it('refuses a bad poll count or date', () => {
    // Act, Assess
    expect(() => decideAfterPoll({ ...base, status: processing, pollCount: -1, now: sinceStart(60) })).toThrow(
      RangeError,
    );
    expect(() => decideAfterPoll({ ...base, status: processing, pollCount: 1.5, now: sinceStart(60) })).toThrow(
      RangeError,
    );
    expect(() => decideAfterPoll({ ...base, status: processing, pollCount: 1, now: new Date('soon') })).toThrow(
      /valid dates/,
    );
  });
});
