import { z } from 'zod';
import { DEFAULT_POLL_SCHEDULE, nextWaitSeconds, type PollSchedule } from './poll-schedule';

/**
 * The "Wait for processing" loop of the workflow (DESIGN.md, Workflow step 5): which inspection statuses end the
 * loop, how long to wait before the next poll (`poll-schedule.ts`), and when to give up.
 *
 * The status list of Pix4Dinspect is not public, so the classes are configuration (`parseStatusClasses` reads them
 * from an environment variable): success by id or exact name, failure by a name pattern, anything else in progress.
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

export interface PollDecisionInput {
  /** The status just read. */
  readonly status: ProcessingStatus;
  /** Polls done, this one included. */
  readonly pollCount: number;
  readonly now: Date;
  readonly startedAt: Date;
  readonly deadline: Date;
  /** Seconds from the start that processing is expected to take. */
  readonly expectedSeconds: number;
  readonly pollBudget: number;
  readonly classes?: StatusClasses;
  readonly schedule?: PollSchedule;
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
 * is timed out; otherwise wait as the schedule says, never beyond the deadline, so that the last poll happens at it.
 */
export function decideAfterPoll(input: PollDecisionInput): PollDecision {
  const { pollCount } = input;
  if (!Number.isInteger(pollCount) || pollCount < 0) {
    throw new RangeError(`pollCount must be a non-negative integer, got ${pollCount}`);
  }
  const outcome = classifyStatus(input.status, input.classes ?? DEFAULT_STATUS_CLASSES);
  if (outcome !== 'in_progress') return { outcome, waitSeconds: 0, pollCount };
  const millisecondsLeft = input.deadline.getTime() - input.now.getTime();
  const elapsedMs = input.now.getTime() - input.startedAt.getTime();
  if (Number.isNaN(millisecondsLeft) || Number.isNaN(elapsedMs)) {
    throw new RangeError('now, startedAt and deadline must be valid dates');
  }
  if (millisecondsLeft <= 0) return { outcome: 'timed_out', waitSeconds: 0, pollCount };
  const waitSeconds = nextWaitSeconds({
    elapsedSeconds: elapsedMs / 1000,
    expectedSeconds: input.expectedSeconds,
    secondsLeft: millisecondsLeft / 1000,
    pollCount,
    pollBudget: input.pollBudget,
    schedule: input.schedule ?? DEFAULT_POLL_SCHEDULE,
  });
  return { outcome, waitSeconds, pollCount };
}
