import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import type { WorkflowStarter } from '../../src/ingest/ingest';
import { lambdaContext } from './lambda-context';
import type { LocalMachine, SynthesizedStateMachines } from './synthesized-state-machines';

// aws-local-stepfunctions 3 uses this Node 22 API; Node 20 lacks it.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export type MachineKey = keyof SynthesizedStateMachines;
type StepInvoker = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalExecution {
  readonly machine: MachineKey;
  readonly name: string;
  readonly input: unknown;
  status: 'running' | 'succeeded' | 'failed';
  output?: unknown;
  error?: string;
  /** State transitions so far (states entered, Map iterations included). */
  transitions: number;
  readonly done: Promise<void>;
}

export interface LocalStepFunctionsOptions {
  readonly machines: SynthesizedStateMachines;
  /** The handler of each pipeline step, as Lambda would call it. */
  readonly steps: Readonly<Record<string, StepInvoker>>;
  /** How long every Wait state lasts locally. @default 100 */
  readonly waitMs?: number | Partial<Record<string, number>>;
  /** Pause before a Retry. @default 20 */
  readonly retryMs?: number;
  readonly onStateEntered?: (execution: LocalExecution, state: string, input: unknown) => void;
  readonly onExecutionEnded?: (execution: LocalExecution) => void;
}

class ExecutionAlreadyExistsError extends Error {
  override name = 'StepFunctions.ExecutionAlreadyExistsException';
}

/**
 * Step Functions on one machine: the synthesized definitions run by aws-local-stepfunctions, with each Lambda task
 * calling the step's real handler, execution names unique per state machine as on AWS, and Wait states shortened.
 */
export class LocalStepFunctions implements WorkflowStarter {
  readonly executions: LocalExecution[] = [];
  private readonly names = { inspection: new Set<string>(), waiter: new Set<string>() };

  constructor(private readonly options: LocalStepFunctionsOptions) {}

  async start(machine: MachineKey, name: string, input: object): Promise<'started' | 'already-started'> {
    if (this.names[machine].has(name)) return 'already-started';
    this.names[machine].add(name);
    this.run(machine, name, input);
    return 'started';
  }

  /** Resolves when no execution is running (including those started while waiting). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.executions.filter((execution) => execution.status === 'running');
      if (running.length === 0) return;
      await Promise.all(running.map((execution) => execution.done));
    }
  }

  private run(machine: MachineKey, name: string, input: object): void {
    const local = this.options.machines[machine];
    const stateMachine = new StateMachine(local.definition, { validationOptions: { checkArn: false, checkPaths: false } });
    const execution = { machine, name, input, status: 'running', transitions: 0 } as LocalExecution & { done: Promise<void> };
    const run = stateMachine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: this.taskHandlers(local, name),
        waitTimeOverrides: this.waitOverrides(local),
        retryIntervalOverrides: Object.fromEntries(Object.keys(local.tasks).map((task) => [task, this.options.retryMs ?? 20])),
      },
      context: { Execution: { Name: name, Input: input as never, StartTime: new Date().toISOString() } },
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
    execution.done = run.result.then(
      (output) => {
        execution.status = 'succeeded';
        execution.output = output;
      },
      (error: Error) => {
        execution.status = 'failed';
        execution.error = error.message;
      },
    ).then(async () => {
      await counting;
      this.options.onExecutionEnded?.(execution);
    });
    this.executions.push(execution);
  }

  private taskHandlers(local: LocalMachine, executionName: string) {
    return Object.fromEntries(
      Object.entries(local.tasks).map(([state, target]) => {
        if (target === 'start-execution') {
          return [state, async (input: unknown) => this.startFromTask(input)];
        }
        const invoke = this.options.steps[target];
        if (!invoke) throw new Error(`No local handler for step ${target}`);
        return [state, (input: unknown) => invoke(input, lambdaContext(`inspect-pipeline-${target}`, `${executionName}-${target}-${Date.now()}`)) as Promise<never>];
      }),
    );
  }

  /** The waiter's "Start inspection" task: StartExecution with the name it computed. */
  private async startFromTask(input: unknown): Promise<never> {
    const { Name, Input } = input as { Name: string; Input: unknown };
    const parsed = typeof Input === 'string' ? (JSON.parse(Input) as object) : (Input as object);
    if ((await this.start('inspection', Name, parsed)) === 'already-started') {
      throw new ExecutionAlreadyExistsError(`Execution ${Name} already exists`);
    }
    return { ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:inspection:${Name}`, StartDate: new Date().toISOString() } as never;
  }

  private waitOverrides(local: LocalMachine): Record<string, number> {
    const setting = this.options.waitMs ?? 100;
    return Object.fromEntries(local.waits.map((wait) => [wait, typeof setting === 'number' ? setting : (setting[wait] ?? 100)]));
  }
}
