import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { PipelineStep } from '../../lib/pipeline-functions';
import type { LocalExecutions } from '../aws/local-aws-services';
import type { IamRequest } from '../iam/aws-actions';
import type { Caller, Decision } from '../iam/iam-authorizer';
import type { LocalLambda } from './local-lambda';
import type { LocalMachine } from './synthesized-stack';

/** Step Functions' payload quota: a state's input and output, and a task's result, in UTF-8 bytes. */
export const MAX_STATE_PAYLOAD_BYTES = 262_144;

export type MachineKey = 'inspection' | 'waiter';

export interface LocalExecution {
  readonly machine: MachineKey;
  readonly name: string;
  readonly arn: string;
  readonly input: unknown;
  readonly startDate: Date;
  status: 'running' | 'succeeded' | 'failed';
  output?: unknown;
  /** `<error name>: <cause>` of a failed execution. */
  error?: string;
  /** State transitions so far (states entered, Map iterations included). */
  transitions: number;
  readonly done: Promise<void>;
}

export interface LocalStepFunctionsOptions {
  readonly machines: Readonly<Record<MachineKey, LocalMachine>>;
  /** The function behind each pipeline step the machines invoke, as Lambda runs it. */
  readonly functions: Readonly<Partial<Record<PipelineStep, { readonly arn: string; readonly lambda: LocalLambda }>>>;
  /** Authorizes what a state machine's role does (invoke a function, start an execution). @default everything */
  readonly authorize?: (caller: Caller, request: IamRequest) => Promise<Decision>;
  /** How long every Wait state lasts locally. @default 100 */
  readonly waitMs?: number | Partial<Record<string, number>>;
  /** Pause before a Retry. @default 20 */
  readonly retryMs?: number;
  /**
   * Faults after the fact: when this answers true for a Lambda task, the function runs to the end, then the task
   * fails with `Lambda.ServiceException`, as when Lambda loses an answer, so that the state's Retry runs the step
   * again after it took effect. @default never
   */
  readonly loseResult?: (execution: LocalExecution, state: string) => boolean;
  /**
   * Lambda throttling: when this answers true, a Lambda task's invocation is refused with
   * `Lambda.TooManyRequestsException` before the function runs, as when the account's concurrency is used up.
   * `attempt` counts this execution's invocations of the state with the same input, from 1. @default never
   */
  readonly throttle?: (execution: LocalExecution, state: string, attempt: number) => boolean;
  readonly onExecutionStarted?: (execution: LocalExecution) => void;
  readonly onStateEntered?: (execution: LocalExecution, state: string, input: unknown) => void;
  readonly onExecutionEnded?: (execution: LocalExecution) => void;
}

/** A state's input or output above the payload quota: terminal, as on AWS (no Retry or Catch takes it). */
class StatesDataLimitExceededError extends Error {
  override name = 'States.DataLimitExceeded';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** An error of a service integration, named as Step Functions names it (`Lambda.AWSLambdaException`...). */
class IntegrationError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * Step Functions on one machine: the synthesized definitions run by aws-local-stepfunctions, each Lambda task calling
 * the step's function as Lambda would run it, with the state machine's role authorizing the invocation, execution
 * names unique per state machine with StartExecution's idempotency rule, the payload quota on every state's input
 * and output, and Wait states shortened.
 */
export class LocalStepFunctions implements LocalExecutions {
  readonly executions: LocalExecution[] = [];
  private readonly byName = new Map<string, LocalExecution>();

  constructor(private readonly options: LocalStepFunctionsOptions) {}

  /** StartExecution: a name used before answers `already-exists`, unless that execution runs with the same input. */
  async start(stateMachineArn: string, name: string, input: string) {
    const machine = (Object.keys(this.options.machines) as MachineKey[]).find(
      (key) => this.options.machines[key].arn === stateMachineArn,
    );
    const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (!machine) return { outcome: 'no-such-machine' as const, executionArn: arn, startDate: new Date() };
    const earlier = this.byName.get(arn);
    if (earlier) {
      const same = earlier.status === 'running' && JSON.stringify(earlier.input) === JSON.stringify(JSON.parse(input));
      return {
        outcome: same ? ('started' as const) : ('already-exists' as const),
        executionArn: arn,
        startDate: earlier.startDate,
      };
    }
    const execution = this.run(machine, name, arn, JSON.parse(input) as object);
    return { outcome: 'started' as const, executionArn: arn, startDate: execution.startDate };
  }

  /** Resolves when no execution is running (including those started while waiting). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.executions.filter((execution) => execution.status === 'running');
      if (running.length === 0) return;
      await Promise.all(running.map((execution) => execution.done));
    }
  }

  private run(machine: MachineKey, name: string, arn: string, input: object): LocalExecution {
    const local = this.options.machines[machine];
    const stateMachine = new StateMachine(local.definition, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    const execution = {
      machine,
      name,
      arn,
      input,
      startDate: new Date(),
      status: 'running',
      transitions: 0,
    } as LocalExecution & { done: Promise<void> };
    const run = stateMachine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: this.taskHandlers(machine, execution),
        waitTimeOverrides: this.waitOverrides(local),
        retryIntervalOverrides: Object.fromEntries(
          Object.keys(local.tasks).map((task) => [task, this.options.retryMs ?? 20]),
        ),
        checkStatePayload: (state, stage, payload) => checkPayload(`The ${stage} of state "${state}"`, payload),
      },
      context: {
        Execution: { Id: arn, Name: name, Input: input as never, StartTime: execution.startDate.toISOString() },
      },
    });
    const counting = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          execution.transitions += 1;
          const { state } = event as { state: { name: string; input: unknown } };
          this.options.onStateEntered?.(execution, state.name, state.input);
        }
      }
    })().catch(() => undefined);
    execution.done = run.result
      .then(
        (output) => {
          execution.status = 'succeeded';
          execution.output = output;
        },
        (error: Error & { cause?: unknown }) => {
          execution.status = 'failed';
          const cause = error.cause instanceof Error ? error.cause : error;
          execution.error = `${cause.name}: ${cause.message}`;
        },
      )
      .then(async () => {
        await counting;
        this.options.onExecutionEnded?.(execution);
      });
    this.executions.push(execution);
    this.byName.set(arn, execution);
    this.options.onExecutionStarted?.(execution);
    return execution;
  }

  private taskHandlers(machine: MachineKey, execution: LocalExecution) {
    const local = this.options.machines[machine];
    const caller: Caller = { roleArn: local.roleArn, sessionName: randomUUID().replace(/-/g, '') };
    const attempts = new Map<string, number>();
    const attemptOf = (state: string, input: unknown) => {
      const key = `${state}\u0000${JSON.stringify(input)}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      return attempt;
    };
    return Object.fromEntries(
      Object.entries(local.tasks).map(([state, target]) => {
        if (target === 'start-execution') return [state, async (input: unknown) => this.startFromTask(caller, input)];
        const fn = this.options.functions[target];
        if (!fn) throw new Error(`State "${state}" invokes the ${target} function, which local mode was not given`);
        return [
          state,
          async (input: unknown) => {
            await this.authorize(
              caller,
              { action: 'lambda:InvokeFunction', resource: fn.arn, context: {} },
              'Lambda.AWSLambdaException',
              'AWSLambda',
            );
            if (this.options.throttle?.(execution, state, attemptOf(state, input))) {
              throw new IntegrationError(
                'Lambda.TooManyRequestsException',
                `Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: ${randomUUID()}; Proxy: null)`,
              );
            }
            const result = await fn.lambda.invoke(input).catch((error: Error) => {
              // Above Lambda's 6 MB the result is far above the state quota too: Step Functions fails the execution.
              if (error.name === 'Function.ResponseSizeTooLarge')
                throw new StatesDataLimitExceededError(
                  `The result of the function of state "${state}" is above Lambda's 6 MB`,
                );
              throw error;
            });
            checkPayload(`The result of the function of state "${state}"`, result);
            if (this.options.loseResult?.(execution, state)) {
              throw new IntegrationError(
                'Lambda.ServiceException',
                `Lambda lost the answer of the function of state "${state}", which ran to the end (simulated)`,
              );
            }
            return result as never;
          },
        ];
      }),
    );
  }

  /** The waiter's "Start inspection" task (states:startExecution): StartExecution with the name it computed. */
  private async startFromTask(caller: Caller, input: unknown): Promise<never> {
    const { StateMachineArn, Name, Input } = input as { StateMachineArn: string; Name: string; Input: unknown };
    await this.authorize(
      caller,
      { action: 'states:StartExecution', resource: StateMachineArn, context: {} },
      'StepFunctions.AccessDeniedException',
      'AWSStepFunctions',
    );
    const started = await this.start(StateMachineArn, Name, typeof Input === 'string' ? Input : JSON.stringify(Input));
    if (started.outcome === 'already-exists') {
      throw new IntegrationError(
        'StepFunctions.ExecutionAlreadyExistsException',
        `Execution Already Exists: '${started.executionArn}'`,
      );
    }
    if (started.outcome === 'no-such-machine') {
      throw new IntegrationError(
        'StepFunctions.StateMachineDoesNotExistException',
        `State Machine Does Not Exist: '${StateMachineArn}'`,
      );
    }
    return { ExecutionArn: started.executionArn, StartDate: started.startDate.toISOString() } as never;
  }

  /** A refusal as the task reports it: the integration's error name and the service's message. */
  private async authorize(caller: Caller, request: IamRequest, errorName: string, service: string): Promise<void> {
    const decision = await this.options.authorize?.(caller, request);
    if (decision && !decision.allowed) {
      throw new IntegrationError(
        errorName,
        `${decision.message} (Service: ${service}; Status Code: 403; Error Code: AccessDeniedException; Request ID: ${randomUUID()}; Proxy: null)`,
      );
    }
  }

  private waitOverrides(local: LocalMachine): Record<string, number> {
    const setting = this.options.waitMs ?? 100;
    return Object.fromEntries(
      local.waits.map((wait) => [wait, typeof setting === 'number' ? setting : (setting[wait] ?? 100)]),
    );
  }
}

function checkPayload(what: string, payload: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(payload ?? null), 'utf8');
  if (bytes > MAX_STATE_PAYLOAD_BYTES) {
    throw new StatesDataLimitExceededError(
      `${what} has ${bytes} bytes, above Step Functions' quota of ${MAX_STATE_PAYLOAD_BYTES} bytes`,
    );
  }
}
