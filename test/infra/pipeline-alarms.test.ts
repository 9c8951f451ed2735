import '../../local/pipeline/promise-with-resolvers';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '../../lib/app';
import type { InspectPipelineStack } from '../../lib/inspect-pipeline-stack';
import { type AlarmDefinition, alarmDefinitions } from '../helpers/alarm-definitions';

/**
 * Which alarms page, read from the synthesized template (bundling skipped), and how an inspection execution ends,
 * run in aws-local-stepfunctions from the synthesized definition: a run refused for the person's input and a
 * timed-out one end Succeeded and page nobody; a system failure pages once.
 */

type Resources = Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: unknown[];
  readonly Catch?: { ErrorEquals: string[]; Next: string }[];
  readonly Error?: string;
}

interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The definition of a state machine resource, its ARNs and pseudo parameters replaced by plausible literals. */
function definitionOf(resources: Resources, logicalId: string): AslMachine {
  const definition = resources[logicalId]?.Properties?.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof definition === 'string') return JSON.parse(definition) as AslMachine;
  const [separator, parts] = definition['Fn::Join'];
  const literal = (part: unknown): string => {
    if (typeof part === 'string') return part;
    const { Ref: ref, 'Fn::GetAtt': getAtt } = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return 'eu-west-1';
    if (ref === 'AWS::AccountId') return '123456789012';
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (getAtt?.[1] === 'Arn' && resources[getAtt[0]]?.Type === 'AWS::Lambda::Function')
      return `arn:aws:lambda:eu-west-1:123456789012:function:${getAtt[0]}`;
    throw new Error(`No literal for ${JSON.stringify(part)} in the definition`);
  };
  return JSON.parse(parts.map(literal).join(separator)) as AslMachine;
}

let stack: InspectPipelineStack;
let alarms: AlarmDefinition[];
let inspection: AslMachine;
let ids: { inspection: string; waiter: string; copy: string; alarmTopic: string };

beforeAll(() => {
  ({ stack } = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } }));
  const template = Template.fromStack(stack);
  alarms = alarmDefinitions(template);
  const { pipeline } = stack;
  ids = {
    inspection: logicalIdOf(pipeline.workflow.stateMachine),
    waiter: logicalIdOf(pipeline.waiter.stateMachine),
    copy: logicalIdOf(pipeline.functions.functions.copy),
    alarmTopic: logicalIdOf(pipeline.alarmTopic),
  };
  inspection = definitionOf((template.toJSON() as { Resources: Resources }).Resources, ids.inspection);
});

/** The alarms that watch a metric of that namespace and name (alone or in an expression). */
function alarmsOn(namespace: string, name: string): AlarmDefinition[] {
  return alarms.filter((alarm) =>
    alarm.metrics.some((metric) => metric.namespace === namespace && metric.name === name),
  );
}

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected one ${what}, found ${items.length}`);
  return items[0]!;
}

const AT_LEAST_ONCE_IN_5_MINUTES = {
  threshold: 1,
  comparison: 'GreaterThanOrEqualToThreshold',
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  treatMissingData: 'notBreaching',
};

describe('PipelineAlarms: what pages', () => {
  it('pages once for a system failure: the larger of system-caused failed runs and failed inspection executions, >= 1 in 5 minutes', () => {
    // Act
    const alarm = only(alarmsOn('InspectPipeline', 'InspectionsFailed'), 'alarm on InspectionsFailed');

    // Assess
    expect(alarm).toMatchObject({ ...AT_LEAST_ONCE_IN_5_MINUTES, alarmActions: [`<${ids.alarmTopic}>`] });
    const [executions, runs] = [...alarm.metrics].sort((a, b) => a.namespace.localeCompare(b.namespace));
    expect(executions).toMatchObject({
      namespace: 'AWS/States',
      name: 'ExecutionsFailed',
      dimensions: { StateMachineArn: `<${ids.inspection}>` },
      statistic: 'Sum',
      periodSeconds: 300,
    });
    expect(runs).toMatchObject({
      namespace: 'InspectPipeline',
      name: 'InspectionsFailed',
      dimensions: { service: 'inspect-pipeline', cause: 'system' },
      statistic: 'Sum',
      periodSeconds: 300,
    });
    expect(alarm.metrics).toHaveLength(2);
    expect(alarm.expression).toBe(`MAX([${runs!.id}, ${executions!.id}])`);
  });

  it("has no other alarm on the inspection workflow's failed executions, so that one failure pages once", () => {
    // Act
    const onInspectionFailures = alarmsOn('AWS/States', 'ExecutionsFailed').filter((alarm) =>
      alarm.metrics.some(
        (metric) => metric.name === 'ExecutionsFailed' && metric.dimensions.StateMachineArn === `<${ids.inspection}>`,
      ),
    );

    // Assess
    expect(onInspectionFailures).toHaveLength(1);
    expect(onInspectionFailures[0]!.expression).toMatch(/^MAX\(/);
  });

  it("raises no alarm on anything a person's input causes: failures with cause input, failure stages, misplaced manifests", () => {
    // Act
    const onInput = alarms.filter((alarm) =>
      alarm.metrics.some(
        (metric) =>
          metric.namespace === 'InspectPipeline' &&
          (metric.dimensions.cause === 'input' ||
            metric.name === 'FailuresByStage' ||
            metric.name === 'ManifestsMisplaced' ||
            (metric.name === 'InspectionsFailed' && metric.dimensions.cause !== 'system')),
      ),
    );

    // Assess
    expect(onInput).toStrictEqual([]);
  });

  it('pages when a run timed out (InspectionsTimedOut >= 1 in 5 minutes)', () => {
    // Act
    const alarm = only(alarmsOn('InspectPipeline', 'InspectionsTimedOut'), 'alarm on InspectionsTimedOut');

    // Assess
    expect(alarm).toMatchObject({
      ...AT_LEAST_ONCE_IN_5_MINUTES,
      expression: undefined,
      alarmActions: [`<${ids.alarmTopic}>`],
    });
    expect(alarm.metrics).toStrictEqual([
      {
        id: undefined,
        namespace: 'InspectPipeline',
        name: 'InspectionsTimedOut',
        dimensions: { service: 'inspect-pipeline' },
        statistic: 'Sum',
        periodSeconds: 300,
      },
    ]);
  });

  it.each(['Throttles', 'Errors'])('pages on the copy function %s (Sum >= 1 in 5 minutes)', (name) => {
    // Act
    const onCopy = alarmsOn('AWS/Lambda', name).filter((alarm) =>
      alarm.metrics.some((metric) => metric.dimensions.FunctionName === `<${ids.copy}>`),
    );

    // Assess
    expect(only(onCopy, `alarm on the copy function's ${name}`)).toMatchObject({
      ...AT_LEAST_ONCE_IN_5_MINUTES,
      alarmActions: [`<${ids.alarmTopic}>`],
      metrics: [
        {
          id: undefined,
          namespace: 'AWS/Lambda',
          name,
          dimensions: { FunctionName: `<${ids.copy}>` },
          statistic: 'Sum',
          periodSeconds: 300,
        },
      ],
    });
  });

  it.each([
    ['inspection workflow', 'ExecutionsTimedOut', () => ids.inspection],
    ['inspection workflow', 'ExecutionsAborted', () => ids.inspection],
    ['batch waiter', 'ExecutionsFailed', () => ids.waiter],
    ['batch waiter', 'ExecutionsTimedOut', () => ids.waiter],
    ['batch waiter', 'ExecutionsAborted', () => ids.waiter],
  ])('keeps the %s alarm on %s', (_machine, name, id) => {
    // Act
    const alarm = alarms.filter(
      (candidate) =>
        candidate.expression === undefined &&
        candidate.metrics[0]?.name === name &&
        candidate.metrics[0]?.dimensions.StateMachineArn === `<${id()}>`,
    );

    // Assess
    expect(only(alarm, `${name} alarm`)).toMatchObject({
      ...AT_LEAST_ONCE_IN_5_MINUTES,
      alarmActions: [`<${ids.alarmTopic}>`],
    });
  });

  it('sends every alarm to the alarm topic, each with a description', () => {
    // Act
    const withoutAction = alarms.filter((alarm) => alarm.alarmActions.join() !== `<${ids.alarmTopic}>`);
    const withoutDescription = alarms.filter((alarm) => !alarm.description);

    // Assess
    expect(alarms).toHaveLength(10); // 4 pipeline, 2 inspection workflow, 3 batch waiter, 1 dead-letter queue
    expect(withoutAction).toStrictEqual([]);
    expect(withoutDescription).toStrictEqual([]);
  });
});

describe('Inspection workflow: how a run ends', () => {
  it('sends Notify failed to a Choice on $.notification.cause: input to Succeed "Input refused", otherwise Fail "Inspection failed"', () => {
    // Act
    const choice = inspection.States[inspection.States['Notify failed']?.Next ?? ''];

    // Assess
    expect(inspection.States['Notify failed']?.Next).toBe('Caused by the input?');
    expect(choice?.Type).toBe('Choice');
    expect(choice?.Choices).toStrictEqual([
      {
        And: [
          { Variable: '$.notification.cause', IsPresent: true },
          { Variable: '$.notification.cause', StringEquals: 'input' },
        ],
        Next: 'Input refused',
      },
    ]);
    expect(inspection.States['Input refused']?.Type).toBe('Succeed');
    expect(choice?.Default).toBe('Inspection failed');
    expect(inspection.States['Inspection failed']).toMatchObject({ Type: 'Fail', Error: 'InspectionFailed' });
  });

  it('ends Notify timed out at Succeed "Inspection timed out", and keeps a Fail for every notification that was not published', () => {
    // Act
    const notifies = Object.entries(inspection.States).filter(
      ([name, state]) => name.startsWith('Notify ') && state.Type === 'Task',
    );

    // Assess
    expect(inspection.States['Notify timed out']?.Next).toBe('Inspection timed out');
    expect(inspection.States['Inspection timed out']?.Type).toBe('Succeed');
    expect(notifies.length).toBe(5);
    for (const [name, state] of notifies) {
      const target = state.Catch?.map((handler) => handler.Next);
      expect(target, name).toStrictEqual([`${name} did not publish`]);
      expect(inspection.States[`${name} did not publish`], name).toMatchObject({
        Type: 'Fail',
        Error: 'NotificationFailed',
      });
    }
  });

  /** Runs the synthesized definition with the tasks answered locally; the last state entered and how it ended. */
  async function run(
    handlers: Record<string, (input: unknown) => unknown>,
  ): Promise<{ states: string[]; status: 'succeeded' | 'failed'; error?: string }> {
    const machine = new StateMachine(inspection as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    const execution = machine.run(
      { batch: { bucket: 'drop', prefix: 'tower-1/flight-1/' } },
      {
        overrides: {
          taskResourceLocalHandlers: handlers as never,
          waitTimeOverrides: { 'Wait for processing': 0 },
        },
        context: {
          Execution: {
            Id: 'arn:aws:states:eu-west-1:123456789012:execution:x:run-1',
            Name: 'run-1',
            Input: {},
            StartTime: new Date().toISOString(),
          },
        },
      },
    );
    const states: string[] = [];
    const entered = (async () => {
      for await (const event of execution.eventLogs)
        if (event.type === 'StateEntered') states.push((event as { state: { name: string } }).state.name);
    })();
    const ended = await execution.result.then(
      () => ({ status: 'succeeded' as const }),
      (error: Error & { cause?: Error }) => ({ status: 'failed' as const, error: error.cause?.name ?? error.name }),
    );
    await entered;
    return { states, ...ended };
  }

  const refusedAtPrepare = (cause: string | undefined) => ({
    'Prepare inspection': () => {
      throw Object.assign(new Error('3 photos, at least 6 needed'), { name: 'PreflightError' });
    },
    'Notify failed': (input: unknown) => ({
      type: (input as { type: string }).type,
      subject: 'Inspection failed at preflight: tower-1/flight-1',
      ...(cause ? { cause } : {}),
    }),
  });

  it('ends Succeeded at "Input refused" when the notification found the input at fault', async () => {
    // Act
    const ended = await run(refusedAtPrepare('input'));

    // Assess
    expect(ended).toStrictEqual({
      status: 'succeeded',
      states: ['Prepare inspection', 'Prepare failed', 'Notify failed', 'Caused by the input?', 'Input refused'],
    });
  });

  it.each([['system'], [undefined]])('ends Failed at "Inspection failed" when the cause is %s', async (cause) => {
    // Act
    const ended = await run(refusedAtPrepare(cause));

    // Assess
    expect(ended.status).toBe('failed');
    expect(ended.error).toBe('InspectionFailed');
    expect(ended.states.slice(-2)).toStrictEqual(['Caused by the input?', 'Inspection failed']);
  });

  it('ends Succeeded at "Inspection timed out" when processing passed its deadline', async () => {
    // Prepare
    const prepared = { runPrefix: 'runs/run-1/', batch: { bucket: 'drop' }, inspection: { id: 'i-1' }, chunks: [] };
    const handlers = {
      'Prepare inspection': () => prepared,
      'Register photos': () => ({ registered: 0 }),
      'Start processing': () => ({
        startedAt: '2029-12-30T00:00:00.000Z',
        deadline: '2030-01-01T00:00:00.000Z',
        expectedSeconds: 3_600,
        pollBudget: 100,
        poll: { waitSeconds: 1, pollCount: 0 },
      }),
      'Check processing status': () => ({ outcome: 'timed_out', waitSeconds: 1, pollCount: 1 }),
      'Notify timed out': () => ({ type: 'inspection.timed_out', subject: 'Inspection timed out: tower-1/flight-1' }),
    };

    // Act
    const ended = await run(handlers);

    // Assess
    expect(ended.status).toBe('succeeded');
    expect(ended.states.slice(-3)).toStrictEqual(['Processing done?', 'Notify timed out', 'Inspection timed out']);
  });
});
