import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { PIPELINE_STEPS, PipelineStep, STEP_METADATA_KEY } from '../../lib/pipeline-functions';

/** The two state machines of the synthesized stack, with every Task state mapped to what it calls. */
export interface SynthesizedStateMachines {
  readonly inspection: LocalMachine;
  readonly waiter: LocalMachine;
}

export interface LocalMachine {
  readonly definition: StateMachineDefinition;
  /** Task state name -> the pipeline step (Lambda) it invokes, or `start-execution`. */
  readonly tasks: Readonly<Record<string, PipelineStep | 'start-execution'>>;
  /** Names of the Wait states (shortened in local runs). */
  readonly waits: readonly string[];
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }> };

const FAKE = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

/**
 * Synthesizes the real stack (assets not bundled: only the definitions are needed) and returns its state
 * machines, so that local mode runs exactly what `cdk deploy` would deploy.
 */
export function synthesizeStateMachines(context: Record<string, unknown> = {}): SynthesizedStateMachines {
  const { app, stack } = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  const steps = new Map<string, PipelineStep>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const step = resource.Metadata?.[STEP_METADATA_KEY];
    if (resource.Type === 'AWS::Lambda::Function' && PIPELINE_STEPS.includes(step as PipelineStep)) steps.set(logicalId, step as PipelineStep);
  }
  const machines = Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine')
    .map(([logicalId, resource]) => toLocalMachine(logicalId, resource.Properties?.DefinitionString, steps));
  const inspection = machines.find((machine) => Object.values(machine.tasks).includes('prepare'));
  const waiter = machines.find((machine) => Object.values(machine.tasks).includes('check-batch'));
  if (!inspection || !waiter) throw new Error('The synthesized stack lacks the inspection workflow or the batch waiter');
  return { inspection, waiter };
}

function toLocalMachine(logicalId: string, definitionString: unknown, steps: Map<string, PipelineStep>): LocalMachine {
  const definition = JSON.parse(resolve(definitionString, logicalId)) as StateMachineDefinition;
  const tasks: Record<string, PipelineStep | 'start-execution'> = {};
  const waits: string[] = [];
  collect(definition as unknown as { States: Record<string, Record<string, unknown>> }, tasks, waits, steps);
  return { definition, tasks, waits };
}

/** Resolves the intrinsic functions CDK leaves in a definition to fixed, fake values. */
function resolve(value: unknown, context: string): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if (Array.isArray(object['Fn::Join'])) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(part, context)).join(separator);
  }
  if (Array.isArray(object['Fn::GetAtt'])) {
    const [id] = object['Fn::GetAtt'] as [string, string];
    return `arn:aws:lambda:${FAKE.region}:${FAKE.account}:function:${id}`;
  }
  if (typeof object.Ref === 'string') {
    const ref = object.Ref;
    if (ref === 'AWS::Partition') return FAKE.partition;
    if (ref === 'AWS::Region') return FAKE.region;
    if (ref === 'AWS::AccountId') return FAKE.account;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    return `arn:aws:states:${FAKE.region}:${FAKE.account}:stateMachine:${ref}`;
  }
  throw new Error(`Cannot resolve ${JSON.stringify(value)} in the definition of ${context}`);
}

function collect(
  definition: { States: Record<string, Record<string, unknown>> },
  tasks: Record<string, PipelineStep | 'start-execution'>,
  waits: string[],
  steps: Map<string, PipelineStep>,
): void {
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait') waits.push(name);
    if (state.Type === 'Task') {
      const resource = String(state.Resource);
      const functionId = /:function:([^:]+)$/.exec(resource)?.[1];
      const step = functionId ? steps.get(functionId) : undefined;
      if (step) tasks[name] = step;
      else if (resource.endsWith(':states:startExecution')) tasks[name] = 'start-execution';
      else throw new Error(`Task state "${name}" calls ${resource}, which local mode cannot run`);
    }
    const processor = (state.ItemProcessor ?? state.Iterator) as { States: Record<string, Record<string, unknown>> } | undefined;
    if (processor) collect(processor, tasks, waits, steps);
  }
}
