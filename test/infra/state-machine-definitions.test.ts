import { createRequire } from 'node:module';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '../../lib/app';

/**
 * The Amazon States Language of both state machines, as synthesized, checked by asl-validator (the JSON schema of
 * ASL, reachability and existence of every transition target, terminal states, Map and Wait rules). Step Functions
 * only checks a definition when CloudFormation creates the state machine: this finds a broken one before a deploy.
 */

interface AslError {
  readonly 'Error code': string;
  readonly Message: string;
}

interface AslResult {
  readonly isValid: boolean;
  readonly errors: readonly AslError[];
}

// asl-validator ships no type declarations: its CommonJS export, the one function used, is typed here.
const validateAsl = createRequire(__filename)('asl-validator') as (definition: unknown) => AslResult;

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** What `Fn::GetAtt [id, Arn]` and `Ref` return for the resource types a definition can name. */
const PLACEHOLDERS: Record<string, { arn: (logicalId: string) => string; ref: (logicalId: string) => string }> = {
  'AWS::Lambda::Function': { arn: (id) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`, ref: (id) => id },
  'AWS::StepFunctions::StateMachine': {
    arn: (id) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`,
    ref: (id) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`,
  },
  'AWS::SNS::Topic': {
    arn: (id) => `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`,
    ref: (id) => `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`,
  },
  'AWS::SQS::Queue': {
    arn: (id) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`,
    ref: (id) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`,
  },
  'AWS::S3::Bucket': { arn: (id) => `arn:aws:s3:::${id.toLowerCase()}`, ref: (id) => id.toLowerCase() },
};

type Resources = Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;

interface StateMachine {
  readonly name: string;
  readonly logicalId: string;
}

function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/**
 * A token of the definition's `Fn::Join` as a plausible literal, so that the definition parses and its ARNs have the
 * shape Step Functions expects. A token of another kind throws: the placeholders above must learn it.
 */
function placeholderFor(token: unknown, resources: Resources): string {
  const { Ref: ref, 'Fn::GetAtt': getAtt } = (token ?? {}) as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (typeof ref === 'string') {
    const value = PSEUDO_PARAMETERS[ref] ?? PLACEHOLDERS[resources[ref]?.Type ?? '']?.ref(ref);
    if (value !== undefined) return value;
  }
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    const value = PLACEHOLDERS[resources[getAtt[0]]?.Type ?? '']?.arn(getAtt[0]);
    if (value !== undefined) return value;
  }
  throw new Error(`No placeholder for ${JSON.stringify(token)} in a state machine definition`);
}

/** The definition of a state machine resource, its tokens replaced, parsed. */
function definitionOf(resources: Resources, logicalId: string): Record<string, unknown> {
  const definition = resources[logicalId]?.Properties?.DefinitionString;
  if (typeof definition === 'string') return JSON.parse(definition) as Record<string, unknown>;
  const [separator, parts] = (definition as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts.map((part) => (typeof part === 'string' ? part : placeholderFor(part, resources))).join(separator);
  return JSON.parse(text) as Record<string, unknown>;
}

interface Synthesized {
  readonly resources: Resources;
  readonly stateMachines: readonly StateMachine[];
}

/** The stack as `cdk synth` builds it, bundling skipped (no rule here looks at the Lambda code). */
function synthesize(): Synthesized {
  const { app, stack } = buildApp({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const { pipeline } = stack;
  const resources = (app.synth().getStackArtifact(stack.artifactId).template as { Resources: Resources }).Resources;
  return {
    resources,
    stateMachines: [
      { name: 'the inspection workflow', logicalId: logicalIdOf(pipeline.workflow.stateMachine) },
      { name: 'the batch waiter', logicalId: logicalIdOf(pipeline.waiter.stateMachine) },
    ],
  };
}

describe('state machine definitions', () => {
  let synthesized: Synthesized;

  beforeAll(() => {
    synthesized = synthesize();
  });

  it('checks every state machine of the stack', () => {
    // Prepare
    const { resources, stateMachines } = synthesized;

    // Act
    const inTemplate = Object.keys(resources).filter(
      (id) => resources[id]?.Type === 'AWS::StepFunctions::StateMachine',
    );

    // Assess: a new state machine must be added to the list above
    expect(inTemplate.sort()).toStrictEqual(stateMachines.map(({ logicalId }) => logicalId).sort());
  });

  it.each(['the inspection workflow', 'the batch waiter'])('finds no ASL error in %s', (name) => {
    // Prepare
    const { resources, stateMachines } = synthesized;
    const { logicalId } = stateMachines.find((machine) => machine.name === name)!;
    const definition = definitionOf(resources, logicalId);

    // Act
    const { isValid, errors } = validateAsl(definition);

    // Assess
    expect(errors).toStrictEqual([]);
    expect(isValid).toBe(true);
  });

  it('reports a transition to a missing state (the validator really runs)', () => {
    // Prepare: the inspection workflow with its first state's Next pointing nowhere
    const { resources, stateMachines } = synthesized;
    const definition = definitionOf(resources, stateMachines[0]!.logicalId) as {
      StartAt: string;
      States: Record<string, { Next?: string }>;
    };
    const first = definition.States[definition.StartAt]!;
    expect(first.Next).toBeTypeOf('string');
    first.Next = 'No such state';

    // Act
    const { isValid, errors } = validateAsl(definition);

    // Assess
    expect(isValid).toBe(false);
    expect(errors).toContainEqual({
      'Error code': 'MISSING_TRANSITION_TARGET',
      Message: "Missing 'StartAt'|'Next'|'Default' target: No such state",
    });
  });
});
