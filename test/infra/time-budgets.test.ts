import { beforeAll, describe, expect, it } from 'vitest';
import { INVOCATION_RESERVE_MS } from '../../functions/shared/step-runtime';
import { TASK_TIMEOUT_MARGIN } from '../../lib/lambda-step';
import type { PipelineStep } from '../../lib/pipeline-functions';
import { type LocalMachine, type SynthesizedStack, synthesizeStack } from '../../local/pipeline/synthesized-stack';
import { AWS_THROTTLING_ERRORS, AWS_TRANSIENT_ERRORS } from '../../src/aws-errors';
import { TRANSIENT_PIX4D_ERRORS } from '../../src/pix4d/errors';

/**
 * The time limits of the synthesized template fit each other and the code: each task's timeout to its function's,
 * the retries of the steps that may time out, and the status check's retries to a stall of Pix4Dinspect.
 */

interface Retrier {
  readonly ErrorEquals: string[];
  readonly MaxAttempts?: number;
  readonly IntervalSeconds?: number;
  readonly MaxDelaySeconds?: number;
  readonly BackoffRate?: number;
  readonly JitterStrategy?: string;
}

interface TaskState {
  readonly TimeoutSeconds?: number;
  readonly Retry?: Retrier[];
  readonly Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

/** The longest a Retry waits in all, as Step Functions computes its waits (jitter only shortens them). */
function longestWait(retrier: Retrier): number {
  let total = 0;
  for (let attempt = 0; attempt < (retrier.MaxAttempts ?? 3); attempt++) {
    total += Math.min(
      (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** attempt,
      retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
    );
  }
  return total;
}

/** Every Task state of a machine (Lambda or not), Map iterations included. */
function allTasks(machine: LocalMachine): { name: string; state: TaskState }[] {
  const found: { name: string; state: TaskState }[] = [];
  const collect = (definition: { States: Record<string, TaskState & { Type?: string; ItemProcessor?: never }> }) => {
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type === 'Task') found.push({ name, state });
      const nested = (state as { ItemProcessor?: typeof definition }).ItemProcessor;
      if (nested) collect(nested);
    }
  };
  collect(machine.definition as never);
  return found;
}

const MINUTE = 60;

let stack: SynthesizedStack;

beforeAll(() => {
  stack = synthesizeStack();
}, 60_000);

/** Every Lambda task of a machine, Map iterations included, with the step it invokes. */
function lambdaTasks(machine: LocalMachine): { name: string; step: PipelineStep; state: TaskState }[] {
  const states: Record<string, TaskState> = {};
  const collect = (definition: { States: Record<string, TaskState & { ItemProcessor?: never; Iterator?: never }> }) => {
    for (const [name, state] of Object.entries(definition.States)) {
      states[name] = state;
      const nested =
        (state as { ItemProcessor?: typeof definition; Iterator?: typeof definition }).ItemProcessor ??
        (state as { Iterator?: typeof definition }).Iterator;
      if (nested) collect(nested);
    }
  };
  collect(machine.definition as never);
  return Object.entries(machine.tasks)
    .filter((entry): entry is [string, PipelineStep] => entry[1] !== 'start-execution')
    .map(([name, step]) => ({ name, step, state: states[name]! }));
}

function retried(state: TaskState, error: string) {
  return state.Retry?.find((retrier) => retrier.ErrorEquals.includes(error));
}

describe('time budgets of the template', () => {
  it("gives every Lambda task a timeout just above its function's, so the function's own timeout fires first", () => {
    // Prepare
    const tasks = [...lambdaTasks(stack.inspection), ...lambdaTasks(stack.waiter)];

    // Act
    const timeouts = tasks.map(({ name, step, state }) => [
      name,
      state.TimeoutSeconds! - stack.functions[step].timeoutSeconds,
    ]);

    // Assess
    expect(tasks.length).toBeGreaterThanOrEqual(9);
    expect(timeouts).toEqual(tasks.map(({ name }) => [name, TASK_TIMEOUT_MARGIN.toSeconds()]));
  });

  it('retries a timed-out invocation in every step, each being safe to run again', () => {
    // Prepare
    const tasks = [...lambdaTasks(stack.inspection), ...lambdaTasks(stack.waiter)];

    // Act
    const retrying = tasks
      .filter(({ state }) => retried(state, 'Sandbox.Timedout') && retried(state, 'States.Timeout'))
      .map(({ name }) => name);

    // Assess
    expect(retrying.sort()).toEqual(
      [
        'Check batch',
        'Check processing status',
        'Copy chunk',
        'Notify completed',
        'Notify failed',
        'Notify late photos',
        'Notify skipped',
        'Notify timed out',
        'Prepare inspection',
        'Register photos',
        'Start processing',
      ].sort(),
    );
  });

  it('retries every transient Pix4D error in every step that calls Pix4Dinspect', () => {
    // Prepare
    const callers = lambdaTasks(stack.inspection).filter(({ step }) =>
      ['prepare', 'copy', 'register', 'start-processing', 'check-status'].includes(step),
    );

    // Act
    const missing = callers.flatMap(({ name, state }) =>
      TRANSIENT_PIX4D_ERRORS.filter((error) => !retried(state, error)).map((error) => `${name}: ${error}`),
    );

    // Assess
    expect(callers).toHaveLength(5);
    expect(missing).toEqual([]);
  });

  it('lets "Check processing status" outlast a 3-minute stall of Pix4Dinspect even if every retry came at once', () => {
    // Prepare: in a stall each attempt runs until its Pix4D calls give up, INVOCATION_RESERVE_MS before its timeout.
    const [check] = lambdaTasks(stack.inspection).filter(({ name }) => name === 'Check processing status');
    const attemptSeconds = stack.functions['check-status'].timeoutSeconds - INVOCATION_RESERVE_MS / 1000;

    // Act
    const retrier = retried(check!.state, 'Pix4dTimeoutError')!;
    const shortestOutlasted = (1 + (retrier.MaxAttempts ?? 3)) * attemptSeconds;

    // Assess
    expect(attemptSeconds).toBeGreaterThan(0);
    expect(shortestOutlasted).toBeGreaterThan(180);
  });

  it('waits out throttling in every task of both machines for up to 30 minutes, with backoff and full jitter', () => {
    // Prepare
    const tasks = [...allTasks(stack.inspection), ...allTasks(stack.waiter)].filter(
      ({ name }) => !name.startsWith('Notify '),
    );

    // Act
    const throttling = tasks.map(({ name, state }) => {
      const retrier = state.Retry?.find((candidate) =>
        candidate.ErrorEquals.includes(
          name === 'Start inspection' ? 'StepFunctions.ThrottlingException' : 'Lambda.TooManyRequestsException',
        ),
      );
      return { name, retrier, first: state.Retry?.[0] === retrier };
    });

    // Assess: the throttling retrier comes first, so that no other retrier's smaller budget takes a throttle.
    expect(tasks).toHaveLength(7);
    for (const { name, retrier, first } of throttling) {
      expect(retrier, name).toBeDefined();
      expect(first, `${name}: throttling retried first`).toBe(true);
      if (name !== 'Start inspection')
        expect(retrier!.ErrorEquals, name).toEqual(expect.arrayContaining(AWS_THROTTLING_ERRORS));
      expect(retrier!.JitterStrategy, name).toBe('FULL');
      expect(longestWait(retrier!), name).toBeGreaterThanOrEqual(30 * MINUTE);
      expect(longestWait(retrier!), name).toBeLessThanOrEqual(35 * MINUTE);
    }
  });

  it('retries the transient AWS errors of every function in every Lambda task', () => {
    // Prepare
    const tasks = [...lambdaTasks(stack.inspection), ...lambdaTasks(stack.waiter)];

    // Act
    const missing = tasks.flatMap(({ name, state }) =>
      AWS_TRANSIENT_ERRORS.filter((error) => !retried(state, error)).map((error) => `${name}: ${error}`),
    );

    // Assess
    expect(missing).toEqual([]);
  });

  it('names no AWS SDK error code in a Retry or Catch: transient AWS errors are classified in the functions, by the SDK', () => {
    // Prepare: codes the SDK classifies as throttling or transient, which a template could be tempted to list.
    const sdkCodes = [
      'SlowDown',
      'InternalError',
      'S3ServiceException',
      'Throttling',
      'ThrottlingException',
      'ThrottledException',
      'Throttled',
      'TimeoutError',
      'RequestTimeout',
      'ServiceUnavailable',
      'InternalServiceError',
    ];
    const tasks = [...allTasks(stack.inspection), ...allTasks(stack.waiter)];

    // Act
    const named = tasks.flatMap(({ name, state }) =>
      [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap((handler) =>
        handler.ErrorEquals.filter((error) => sdkCodes.includes(error)).map((error) => `${name}: ${error}`),
      ),
    );

    // Assess
    expect(named).toEqual([]);
  });

  it('retries publishing the outcome for at least 30 minutes of any trouble but a permanent error, without jitter', () => {
    // Prepare
    const notifies = lambdaTasks(stack.inspection).filter(({ name }) => name.startsWith('Notify '));

    // Act
    const retriers = notifies.map(({ name, state }) => ({
      name,
      retrier: state.Retry?.[0],
      count: state.Retry?.length,
    }));

    // Assess
    expect(retriers).toHaveLength(5);
    for (const { name, retrier, count } of retriers) {
      expect(count, name).toBe(1);
      expect(retrier!.ErrorEquals, name).toEqual(
        expect.arrayContaining([
          ...AWS_THROTTLING_ERRORS,
          ...AWS_TRANSIENT_ERRORS,
          'Lambda.TooManyRequestsException',
          'Lambda.ServiceException',
          'Sandbox.Timedout',
          'States.Timeout',
        ]),
      );
      expect(retrier!.JitterStrategy ?? 'NONE', name).toBe('NONE');
      expect(longestWait(retrier!), name).toBeGreaterThanOrEqual(30 * MINUTE);
    }
  });

  it('copies a chunk again after a failed photo or a short multipart copy, and never after a photo that changed', () => {
    // Prepare
    const [copy] = lambdaTasks(stack.inspection).filter(({ name }) => name === 'Copy chunk');

    // Act
    const retriedErrors = (copy!.state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);

    // Assess
    expect(retriedErrors).toEqual(expect.arrayContaining(['PhotoCopyError', 'CopySizeMismatchError']));
    expect(retriedErrors).not.toContain('PhotoChangedError');
    expect(retriedErrors).not.toContain('States.ALL');
  });

  it('keeps polling when the status cannot be read for a transient reason, and fails the run on any other error', () => {
    // Prepare
    const [check] = lambdaTasks(stack.inspection).filter(({ name }) => name === 'Check processing status');
    const definition = stack.inspection.definition as { States: Record<string, { Type: string; Next?: string }> };

    // Act
    const [transient, other] = check!.state.Catch ?? [];

    // Assess
    expect(transient!.ErrorEquals).toEqual(
      expect.arrayContaining([
        ...AWS_TRANSIENT_ERRORS,
        ...AWS_THROTTLING_ERRORS,
        ...TRANSIENT_PIX4D_ERRORS,
        'Sandbox.Timedout',
      ]),
    );
    expect(transient!.ErrorEquals).not.toContain('States.ALL');
    expect(transient!.ResultPath).not.toBe('$.error');
    expect(definition.States[transient!.Next]).toMatchObject({ Type: 'Pass', Next: 'Wait for processing' });
    expect(other).toMatchObject({ ErrorEquals: ['States.ALL'], ResultPath: '$.error' });
  });
});
