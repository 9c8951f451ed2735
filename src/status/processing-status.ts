import { z } from 'zod';

/**
 * The "Wait for processing" loop of the workflow (DESIGN.md, Workflow step 5): which inspection statuses end the
 * loop, how long to wait before the next poll, and when to give up.
 *
 * The status list of Pix4Dinspect is not public, so the classes are configuration (`parseStatusClasses` reads them
 * from an environment variable): success by id or exact name, failure by a name pattern, anything else in progress.
 *
 * With the defaults (60 s x 1.5, at most 15 min) the waits are 60, 90, 135, 203, 304, 456, 683, then 900 s:
 * - a processing of 6 h takes `pollsWithin(6 * 3600)` = 29 polls;
 * - a processing that reaches the default 48 h deadline takes `pollsWithin(48 * 3600)` = 197 polls. At about ten
 *   history events per poll (Wait, Task with its Lambda, Choice) that is some 2,000 events, far below the 25,000
 *   of a Standard execution.
 */

export type ProcessingOutcome = 'completed' | 'failed' | 'in_progress';
export type PollOutcome = ProcessingOutcome | 'timed_out';

export interface ProcessingStatus {
  readonly id: number;
  readonly name: string;
}

export interface StatusClasses {
  /** Status ids that mean processing completed. */
  readonly successIds: readonly number[];
  /** Status names that mean processing completed (exact, case-insensitive). */
  readonly successNames: readonly string[];
  /** Case-insensitive regular expression source: a status name it matches is a failure (unless a success). */
  readonly failurePattern: string;
}

export const DEFAULT_STATUS_CLASSES: StatusClasses = Object.freeze({
  successIds: Object.freeze([7]),
  successNames: Object.freeze(['Processing completed']),
  failurePattern: 'fail|error|abort|cancel',
});

const FAILURE_PATTERN_FLAGS = 'i';

const statusClassesSchema = z.strictObject({
  successIds: z.array(z.number().int()).optional(),
  successNames: z.array(z.string().min(1)).optional(),
  failurePattern: z.string().min(1, 'must not be empty (it would match every status)').optional(),
});

/**
 * Status classes from configuration (JSON, e.g. an environment variable), such as
 * `{"successIds":[7],"successNames":["Processing completed"],"failurePattern":"fail|error|abort|cancel"}`.
 * Undefined or blank gives the defaults; a missing field takes its default. Invalid JSON, an unknown field, a field
 * of the wrong type or a failure pattern that is not a regular expression throw an Error that names the problem.
 */
export function parseStatusClasses(json: string | undefined): StatusClasses {
  if (json === undefined || json.trim() === '') return DEFAULT_STATUS_CLASSES;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`Status classes are not valid JSON: ${(error as Error).message}`);
  }
  const result = statusClassesSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    );
    throw new Error(`Invalid status classes: ${problems.join('; ')}`);
  }
  const failurePattern = result.data.failurePattern ?? DEFAULT_STATUS_CLASSES.failurePattern;
  try {
    new RegExp(failurePattern, FAILURE_PATTERN_FLAGS);
  } catch (error) {
    throw new Error(`Invalid status classes: failurePattern is not a regular expression: ${(error as Error).message}`);
  }
  return Object.freeze({
    successIds: Object.freeze([...(result.data.successIds ?? DEFAULT_STATUS_CLASSES.successIds)]),
    successNames: Object.freeze([...(result.data.successNames ?? DEFAULT_STATUS_CLASSES.successNames)]),
    failurePattern,
  });
}

/** Success by id or exact name (case-insensitive); failure when the name matches the pattern; else in progress. */
export function classifyStatus(
  status: ProcessingStatus,
  classes: StatusClasses = DEFAULT_STATUS_CLASSES,
): ProcessingOutcome {
  const name = status.name.toLowerCase();
  if (
    classes.successIds.includes(status.id) ||
    classes.successNames.some((success) => success.toLowerCase() === name)
  ) {
    return 'completed';
  }
  if (new RegExp(classes.failurePattern, FAILURE_PATTERN_FLAGS).test(status.name)) return 'failed';
  return 'in_progress';
}

export interface PollPolicy {
  /** Wait before the first poll, in seconds. */
  readonly initialWaitSeconds: number;
  /** Each wait is the previous one times this. */
  readonly factor: number;
  /** No wait is longer. */
  readonly maxWaitSeconds: number;
}

export const DEFAULT_POLL_POLICY: PollPolicy = Object.freeze({
  initialWaitSeconds: 60,
  factor: 1.5,
  maxWaitSeconds: 900,
});

function checkPolicy(policy: PollPolicy): void {
  const { initialWaitSeconds, factor, maxWaitSeconds } = policy;
  if (!(Number.isFinite(initialWaitSeconds) && initialWaitSeconds > 0)) {
    throw new RangeError(`initialWaitSeconds must be a positive number, got ${initialWaitSeconds}`);
  }
  if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`factor must be at least 1, got ${factor}`);
  if (!(Number.isFinite(maxWaitSeconds) && maxWaitSeconds >= 1)) {
    throw new RangeError(`maxWaitSeconds must be at least 1, got ${maxWaitSeconds}`);
  }
}

function checkPollCount(pollCount: number): void {
  if (!Number.isInteger(pollCount) || pollCount < 0) {
    throw new RangeError(`pollCount must be a non-negative integer, got ${pollCount}`);
  }
}

/**
 * Seconds to wait before poll number `pollCount + 1`, `pollCount` being the polls done so far (0 before the first):
 * initial x factor^pollCount, at most the maximum, rounded to whole seconds, at least 1.
 */
export function waitBeforePoll(pollCount: number, policy: PollPolicy = DEFAULT_POLL_POLICY): number {
  checkPollCount(pollCount);
  checkPolicy(policy);
  const seconds = Math.min(policy.maxWaitSeconds, policy.initialWaitSeconds * policy.factor ** pollCount);
  return Math.max(1, Math.round(seconds));
}

export interface PollDecisionInput {
  /** The status just read. */
  readonly status: ProcessingStatus;
  /** Polls done, this one included. */
  readonly pollCount: number;
  readonly now: Date;
  readonly deadline: Date;
  readonly classes?: StatusClasses;
  readonly policy?: PollPolicy;
}

export interface PollDecision {
  readonly outcome: PollOutcome;
  /** Seconds to wait before the next poll: 0 unless in progress. */
  readonly waitSeconds: number;
  /** Polls done, to carry to the next round. */
  readonly pollCount: number;
}

/**
 * What to do after a poll: completed and failed win over the deadline; still in progress at or past the deadline
 * is timed out; otherwise wait the next growing interval, but never beyond the deadline (at least 1 s), so that the
 * last poll happens at the deadline.
 */
export function decideAfterPoll(input: PollDecisionInput): PollDecision {
  const { pollCount } = input;
  checkPollCount(pollCount);
  const outcome = classifyStatus(input.status, input.classes ?? DEFAULT_STATUS_CLASSES);
  if (outcome !== 'in_progress') return { outcome, waitSeconds: 0, pollCount };
  const millisecondsLeft = input.deadline.getTime() - input.now.getTime();
  if (Number.isNaN(millisecondsLeft)) throw new RangeError('now and deadline must be valid dates');
  if (millisecondsLeft <= 0) return { outcome: 'timed_out', waitSeconds: 0, pollCount };
  const wait = waitBeforePoll(pollCount, input.policy ?? DEFAULT_POLL_POLICY);
  return { outcome, waitSeconds: Math.max(1, Math.min(wait, Math.ceil(millisecondsLeft / 1000))), pollCount };
}

/**
 * How many polls a processing of `durationSeconds` takes: the first poll after which it is seen done (the polls
 * happen after 60, 150, 285... seconds with the defaults). At least 1.
 */
export function pollsWithin(durationSeconds: number, policy: PollPolicy = DEFAULT_POLL_POLICY): number {
  if (!(Number.isFinite(durationSeconds) && durationSeconds >= 0)) {
    throw new RangeError(`durationSeconds must be a finite non-negative number, got ${durationSeconds}`);
  }
  let elapsed = 0;
  let polls = 0;
  do {
    elapsed += waitBeforePoll(polls, policy);
    polls += 1;
  } while (elapsed < durationSeconds);
  return polls;
}
