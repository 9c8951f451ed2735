import { beforeAll, describe, expect, it } from 'vitest';
import { INVOCATION_RESERVE_MS } from '../../functions/shared/step-runtime';
import { TASK_TIMEOUT_MARGIN } from '../../lib/inspection-workflow';
import type { PipelineStep } from '../../lib/pipeline-functions';
import { LocalMachine, SynthesizedStack, synthesizeStack } from '../../local/pipeline/synthesized-stack';
import { TRANSIENT_PIX4D_ERRORS } from '../../src/pix4d/errors';

/**
 * The time limits of the synthesized template fit each other and the code: each task's timeout to its function's,
 * the retries of the steps that may time out, and the status check's retries to a stall of Pix4Dinspect.
 */

interface TaskState {
  readonly TimeoutSeconds?: number;
  readonly Retry?: { ErrorEquals: string[]; MaxAttempts?: number; IntervalSeconds?: number; MaxDelaySeconds?: number }[];
}

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
      const nested = (state as { ItemProcessor?: typeof definition; Iterator?: typeof definition }).ItemProcessor ?? (state as { Iterator?: typeof definition }).Iterator;
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
    const timeouts = tasks.map(({ name, step, state }) => [name, state.TimeoutSeconds! - stack.functions[step].timeoutSeconds]);

    // Assess
    expect(tasks.length).toBeGreaterThanOrEqual(9);
    expect(timeouts).toEqual(tasks.map(({ name }) => [name, TASK_TIMEOUT_MARGIN.toSeconds()]));
  });

  it('retries a timed-out invocation in every step, each being safe to run again', () => {
    // Prepare
    const tasks = [...lambdaTasks(stack.inspection), ...lambdaTasks(stack.waiter)];

    // Act
    const retrying = tasks.filter(({ state }) => retried(state, 'Sandbox.Timedout') && retried(state, 'States.Timeout')).map(({ name }) => name);

    // Assess
    expect(retrying.sort()).toEqual(
      [
        'Check batch',
        'Check processing status',
        'Copy chunk',
        'Notify completed',
        'Notify failed',
        'Notify timed out',
        'Prepare inspection',
        'Register photos',
        'Start processing',
      ].sort(),
    );
  });

  it('retries every transient Pix4D error in every step that calls Pix4Dinspect', () => {
    // Prepare
    const callers = lambdaTasks(stack.inspection).filter(({ step }) => ['prepare', 'copy', 'register', 'start-processing', 'check-status'].includes(step));

    // Act
    const missing = callers.flatMap(({ name, state }) => TRANSIENT_PIX4D_ERRORS.filter((error) => !retried(state, error)).map((error) => `${name}: ${error}`));

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
});
