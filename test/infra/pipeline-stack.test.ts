import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { pipelineConfigFromEnv } from '../../functions/shared/step-runtime';
import { buildApp, cdkJsonContext, type InspectPipelineApp, STACK_ID } from '../../lib/app';
import { InspectPipeline } from '../../lib/inspect-pipeline';
import type { InspectPipelineStack } from '../../lib/inspect-pipeline-stack';
import { PIPELINE_STEPS, type PipelineStep, STEP_METADATA_KEY } from '../../lib/pipeline-functions';
import { matchesOutputKey, PIPELINE_OUTPUT_NAMES } from '../../lib/pipeline-outputs';
import { DEFAULT_POLL_SCHEDULE } from '../../src/status/poll-schedule';
import { placeholderOf } from '../helpers/template-values';

/**
 * Assertions on the synthesized InspectPipeline stack as `cdk synth` builds it (cdk.json's context), with bundling
 * skipped: the Lambda assets become placeholders, which nothing here looks at. cdk-nag's report on the whole app, in
 * each configuration, is in cdk-nag.test.ts.
 */

/** The steps that talk to Pix4Dinspect and so need its account (src/workflow: `deps.pix4d()`). */
const PIX4D_CALLERS: readonly PipelineStep[] = ['prepare', 'copy', 'register', 'start-processing', 'check-status'];

/** The Lambdas behind the Task states of the inspection workflow; they read DEADLINE_HOURS (pipelineConfigFromEnv). */
const WORKFLOW_STEPS: readonly PipelineStep[] = PIPELINE_STEPS.filter(
  (step) => step !== 'ingest' && step !== 'check-batch',
);

const INSPECTION_STATE_NAMES = [
  'Prepare inspection',
  'Copy photos',
  'Register photos',
  'Start processing',
  'Wait for processing',
  'Check processing status',
  'Processing done?',
  'Notify completed',
  'Notify failed',
  'Notify timed out',
];

const HOUR = 3600;

type Json = Record<string, unknown>;

interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Json;
  readonly Metadata?: Json;
}

interface Synthesized {
  readonly stack: InspectPipelineStack;
  readonly template: Template;
  readonly resources: Record<string, CfnResourceJson>;
}

function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const { stack }: InspectPipelineApp = buildApp({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context },
  });
  const template = Template.fromStack(stack);
  const resources = (template.toJSON() as { Resources: Record<string, CfnResourceJson> }).Resources;
  return { stack, template, resources };
}

function logicalIdOf(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(child as CfnElement);
}

function resourcesOfType(resources: Record<string, CfnResourceJson>, type: string): [string, CfnResourceJson][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The pipeline step of each Lambda, from its CloudFormation metadata. */
function stepFunctions(resources: Record<string, CfnResourceJson>): Map<PipelineStep, [string, CfnResourceJson]> {
  const found = new Map<PipelineStep, [string, CfnResourceJson]>();
  for (const [logicalId, resource] of resourcesOfType(resources, 'AWS::Lambda::Function')) {
    const step = resource.Metadata?.[STEP_METADATA_KEY];
    if (typeof step === 'string') found.set(step as PipelineStep, [logicalId, resource]);
  }
  return found;
}

function stepFunction(resources: Record<string, CfnResourceJson>, step: PipelineStep): [string, CfnResourceJson] {
  const found = stepFunctions(resources).get(step);
  if (!found) throw new Error(`No Lambda with metadata ${STEP_METADATA_KEY} = ${step}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// IAM: every Allow of every identity policy, as (owner, action, resource), the owner being the pipeline step whose
// function assumes the role, or the role's logical id.

interface Grant {
  readonly owner: string;
  readonly action: string;
  readonly resource: string;
}

interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
}

function grantsIn(resources: Record<string, CfnResourceJson>): Grant[] {
  const ownerOfRole = new Map<string, string>();
  for (const [step, [, fn]] of stepFunctions(resources)) {
    const role = fn.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleId = role?.['Fn::GetAtt']?.[0];
    if (!roleId) throw new Error(`The ${step} function's Role is not a GetAtt of a role of the stack`);
    ownerOfRole.set(roleId, step);
  }
  const owner = (roleRef: unknown): string => {
    const roleId = placeholderOf(roleRef).replace(/^<(.*)>$/, '$1');
    return ownerOfRole.get(roleId) ?? roleId;
  };
  const documents: { roles: unknown[]; statements: Statement[] }[] = [];
  for (const [, policy] of [
    ...resourcesOfType(resources, 'AWS::IAM::Policy'),
    ...resourcesOfType(resources, 'AWS::IAM::ManagedPolicy'),
  ]) {
    const document = policy.Properties?.PolicyDocument as { Statement: Statement[] };
    documents.push({ roles: asArray(policy.Properties?.Roles as unknown[]), statements: document.Statement });
  }
  for (const [roleId, role] of resourcesOfType(resources, 'AWS::IAM::Role')) {
    for (const inline of asArray(role.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
      documents.push({ roles: [{ Ref: roleId }], statements: inline.PolicyDocument.Statement });
    }
  }
  return documents.flatMap(({ roles, statements }) =>
    roles.flatMap((role) =>
      statements
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => {
          // NotAction / NotResource allow almost everything: report them as "*", which every check below catches.
          const actions = statement.NotAction !== undefined ? ['*'] : asArray(statement.Action);
          const resourceList = statement.NotResource !== undefined ? ['*'] : asArray(statement.Resource as unknown[]);
          return actions.flatMap((action) =>
            resourceList.map((resource) => ({ owner: owner(role), action, resource: placeholderOf(resource) })),
          );
        }),
    ),
  );
}

/** Whether an IAM action pattern (with * and ?) allows `action`. */
function allowsAction(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/** Whether an IAM action pattern allows some action starting with `prefix` (e.g. `s3:Put`). */
function allowsSomeActionStartingWith(pattern: string, prefix: string): boolean {
  const lowerPattern = pattern.toLowerCase();
  const lowerPrefix = prefix.toLowerCase();
  const wildcard = lowerPattern.search(/[*?]/);
  if (wildcard === -1) return lowerPattern.startsWith(lowerPrefix);
  const literal = lowerPattern.slice(0, wildcard);
  return literal.startsWith(lowerPrefix) || lowerPrefix.startsWith(literal);
}

/** Whether a rendered resource covers the bucket `bucketId` or its objects (its ARN, its name in an ARN, or "*"). */
function coversBucket(resource: string, bucketId: string): boolean {
  return (
    resource === '*' ||
    /^arn:[^:]*:s3:::\*/.test(resource) ||
    resource.startsWith(`<${bucketId}.Arn>`) ||
    resource.includes(`:s3:::<${bucketId}>`)
  );
}

function coversBucketObjects(resource: string, bucketId: string): boolean {
  return (
    coversBucket(resource, bucketId) && resource !== `<${bucketId}.Arn>` && !resource.endsWith(`:s3:::<${bucketId}>`)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Step Functions definitions

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Retry?: { ErrorEquals: string[] }[];
  readonly Catch?: { ErrorEquals: string[]; Next: string }[];
  readonly MaxConcurrency?: number;
  readonly QueryLanguage?: string;
  readonly ItemProcessor?: AslMachine;
  readonly Iterator?: AslMachine;
  readonly Branches?: AslMachine[];
}

interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
  readonly QueryLanguage?: string;
}

/** The definition, its Fn::Join turned into JSON with a placeholder where CloudFormation puts an ARN or a partition. */
function definitionOf(stateMachine: CfnResourceJson): AslMachine {
  const definition = stateMachine.Properties?.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof definition === 'string') return JSON.parse(definition) as AslMachine;
  const [separator, parts] = definition['Fn::Join'];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '__TOKEN__')).join(separator)) as AslMachine;
}

interface NamedState {
  readonly name: string;
  readonly state: AslState;
  /** Name of the Map or Parallel state holding it; undefined at the top level. */
  readonly inside: string | undefined;
}

function statesOf(machine: AslMachine, inside?: string): NamedState[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, inside },
    ...[state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]
      .filter((nested): nested is AslMachine => nested !== undefined)
      .flatMap((nested) => statesOf(nested, name)),
  ]);
}

/** Follows Pass states from `name` to the first state that does something. */
function throughPasses(machine: AslMachine, name: string): string {
  let current = name;
  for (let hops = 0; machine.States[current]?.Type === 'Pass' && hops < 10; hops++) {
    const next = machine.States[current]?.Next;
    if (!next) break;
    current = next;
  }
  return current;
}

// ---------------------------------------------------------------------------------------------------------------

let pipeline: Synthesized;
let dropId: string;
let workId: string;
let queueId: string;
let deadLetterQueueId: string;
let inspectionId: string;
let waiterId: string;
let topicId: string;
let alarmTopicId: string;
let secretId: string;

beforeAll(() => {
  pipeline = synthesize();
  const { pipeline: construct } = pipeline.stack;
  dropId = logicalIdOf(construct.dropBucket);
  workId = logicalIdOf(construct.workBucket);
  queueId = logicalIdOf(construct.queue.queue);
  deadLetterQueueId = logicalIdOf(construct.queue.deadLetterQueue);
  inspectionId = logicalIdOf(construct.workflow.stateMachine);
  waiterId = logicalIdOf(construct.waiter.stateMachine);
  topicId = logicalIdOf(construct.topic);
  alarmTopicId = logicalIdOf(construct.alarmTopic);
  secretId = logicalIdOf(construct.secret);
});

function stateMachine(logicalId: string): CfnResourceJson {
  const resource = pipeline.resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine`);
  return resource;
}

describe('InspectPipeline stack: S3 buckets', () => {
  it('blocks all public access and encrypts every bucket', () => {
    // Prepare
    const buckets = resourcesOfType(pipeline.resources, 'AWS::S3::Bucket');

    // Act
    const settings = buckets.map(([logicalId, bucket]) => ({
      logicalId,
      publicAccess: bucket.Properties?.PublicAccessBlockConfiguration,
      algorithms: (
        (bucket.Properties?.BucketEncryption as { ServerSideEncryptionConfiguration?: Json[] } | undefined)
          ?.ServerSideEncryptionConfiguration ?? []
      ).map((rule) => (rule.ServerSideEncryptionByDefault as Json | undefined)?.SSEAlgorithm),
    }));

    // Assess
    expect(buckets.map(([logicalId]) => logicalId)).toEqual(expect.arrayContaining([dropId, workId]));
    expect(buckets.length).toBeGreaterThanOrEqual(3); // drop, work and their access logs
    for (const { logicalId, publicAccess, algorithms } of settings) {
      expect(publicAccess, logicalId).toStrictEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(algorithms.length, logicalId).toBeGreaterThan(0);
      for (const algorithm of algorithms) expect(['AES256', 'aws:kms', 'aws:kms:dsse'], logicalId).toContain(algorithm);
    }
  });

  it('denies requests without TLS to every bucket and its objects', () => {
    // Prepare
    const bucketIds = resourcesOfType(pipeline.resources, 'AWS::S3::Bucket').map(([logicalId]) => logicalId);
    const policies = resourcesOfType(pipeline.resources, 'AWS::S3::BucketPolicy').map(
      ([, policy]) => policy.Properties,
    );

    // Act
    const sslDenials = bucketIds.map((bucketId) => {
      const policy = policies.find((properties) => placeholderOf(properties?.Bucket) === `<${bucketId}>`);
      const statements = ((policy?.PolicyDocument as { Statement?: Json[] } | undefined)?.Statement ?? []).filter(
        (statement) =>
          statement.Effect === 'Deny' &&
          JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      return { bucketId, statements };
    });

    // Assess
    for (const { bucketId, statements } of sslDenials) {
      expect(statements, bucketId).toHaveLength(1);
      const [statement] = statements;
      expect(asArray(statement?.Action as string[]), bucketId).toContain('s3:*');
      expect(JSON.stringify(statement?.Principal), bucketId).toMatch(/^("\*"|\{"AWS":"\*"\})$/);
      expect(asArray(statement?.Resource as unknown[]).map(placeholderOf), bucketId).toEqual(
        expect.arrayContaining([`<${bucketId}.Arn>`, `<${bucketId}.Arn>/*`]),
      );
    }
  });

  it('logs access to the drop and work buckets into a bucket of the stack', () => {
    // Prepare
    const loggedBuckets = [dropId, workId];

    // Act
    const logging = loggedBuckets.map(
      (bucketId) => pipeline.resources[bucketId]?.Properties?.LoggingConfiguration as Json,
    );

    // Assess
    for (const [index, configuration] of logging.entries()) {
      expect(configuration?.DestinationBucketName, loggedBuckets[index]).toBeDefined();
      const target = placeholderOf(configuration?.DestinationBucketName).replace(/^<(.*)>$/, '$1');
      expect(pipeline.resources[target]?.Type, loggedBuckets[index]).toBe('AWS::S3::Bucket');
      expect(target, loggedBuckets[index]).not.toBe(loggedBuckets[index]);
    }
  });

  it('versions the drop bucket', () => {
    // Prepare
    const expected = { VersioningConfiguration: { Status: 'Enabled' } };

    // Act
    const drop = pipeline.resources[dropId];

    // Assess
    expect(drop?.Properties).toMatchObject(expected);
  });
});

describe('InspectPipeline stack: ingest queue', () => {
  it('encrypts the queue and its dead-letter queue', () => {
    // Prepare
    const queueIds = [queueId, deadLetterQueueId];

    // Act
    const properties = queueIds.map((logicalId) => pipeline.resources[logicalId]?.Properties ?? {});

    // Assess
    for (const [index, queue] of properties.entries()) {
      const encrypted = queue.SqsManagedSseEnabled === true || queue.KmsMasterKeyId !== undefined;
      expect(encrypted, queueIds[index]).toBe(true);
    }
  });

  it('moves a message to the dead-letter queue after 5 receives', () => {
    // Prepare
    const expected = { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] }, maxReceiveCount: 5 };

    // Act
    const redrive = pipeline.resources[queueId]?.Properties?.RedrivePolicy;

    // Assess
    expect(redrive).toStrictEqual(expected);
  });

  it('denies requests without TLS to both queues', () => {
    // Prepare
    const queueIds = [queueId, deadLetterQueueId];

    // Act
    const checks = queueIds.map((logicalId) => ({
      logicalId,
      check: (): void =>
        pipeline.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: Match.arrayWith([{ Ref: logicalId }]),
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sqs:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                Resource: { 'Fn::GetAtt': [logicalId, 'Arn'] },
              }),
            ]),
          },
        }),
    }));

    // Assess
    for (const { logicalId, check } of checks) expect(check, logicalId).not.toThrow();
  });

  it('keeps a received message invisible for at least 6x the ingest function timeout', () => {
    // Prepare
    const [, ingest] = stepFunction(pipeline.resources, 'ingest');

    // Act
    const visibility = pipeline.resources[queueId]?.Properties?.VisibilityTimeout as number;
    const timeout = ingest.Properties?.Timeout as number;

    // Assess
    expect(typeof timeout).toBe('number');
    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('feeds the ingest function from the queue with partial batch failures', () => {
    // Prepare
    const [ingestId] = stepFunction(pipeline.resources, 'ingest');

    // Act
    const mappings = resourcesOfType(pipeline.resources, 'AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => mapping.Properties ?? {})
      .filter((mapping) => placeholderOf(mapping.EventSourceArn) === `<${queueId}.Arn>`);

    // Assess
    expect(mappings).toHaveLength(1);
    expect(placeholderOf(mappings[0]?.FunctionName)).toBe(`<${ingestId}>`);
    expect(mappings[0]?.FunctionResponseTypes).toContain('ReportBatchItemFailures');
  });

  it('sends every s3:ObjectCreated:* event of the drop bucket to the queue, which lets the drop bucket send', () => {
    // Prepare
    const notifications = resourcesOfType(pipeline.resources, 'Custom::S3BucketNotifications').map(
      ([, resource]) => resource.Properties ?? {},
    );

    // Act
    const dropNotifications = notifications.filter(
      (properties) => placeholderOf(properties.BucketName) === `<${dropId}>`,
    );

    // Assess
    expect(dropNotifications).toHaveLength(1);
    expect(dropNotifications[0]?.NotificationConfiguration).toMatchObject({
      QueueConfigurations: expect.arrayContaining([
        expect.objectContaining({ Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] } }),
      ]),
    });
    pipeline.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [dropId, 'Arn'] } } }),
          }),
        ]),
      },
    });
  });
});

describe('InspectPipeline stack: state machines', () => {
  it.each([
    ['inspection workflow', () => inspectionId],
    ['batch waiter', () => waiterId],
  ])('runs the %s as a Standard state machine, logging ALL to a log group, traced', (_name, id) => {
    // Prepare
    const logicalId = id();

    // Act
    const properties = stateMachine(logicalId).Properties ?? {};

    // Assess
    expect(properties.StateMachineType).toBe('STANDARD');
    expect(properties.LoggingConfiguration).toMatchObject({
      Level: 'ALL',
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: expect.anything() } }],
    });
    const logGroup = placeholderOf(
      (properties.LoggingConfiguration as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[] })
        .Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn,
    );
    expect(pipeline.resources[logGroup.replace(/^<(.*)\.Arn>$/, '$1')]?.Type).toBe('AWS::Logs::LogGroup');
    expect(properties.TracingConfiguration).toStrictEqual({ Enabled: true });
  });

  it.each([
    ['inspection workflow', () => inspectionId],
    ['batch waiter', () => waiterId],
  ])('bounds the %s with a TimeoutSeconds and uses JSONPath, not JSONata', (_name, id) => {
    // Prepare
    const resource = stateMachine(id());

    // Act
    const definition = definitionOf(resource);

    // Assess
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    expect([undefined, 'JSONPath']).toContain(resource.Properties?.QueryLanguage);
    expect([undefined, 'JSONPath']).toContain(definition.QueryLanguage);
    for (const { name, state } of statesOf(definition))
      expect([undefined, 'JSONPath'], name).toContain(state.QueryLanguage);
  });

  it('gives the inspection workflow at least the 48 h default processing deadline', () => {
    // Prepare
    const resource = stateMachine(inspectionId);

    // Act
    const { TimeoutSeconds } = definitionOf(resource);

    // Assess
    expect(TimeoutSeconds).toBeGreaterThanOrEqual(48 * HOUR);
  });

  it('names the inspection workflow states as DESIGN.md does', () => {
    // Prepare
    const definition = definitionOf(stateMachine(inspectionId));

    // Act
    const names = statesOf(definition).map(({ name }) => name);

    // Assess
    expect(names).toEqual(expect.arrayContaining(INSPECTION_STATE_NAMES));
    expect(definition.StartAt).toBe('Prepare inspection');
    expect(definition.States['Copy photos']?.Type).toBe('Map');
    expect(definition.States['Wait for processing']?.Type).toBe('Wait');
    expect(definition.States['Processing done?']?.Type).toBe('Choice');
  });

  it.each([
    ['inspection workflow', () => inspectionId],
    ['batch waiter', () => waiterId],
  ])('retries and catches every top-level Task state of the %s', (_name, id) => {
    // Prepare
    const definition = definitionOf(stateMachine(id()));

    // Act
    const tasks = statesOf(definition).filter(({ state, inside }) => state.Type === 'Task' && inside === undefined);

    // Assess
    expect(tasks.length).toBeGreaterThan(0);
    for (const { name, state } of tasks) {
      expect(state.Retry?.length ?? 0, `${name} Retry`).toBeGreaterThan(0);
      expect(state.Catch?.length ?? 0, `${name} Catch`).toBeGreaterThan(0);
      expect(
        state.Catch?.some((handler) => handler.ErrorEquals.includes('States.ALL')),
        `${name} catches States.ALL`,
      ).toBe(true);
    }
  });

  it('retries and catches the Task state inside the Copy photos Map', () => {
    // Prepare
    const definition = definitionOf(stateMachine(inspectionId));

    // Act
    const tasks = statesOf(definition).filter(({ state, inside }) => state.Type === 'Task' && inside !== undefined);

    // Assess
    expect(tasks.map(({ inside }) => inside)).toContain('Copy photos');
    for (const { name, state } of tasks) {
      expect(state.Retry?.length ?? 0, `${name} Retry`).toBeGreaterThan(0);
      expect(state.Catch?.length ?? 0, `${name} Catch`).toBeGreaterThan(0);
    }
  });

  it('routes every caught failure of the inspection workflow to Notify failed (a transient status check failure back to polling, a folder already closed to its notice), and a failed notification to a Fail', () => {
    // Prepare
    const definition = definitionOf(stateMachine(inspectionId));
    const catchers = statesOf(definition).filter(
      ({ state, inside }) =>
        inside === undefined && state.Catch !== undefined && (state.Type === 'Task' || state.Type === 'Map'),
    );

    // Act
    const routes = catchers.map(({ name, state }) => ({
      name,
      targets: (state.Catch ?? []).map((handler) => throughPasses(definition, handler.Next)),
    }));

    // Assess
    expect(routes.map(({ name }) => name)).toEqual(expect.arrayContaining(['Copy photos', 'Notify failed']));
    for (const { name, targets } of routes) {
      if (name.startsWith('Notify ')) {
        for (const target of targets) expect(definition.States[target]?.Type, `${name} -> ${target}`).toBe('Fail');
      } else if (name === 'Check processing status') {
        expect(targets, name).toStrictEqual(['Wait for processing', 'Notify failed']);
      } else if (name === 'Prepare inspection') {
        // A folder another run already closed: late files reported, a repeated close skipped, or nothing to tell.
        expect(targets, name).toStrictEqual(['Notify late photos', 'Notify skipped', 'Nothing new', 'Notify failed']);
      } else {
        expect(targets, name).toStrictEqual(['Notify failed']);
      }
    }
    // A published failure ends by its cause: the Choice's default, a system failure, is the Fail state.
    const afterNotify = definition.States[definition.States['Notify failed']?.Next ?? ''] as AslState & {
      Default?: string;
    };
    expect(afterNotify?.Type).toBe('Choice');
    expect(definition.States[afterNotify?.Default ?? '']?.Type).toBe('Fail');
  });

  it('bounds the Copy photos Map with a MaxConcurrency', () => {
    // Prepare
    const definition = definitionOf(stateMachine(inspectionId));

    // Act
    const map = definition.States['Copy photos'];

    // Assess
    expect(map?.Type).toBe('Map');
    expect(map?.MaxConcurrency).toBeGreaterThan(0);
  });
});

describe('InspectPipeline stack: Lambda functions', () => {
  it('has one function per pipeline step, and no other function than the CDK S3 notifications handler', () => {
    // Prepare
    const functions = resourcesOfType(pipeline.resources, 'AWS::Lambda::Function');

    // Act
    const steps = functions.map(([, fn]) => fn.Metadata?.[STEP_METADATA_KEY]).filter((step) => step !== undefined);
    const others = functions
      .filter(([, fn]) => fn.Metadata?.[STEP_METADATA_KEY] === undefined)
      .map(([logicalId]) => logicalId);

    // Assess
    expect([...steps].sort()).toStrictEqual([...PIPELINE_STEPS].sort());
    expect(others).toHaveLength(1);
    expect(others[0]).toMatch(/^BucketNotificationsHandler050a0587b7544547bf325f094a3db834/);
  });

  it('runs every pipeline function on Node.js 24, ARM64, with active tracing and JSON logs', () => {
    // Prepare
    const functions = [...stepFunctions(pipeline.resources).entries()];

    // Act
    const settings = functions.map(([step, [, fn]]) => ({
      step,
      runtime: fn.Properties?.Runtime,
      architectures: fn.Properties?.Architectures,
      tracing: fn.Properties?.TracingConfig,
      logFormat: (fn.Properties?.LoggingConfig as Json | undefined)?.LogFormat,
    }));

    // Assess
    expect(settings).toHaveLength(PIPELINE_STEPS.length);
    for (const { step, runtime, architectures, tracing, logFormat } of settings) {
      expect({ step, runtime, architectures, tracing, logFormat }).toStrictEqual({
        step,
        runtime: 'nodejs24.x',
        architectures: ['arm64'],
        tracing: { Mode: 'Active' },
        logFormat: 'JSON',
      });
    }
  });
});

describe('InspectPipeline stack: least privilege', () => {
  it('lets only the copy function (photos) and prepare (first bytes and manifest.json) read the drop bucket, read only', () => {
    // Prepare
    const grants = grantsIn(pipeline.resources);

    // Act
    const objectReads = grants.filter(
      ({ action, resource }) => allowsAction(action, 's3:GetObject') && coversBucketObjects(resource, dropId),
    );

    // Assess
    const byOwner = (owner: string) => objectReads.filter((grant) => grant.owner === owner);
    expect(objectReads.filter(({ owner }) => owner !== 'copy' && owner !== 'prepare')).toStrictEqual([]);
    expect(byOwner('copy').map(({ resource }) => resource)).toContain(`<${dropId}.Arn>/*`);
    expect(byOwner('copy').every(({ action }) => ['s3:GetObject', 's3:GetObject*'].includes(action))).toBe(true);
    expect(byOwner('prepare')).toStrictEqual([
      { owner: 'prepare', action: 's3:GetObject', resource: `<${dropId}.Arn>/*` },
    ]);
  });

  it('lets no role put, delete or abort anything in the drop bucket; only the CDK handler configures its notifications', () => {
    // Prepare
    const grants = grantsIn(pipeline.resources);

    // Act
    const writes = grants.filter(
      ({ action, resource }) =>
        ['s3:Put', 's3:Delete', 's3:Abort'].some((prefix) => allowsSomeActionStartingWith(action, prefix)) &&
        coversBucket(resource, dropId),
    );

    // Assess: s3:PutBucketNotification is how CloudFormation wires the drop bucket to the queue; it writes no object
    expect(writes).toStrictEqual([
      {
        owner: expect.stringMatching(/^BucketNotificationsHandler050a0587b7544547bf325f094a3db834Role/),
        action: 's3:PutBucketNotification',
        resource: `<${dropId}.Arn>`,
      },
    ]);
  });

  it('lets the ingest function start both state machines and do nothing in S3', () => {
    // Prepare
    const grants = grantsIn(pipeline.resources).filter(({ owner }) => owner === 'ingest');

    // Act
    const starts = grants
      .filter(({ action }) => allowsAction(action, 'states:StartExecution'))
      .map(({ resource }) => resource);
    const s3 = grants.filter(({ action }) => allowsSomeActionStartingWith(action, 's3:'));

    // Assess
    expect(starts).toEqual(expect.arrayContaining([`<${inspectionId}>`, `<${waiterId}>`]));
    expect(s3).toStrictEqual([]);
  });

  it('lets only the notify function publish to the notification topic', () => {
    // Prepare
    const grants = grantsIn(pipeline.resources);

    // Act
    const publishers = grants
      .filter(
        ({ action, resource }) =>
          allowsAction(action, 'sns:Publish') && (resource === `<${topicId}>` || resource === '*'),
      )
      .map(({ owner }) => owner);

    // Assess
    expect([...new Set(publishers)]).toStrictEqual(['notify']);
  });

  it('lets the functions that call Pix4D read the secret, and no other', () => {
    // Prepare
    const grants = grantsIn(pipeline.resources);

    // Act
    const readers = new Set(
      grants
        .filter(
          ({ action, resource }) =>
            allowsAction(action, 'secretsmanager:GetSecretValue') &&
            (resource.includes(`<${secretId}>`) || resource === '*'),
        )
        .map(({ owner }) => owner),
    );

    // Assess
    expect([...readers].sort()).toStrictEqual([...PIX4D_CALLERS].sort());
    expect(readers.has('ingest')).toBe(false);
    expect(readers.has('check-batch')).toBe(false);
  });
});

describe('InspectPipeline stack: alarms', () => {
  it('alarms on messages in the dead-letter queue, through an alarm action', () => {
    // Prepare
    const expected = {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId, 'QueueName'] } }],
      AlarmActions: [{ Ref: alarmTopicId }],
    };

    // Act
    const check = (): void => pipeline.template.hasResourceProperties('AWS::CloudWatch::Alarm', expected);

    // Assess
    expect(check).not.toThrow();
  });

  // The inspection workflow's failed executions page through the system-failure alarm (pipeline-alarms.test.ts).
  it.each([
    ['inspection workflow', 'ExecutionsTimedOut', () => inspectionId],
    ['inspection workflow', 'ExecutionsAborted', () => inspectionId],
    ['batch waiter', 'ExecutionsFailed', () => waiterId],
    ['batch waiter', 'ExecutionsTimedOut', () => waiterId],
  ])('alarms on %s %s, through an alarm action', (_name, metricName, id) => {
    // Prepare
    const expected = {
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: id() } }],
      AlarmActions: [{ Ref: alarmTopicId }],
    };

    // Act
    const check = (): void => pipeline.template.hasResourceProperties('AWS::CloudWatch::Alarm', expected);

    // Assess
    expect(check).not.toThrow();
  });
});

describe('InspectPipeline stack: outputs', () => {
  it('keeps the plain output names as OutputKeys, which the operator CLI and the README use', () => {
    // Prepare
    const outputs = pipeline.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Act
    const keys = Object.keys(outputs);

    // Assess
    expect([...keys].sort()).toStrictEqual([...PIPELINE_OUTPUT_NAMES].sort());
  });

  it('outputs the buckets, the topics, the state machines and the secret', () => {
    // Prepare
    const expected = {
      DropBucketName: `<${dropId}>`,
      WorkBucketName: `<${workId}>`,
      NotificationTopicArn: `<${topicId}>`,
      AlarmTopicArn: `<${alarmTopicId}>`,
      StateMachineArn: `<${inspectionId}>`,
      BatchWaiterArn: `<${waiterId}>`,
      Pix4dSecretArn: `<${secretId}>`,
    };

    // Act
    const outputs = pipeline.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    for (const [name, value] of Object.entries(expected)) expect(placeholderOf(outputs[name]?.Value), name).toBe(value);
  });

  it('outputs an upload example that copies the photos first and manifest.json last', () => {
    // Prepare
    const name = 'UploadExample';

    // Act
    const output = (pipeline.template.toJSON().Outputs as Record<string, { Value: unknown }>)[name];

    // Assess
    const folder = `s3://<${dropId}>/tower-123/flight-1/`;
    expect(placeholderOf(output?.Value)).toBe(
      `aws s3 cp ./my-flight/ ${folder} --recursive --exclude manifest.json && aws s3 cp ./my-flight/manifest.json ${folder}`,
    );
    expect(pipeline.stack.pipeline.uploadExample).toBe(pipeline.stack.pipeline.outputValues.UploadExample.value);
  });
});

describe('InspectPipeline stack: pre-flight thresholds', () => {
  it('outputs the default thresholds, and gives no function PREFLIGHT_THRESHOLDS when none is set', () => {
    // Prepare
    const outputs = pipeline.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Act
    const thresholds = JSON.parse(placeholderOf(outputs.PreflightThresholds?.Value)) as unknown;

    // Assess
    expect(thresholds).toStrictEqual({
      minPhotos: 6,
      maxPhotos: null,
      minGeotaggedShare: 0,
      maxFlightHours: 6,
      maxSpreadMeters: 2000,
    });
    for (const [step, [, fn]] of stepFunctions(pipeline.resources)) {
      expect((fn.Properties!.Environment as { Variables: Json }).Variables, step).not.toHaveProperty(
        'PREFLIGHT_THRESHOLDS',
      );
    }
  });

  it('puts context thresholds over the defaults, in the output and in the prepare function alone', () => {
    // Prepare
    const context = { minPhotos: '3', maxPhotos: '4000', minGeotaggedShare: '0.9' };
    const expected = {
      minPhotos: 3,
      maxPhotos: 4000,
      minGeotaggedShare: 0.9,
      maxFlightHours: 6,
      maxSpreadMeters: 2000,
    };

    // Act
    const configured = synthesize(context);

    // Assess
    const outputs = configured.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.parse(placeholderOf(outputs.PreflightThresholds?.Value))).toStrictEqual(expected);
    const withVariable = [...stepFunctions(configured.resources)]
      .filter(([, [, fn]]) => 'PREFLIGHT_THRESHOLDS' in (fn.Properties!.Environment as { Variables: Json }).Variables)
      .map(([step]) => step);
    expect(withVariable).toStrictEqual(['prepare']);
    const [, prepare] = stepFunction(configured.resources, 'prepare');
    expect(
      JSON.parse((prepare.Properties!.Environment as { Variables: Json }).Variables.PREFLIGHT_THRESHOLDS as string),
    ).toStrictEqual(expected);
  });

  it('refuses construct thresholds no flight could pass, or out of range, naming the prop', () => {
    // Prepare
    const build = (preflight: Record<string, unknown>) => () =>
      new InspectPipeline(new Stack(new App(), 'Preflight'), 'Pipeline', { preflight });

    // Act, Assess
    expect(build({ maxPhotos: 5 })).toThrow(
      'InspectPipeline: preflight.maxPhotos 5 is below minPhotos 6: no flight could pass',
    );
    expect(build({ minPhotos: 10, maxPhotos: 5 })).toThrow(
      'InspectPipeline: preflight.maxPhotos must be at least minPhotos (10)',
    );
    expect(build({ minGeotaggedShare: 1.5 })).toThrow(
      'InspectPipeline: preflight.minGeotaggedShare must be between 0 and 1',
    );
    expect(build({ maxPhoto: 9 })).toThrow(
      'InspectPipeline: preflight.maxPhoto is not a threshold (did you mean maxPhotos?)',
    );
  });
});

describe('InspectPipeline construct embedded in another stack', () => {
  let embedded: {
    stack: Stack;
    photos: InspectPipeline;
    quiet: InspectPipeline;
    outputs: Record<string, { Value: unknown }>;
  };

  beforeAll(() => {
    // One stack, two pipelines: one with its outputs (the default), one without.
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Embedding');
    const photos = new InspectPipeline(stack, 'Photos', {});
    const quiet = new InspectPipeline(stack, 'Quiet', { outputs: false });
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;
    embedded = { stack, photos, quiet, outputs };
  });

  it("adds its outputs under CDK's logical ids, prefixed with the construct's id", () => {
    // Prepare
    const { stack, photos, outputs } = embedded;

    // Act
    const keys = PIPELINE_OUTPUT_NAMES.map((name) =>
      Object.keys(outputs).find((key) => matchesOutputKey(key, name) && key.startsWith('Photos')),
    );

    // Assess
    for (const [index, name] of PIPELINE_OUTPUT_NAMES.entries()) {
      expect(keys[index], name).toMatch(new RegExp(`^Photos${name}[0-9A-F]{8}$`));
    }
    expect(placeholderOf(outputs[keys[0] ?? '']?.Value)).toBe(`<${logicalIdOf(photos.dropBucket)}>`);
    expect(keys).toStrictEqual(
      PIPELINE_OUTPUT_NAMES.map((name) => stack.getLogicalId(photos.outputs?.[name] as CfnElement)),
    );
  });

  it('adds none with outputs: false, and still exposes their values', () => {
    // Prepare
    const { quiet, outputs } = embedded;

    // Act
    const quietKeys = Object.keys(outputs).filter((key) => key.startsWith('Quiet'));

    // Assess
    expect(quietKeys).toStrictEqual([]);
    expect(Object.keys(outputs)).toHaveLength(PIPELINE_OUTPUT_NAMES.length);
    expect(quiet.outputs).toBeUndefined();
    expect(Object.keys(quiet.outputValues).sort()).toStrictEqual([...PIPELINE_OUTPUT_NAMES].sort());
  });
});

describe('InspectPipeline stack: CDK context', () => {
  let configured: Synthesized;

  beforeAll(() => {
    configured = synthesize({
      quietPeriodMinutes: '0',
      deadlineHours: '24',
      notificationEmail: 'ops@example.com',
      pollMaxMinutes: '5',
      expectedSecondsPerPhoto: '2.5',
    });
  });

  it('passes quietPeriodMinutes to the ingest function in seconds', () => {
    // Prepare
    const [, ingest] = stepFunction(configured.resources, 'ingest');

    // Act
    const variables = (ingest.Properties!.Environment as { Variables: Json }).Variables;

    // Assess
    expect(variables.QUIET_PERIOD_SECONDS).toBe('0');
  });

  it('passes deadlineHours to the workflow functions and keeps the workflow timeout beyond it', () => {
    // Prepare
    const functions = WORKFLOW_STEPS.map((step) => [step, stepFunction(configured.resources, step)[1]] as const);
    const inspection = configured.resources[logicalIdOf(configured.stack.pipeline.workflow.stateMachine)];

    // Act
    const deadlines = functions.map(([step, fn]) => [
      step,
      (fn.Properties!.Environment as { Variables: Json }).Variables.DEADLINE_HOURS,
    ]);

    // Assess
    expect(deadlines).toStrictEqual(WORKFLOW_STEPS.map((step) => [step, '24']));
    expect(definitionOf(inspection as CfnResourceJson).TimeoutSeconds).toBeGreaterThan(24 * HOUR);
  });

  it('gives the status functions the poll schedule of the context, as their runtime reads it', () => {
    // Prepare
    const schedules = (['start-processing', 'check-status'] as const).map((step) => {
      const variables = (stepFunction(configured.resources, step)[1].Properties!.Environment as { Variables: Json })
        .Variables;
      const literal = Object.entries(variables).filter(([, value]) => typeof value === 'string');

      // Act
      return pipelineConfigFromEnv({ ...Object.fromEntries(literal), WORK_BUCKET: 'work' }).pollSchedule;
    });

    // Assess
    for (const schedule of schedules) {
      expect(schedule).toStrictEqual({
        ...DEFAULT_POLL_SCHEDULE,
        maxWaitSeconds: 300,
        defaultSecondsPerPhoto: 2.5,
      });
    }
  });

  it('subscribes notificationEmail to the notification topic', () => {
    // Prepare
    const topic = logicalIdOf(configured.stack.pipeline.topic);

    // Act
    const check = (): void =>
      configured.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: { Ref: topic },
      });

    // Assess
    expect(check).not.toThrow();
  });

  it('refuses a setting that is not a number, naming its key', () => {
    // Prepare
    const context = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], deadlineHours: 'soon' };

    // Act
    const build = (): InspectPipelineApp => buildApp({ context });

    // Assess
    expect(build).toThrow(/deadlineHours/);
  });

  it('names the stack after -c stackName, keeping the plain output names', () => {
    // Prepare
    const context = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], stackName: 'InspectPipeline-dev' };

    // Act
    const { app, stack } = buildApp({ context });

    // Assess
    expect(stack.stackName).toBe('InspectPipeline-dev');
    expect(app.node.tryFindChild('InspectPipeline-dev')).toBe(stack);
    const outputs = Object.values(stack.pipeline.outputs ?? {});
    expect(outputs.map((output) => stack.resolve(output.logicalId))).toStrictEqual([...PIPELINE_OUTPUT_NAMES]);
  });

  it('names the stack as STACK_ID', () => {
    // Prepare
    const { stack } = configured;

    // Act
    const name = stack.stackName;

    // Assess
    expect(name).toBe(STACK_ID);
  });
});
