import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import type { IamRequest } from '../../local/iam/aws-actions';
import { LocalLambda } from '../../local/pipeline/local-lambda';
import { LocalStepFunctions, MAX_STATE_PAYLOAD_BYTES } from '../../local/pipeline/local-step-functions';
import type { LocalMachine } from '../../local/pipeline/synthesized-stack';
import { scaledTimers } from '../../src/timers';

/**
 * Step Functions' own rules in local mode: the 256 KiB payload quota on every state (a terminal error no Catch takes),
 * the state machine's role on each Lambda task, and StartExecution's idempotency.
 */

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:Produce';
const MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Test';

/** A machine of one Lambda task "Produce" (caught into "Caught") with `extra` fields on the task. */
function machine(extra: Record<string, unknown> = {}): LocalMachine {
  const definition = {
    StartAt: 'Produce',
    States: {
      Produce: {
        Type: 'Task',
        Resource: FUNCTION_ARN,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        End: true,
        ...extra,
      },
      Caught: { Type: 'Pass', End: true },
    },
  } as unknown as StateMachineDefinition;
  return {
    logicalId: 'TestMachine',
    arn: MACHINE_ARN,
    roleArn: 'arn:aws:iam::123456789012:role/Test',
    definition,
    tasks: { Produce: 'prepare' },
    waits: [],
  };
}

function stepFunctions(definition: LocalMachine, handler: () => Promise<unknown>, allowed = true) {
  const requests: IamRequest[] = [];
  const lambda = new LocalLambda({ name: 'Produce', timeoutSeconds: 60, memorySize: 128 }, handler, scaledTimers(1));
  const local = new LocalStepFunctions({
    machines: { inspection: definition, waiter: { ...definition, arn: `${MACHINE_ARN}Waiter` } },
    functions: { prepare: { arn: FUNCTION_ARN, lambda } },
    authorize: async (_caller, request) => {
      requests.push(request);
      return {
        allowed,
        message: allowed
          ? 'allowed'
          : `User: role is not authorized to perform: ${request.action} on resource: "${request.resource}"`,
      };
    },
  });
  return { local, requests };
}

async function runOnce(local: LocalStepFunctions, input: object = {}) {
  await local.start(MACHINE_ARN, 'run-1', JSON.stringify(input));
  await local.idle();
  return local.executions[0]!;
}

describe('LocalStepFunctions', () => {
  it('fails the execution with States.DataLimitExceeded when a task result is above the quota, past its Catch', async () => {
    // Prepare
    const { local } = stepFunctions(machine(), async () => ({ blob: 'x'.repeat(MAX_STATE_PAYLOAD_BYTES) }));

    // Act
    const execution = await runOnce(local);

    // Assess
    expect(execution.status).toBe('failed');
    expect(execution.error).toMatch(
      /^States\.DataLimitExceeded: The result of the function of state "Produce" has \d+ bytes/,
    );
  });

  it("fails the execution with States.DataLimitExceeded when the function's answer is above Lambda's 6 MB", async () => {
    // Prepare
    const { local } = stepFunctions(machine(), async () => 'x'.repeat(7 * 1024 * 1024));

    // Act
    const execution = await runOnce(local);

    // Assess
    expect(execution.error).toBe(
      'States.DataLimitExceeded: The result of the function of state "Produce" is above Lambda\'s 6 MB',
    );
  });

  it("fails the execution when a state's output passes the quota although its input and result each fit", async () => {
    // Prepare: 150 KiB of input plus 150 KiB of result, kept side by side by ResultPath.
    const { local } = stepFunctions(machine({ ResultPath: '$.result' }), async () => 'y'.repeat(150 * 1024));

    // Act
    const execution = await runOnce(local, { input: 'z'.repeat(150 * 1024) });

    // Assess
    expect(execution.error).toMatch(/^States\.DataLimitExceeded: The output of state "Produce"/);
  });

  it('keeps a state just under the quota', async () => {
    // Prepare
    const { local } = stepFunctions(machine(), async () => 'a'.repeat(MAX_STATE_PAYLOAD_BYTES - 10));

    // Act
    const execution = await runOnce(local);

    // Assess
    expect(execution.status).toBe('succeeded');
  });

  it("fails a task whose function the state machine's role may not invoke as Step Functions does: Lambda.AWSLambdaException", async () => {
    // Prepare
    let invoked = false;
    const { local, requests } = stepFunctions(
      machine(),
      async () => {
        invoked = true;
        return {};
      },
      false,
    );

    // Act
    const execution = await runOnce(local);

    // Assess
    expect(invoked).toBe(false);
    expect(requests).toEqual([{ action: 'lambda:InvokeFunction', resource: FUNCTION_ARN, context: {} }]);
    expect(execution.output).toMatchObject({
      error: {
        Error: 'Lambda.AWSLambdaException',
        Cause: expect.stringContaining(`lambda:InvokeFunction on resource: "${FUNCTION_ARN}"`),
      },
    });
    expect((execution.output as { error: { Cause: string } }).error.Cause).toContain(
      'Status Code: 403; Error Code: AccessDeniedException',
    );
  });

  it('starts one execution per name: the same request again is the same execution, another input is refused', async () => {
    // Prepare
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { local } = stepFunctions(machine(), async () => held);

    // Act
    const first = await local.start(MACHINE_ARN, 'run-1', '{"a":1}');
    const again = await local.start(MACHINE_ARN, 'run-1', '{"a":1}');
    const other = await local.start(MACHINE_ARN, 'run-1', '{"a":2}');
    release();
    await local.idle();
    const afterEnd = await local.start(MACHINE_ARN, 'run-1', '{"a":1}');

    // Assess
    expect([first.outcome, again.outcome, other.outcome, afterEnd.outcome]).toEqual([
      'started',
      'started',
      'already-exists',
      'already-exists',
    ]);
    expect(again.executionArn).toBe(first.executionArn);
    expect(local.executions).toHaveLength(1);
  });
});
