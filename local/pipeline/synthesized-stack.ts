import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { PIPELINE_STEPS, type PipelineStep, STEP_METADATA_KEY } from '../../lib/pipeline-functions';
import { LOCAL_BUCKETS } from './local-buckets';

/**
 * The synthesized stack as local mode runs it: the state machines, each function's timeout, memory, environment and
 * role, and every role's policies, with CloudFormation's intrinsic functions resolved to the names local mode uses
 * (the drop and work buckets of the embedded S3 server, fixed fake ARNs for the rest). Local mode holds every call
 * to what this template allows, so that what `cdk deploy` would deploy is what runs here.
 */

/** Where local mode stands in for AWS: one fake account and region. */
export const LOCAL_ACCOUNT = { partition: 'aws', region: 'us-east-1', account: '123456789012' } as const;

export { LOCAL_BUCKETS };

/** The stack outputs that name the resources local mode gives fixed names to. */
const NAMED_BY_OUTPUT: Readonly<Record<string, string>> = {
  DropBucketName: LOCAL_BUCKETS.drop,
  WorkBucketName: LOCAL_BUCKETS.work,
};

export interface SynthesizedStack {
  readonly inspection: LocalMachine;
  readonly waiter: LocalMachine;
  readonly functions: Readonly<Record<PipelineStep, LocalFunction>>;
  /** Every IAM role of the stack, by ARN. */
  readonly roles: ReadonlyMap<string, LocalRole>;
  /** Resource policies (bucket, topic and queue policies) by the ARN of the resource they protect. */
  readonly resourcePolicies: ReadonlyMap<string, PolicyDocument>;
  /** ARNs and names of the stack's own resources, as local mode names them. */
  readonly resources: {
    readonly topicArn: string;
    readonly secretArn: string;
    readonly queueArn: string;
  };
  /** The template itself, for what local mode does not run (the dashboard, the alarms). */
  readonly template: Template;
}

export interface LocalMachine {
  readonly logicalId: string;
  readonly arn: string;
  readonly roleArn: string;
  readonly definition: StateMachineDefinition;
  /** Task state name -> the pipeline step (Lambda) it invokes, or `start-execution`. */
  readonly tasks: Readonly<Record<string, PipelineStep | 'start-execution'>>;
  /** Names of the Wait states (shortened in local runs). */
  readonly waits: readonly string[];
}

export interface LocalFunction {
  readonly logicalId: string;
  readonly step: PipelineStep;
  readonly name: string;
  readonly arn: string;
  readonly roleArn: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** The function's environment variables, resolved. */
  readonly environment: Readonly<Record<string, string>>;
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly PolicyStatement[];
}

export interface LocalRole {
  readonly arn: string;
  readonly name: string;
  /** What assumes it: the pipeline step of a function, the state machine, or the CloudFormation resource. */
  readonly usedBy: string;
  /** Inline policies attached to the role (the grants of `lib/`), by policy logical id. */
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  /** AWS managed policies (such as AWSLambdaBasicExecutionRole), by ARN. */
  readonly managedPolicyArns: readonly string[];
}

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Template = { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: unknown }> };

/**
 * Synthesizes the real stack (assets not bundled: only the template is needed) with `context` over cdk.json's, and
 * reads what local mode needs from it. The synth-time checks are left to `cdk synth` and the infra tests: they
 * change nothing in the template.
 */
export function synthesizeStack(context: Record<string, unknown> = {}): SynthesizedStack {
  const { app, stack } = buildApp(
    { context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } },
    { validate: false },
  );
  return readStack(app.synth().getStackByName(stack.stackName).template as Template);
}

function readStack(template: Template): SynthesizedStack {
  const resolver = new TemplateResolver(template);
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);

  const functions = {} as Record<PipelineStep, LocalFunction>;
  const stepOfFunction = new Map<string, PipelineStep>();
  for (const [logicalId, resource] of ofType('AWS::Lambda::Function')) {
    const step = resource.Metadata?.[STEP_METADATA_KEY] as PipelineStep | undefined;
    if (!step || !PIPELINE_STEPS.includes(step)) continue;
    const properties = resource.Properties ?? {};
    const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    functions[step] = {
      logicalId,
      step,
      name: resolver.ref(logicalId),
      arn: resolver.attribute(logicalId, 'Arn'),
      roleArn: resolver.string(properties.Role),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      memorySize: Number(properties.MemorySize ?? 128),
      environment: Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolver.string(value)])),
    };
    stepOfFunction.set(functions[step].arn, step);
  }
  const missing = PIPELINE_STEPS.filter((step) => !functions[step]);
  if (missing.length > 0) throw new Error(`The synthesized stack lacks the function of step(s) ${missing.join(', ')}`);

  const machines = ofType('AWS::StepFunctions::StateMachine').map(([logicalId, resource]) =>
    toLocalMachine(logicalId, resource, resolver, stepOfFunction),
  );
  const inspection = machines.find((machine) => Object.values(machine.tasks).includes('prepare'));
  const waiter = machines.find((machine) => Object.values(machine.tasks).includes('check-batch'));
  if (!inspection || !waiter)
    throw new Error('The synthesized stack lacks the inspection workflow or the batch waiter');

  const usedBy = new Map<string, string>();
  for (const fn of Object.values(functions)) usedBy.set(fn.roleArn, `function ${fn.step}`);
  usedBy.set(inspection.roleArn, 'state machine inspection');
  usedBy.set(waiter.roleArn, 'state machine waiter');
  for (const [logicalId, resource] of ofType('AWS::Lambda::Function')) {
    const roleArn = resolver.string(resource.Properties?.Role);
    if (!usedBy.has(roleArn)) usedBy.set(roleArn, `function ${logicalId} (a CDK custom resource)`);
  }

  const roles = new Map<string, LocalRole>();
  for (const [logicalId, resource] of ofType('AWS::IAM::Role')) {
    const arn = resolver.attribute(logicalId, 'Arn');
    const managed = (resource.Properties?.ManagedPolicyArns as unknown[] | undefined) ?? [];
    roles.set(arn, {
      arn,
      name: resolver.ref(logicalId),
      usedBy: usedBy.get(arn) ?? `role ${logicalId}`,
      policies: [],
      managedPolicyArns: managed.map((value) => resolver.string(value)),
    });
  }
  for (const [logicalId, resource] of ofType('AWS::IAM::Policy')) {
    const document = resolver.value(resource.Properties?.PolicyDocument) as PolicyDocument;
    for (const roleRef of (resource.Properties?.Roles as unknown[] | undefined) ?? []) {
      const roleName = resolver.string(roleRef);
      const role = [...roles.values()].find((candidate) => candidate.name === roleName);
      if (!role) throw new Error(`Policy ${logicalId} is attached to ${roleName}, which is not a role of the stack`);
      (role.policies as { name: string; document: PolicyDocument }[]).push({ name: logicalId, document });
    }
  }

  const resourcePolicies = new Map<string, PolicyDocument>();
  for (const [, resource] of ofType('AWS::S3::BucketPolicy')) {
    resourcePolicies.set(
      `arn:aws:s3:::${resolver.string(resource.Properties?.Bucket)}`,
      resolver.value(resource.Properties?.PolicyDocument) as PolicyDocument,
    );
  }
  for (const [type, targets, toArn] of [
    ['AWS::SNS::TopicPolicy', 'Topics', (ref: string) => ref],
    ['AWS::SQS::QueuePolicy', 'Queues', (ref: string) => resolver.queueArnOfUrl(ref)],
  ] as const) {
    for (const [, resource] of ofType(type)) {
      const document = resolver.value(resource.Properties?.PolicyDocument) as PolicyDocument;
      for (const target of (resource.Properties?.[targets] as unknown[] | undefined) ?? [])
        resourcePolicies.set(toArn(resolver.string(target)), document);
    }
  }

  return {
    inspection,
    waiter,
    functions,
    roles,
    resourcePolicies,
    resources: {
      topicArn: functions.notify.environment.TOPIC_ARN ?? single(ofType('AWS::SNS::Topic'), 'topic', resolver),
      secretArn:
        functions.prepare.environment.PIX4D_SECRET_ARN ??
        single(ofType('AWS::SecretsManager::Secret'), 'secret', resolver),
      queueArn: resolver.string(
        only(ofType('AWS::Lambda::EventSourceMapping'), 'event source mapping')[1].Properties?.EventSourceArn,
      ),
    },
    template,
  };
}

function single(entries: [string, Resource][], what: string, resolver: TemplateResolver): string {
  return resolver.ref(only(entries, what)[0]);
}

function only(entries: [string, Resource][], what: string): [string, Resource] {
  if (entries.length !== 1) throw new Error(`Expected one ${what} in the stack, found ${entries.length}`);
  return entries[0]!;
}

function toLocalMachine(
  logicalId: string,
  resource: Resource,
  resolver: TemplateResolver,
  steps: Map<string, PipelineStep>,
): LocalMachine {
  const definition = JSON.parse(resolver.string(resource.Properties?.DefinitionString)) as StateMachineDefinition;
  const tasks: Record<string, PipelineStep | 'start-execution'> = {};
  const waits: string[] = [];
  collect(definition as unknown as { States: Record<string, Record<string, unknown>> }, tasks, waits, steps);
  return {
    logicalId,
    arn: resolver.ref(logicalId),
    roleArn: resolver.string(resource.Properties?.RoleArn),
    definition,
    tasks,
    waits,
  };
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
      const step = steps.get(resource);
      if (step) tasks[name] = step;
      else if (resource.endsWith(':states:startExecution')) tasks[name] = 'start-execution';
      else throw new Error(`Task state "${name}" calls ${resource}, which local mode cannot run`);
    }
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States: Record<string, Record<string, unknown>> }
      | undefined;
    if (processor) collect(processor, tasks, waits, steps);
  }
}

/** Resolves CloudFormation's intrinsic functions to local names: Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split. */
class TemplateResolver {
  private readonly localNames = new Map<string, string>();

  constructor(private readonly template: Template) {
    for (const [output, name] of Object.entries(NAMED_BY_OUTPUT)) {
      const ref = (template.Outputs?.[output]?.Value as { Ref?: string } | undefined)?.Ref;
      if (!ref) throw new Error(`The synthesized stack has no output ${output} that names a resource`);
      this.localNames.set(ref, name);
    }
  }

  value(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::')))
      return this.intrinsic(keys[0]!, object[keys[0]!]);
    return Object.fromEntries(keys.map((key) => [key, this.value(object[key])]));
  }

  string(value: unknown): string {
    const resolved = this.value(value);
    if (typeof resolved !== 'string')
      throw new Error(`Expected a string in the template, got ${JSON.stringify(value)}`);
    return resolved;
  }

  ref(logicalId: string): string {
    if (logicalId === 'AWS::Partition') return LOCAL_ACCOUNT.partition;
    if (logicalId === 'AWS::Region') return LOCAL_ACCOUNT.region;
    if (logicalId === 'AWS::AccountId') return LOCAL_ACCOUNT.account;
    if (logicalId === 'AWS::URLSuffix') return 'amazonaws.com';
    if (logicalId === 'AWS::StackName') return 'InspectPipeline';
    const { region, account } = LOCAL_ACCOUNT;
    switch (this.typeOf(logicalId)) {
      case 'AWS::S3::Bucket':
        return this.localNames.get(logicalId) ?? logicalId.toLowerCase();
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${logicalId}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${logicalId}`;
      case 'AWS::SecretsManager::Secret':
        // Secrets Manager appends six random characters to the name.
        return `arn:aws:secretsmanager:${region}:${account}:secret:${logicalId}-AbCdEf`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${logicalId}`;
      case 'AWS::KMS::Key':
        return `${logicalId.toLowerCase()}-0000-0000-0000-000000000000`;
      default:
        return logicalId;
    }
  }

  attribute(logicalId: string, attribute: string): string {
    const { region, account } = LOCAL_ACCOUNT;
    const type = this.typeOf(logicalId);
    const key = `${type}.${attribute}`;
    switch (key) {
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${this.ref(logicalId)}`;
      case 'AWS::SQS::Queue.Arn':
        return `arn:aws:sqs:${region}:${account}:${logicalId}`;
      case 'AWS::SQS::Queue.QueueName':
      case 'AWS::SNS::Topic.TopicName':
      case 'AWS::StepFunctions::StateMachine.Name':
        return logicalId;
      case 'AWS::SNS::Topic.TopicArn':
      case 'AWS::StepFunctions::StateMachine.Arn':
        return this.ref(logicalId);
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${region}:${account}:function:${logicalId}`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${account}:role/${logicalId}`;
      case 'AWS::KMS::Key.Arn':
        return `arn:aws:kms:${region}:${account}:key/${this.ref(logicalId)}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${region}:${account}:log-group:${logicalId}:*`;
      default:
        throw new Error(`Local mode cannot resolve Fn::GetAtt ${logicalId}.${attribute} (a ${type})`);
    }
  }

  queueArnOfUrl(url: string): string {
    const name = url.split('/').pop() ?? url;
    return `arn:aws:sqs:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:${name}`;
  }

  private intrinsic(name: string, argument: unknown): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(String(argument));
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(argument) ? (argument as [string, string]) : String(argument).split('.');
        return this.attribute(String(id), String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown[]];
        return (this.value(parts) as unknown[]).map((part) => String(part)).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = argument as [unknown, unknown];
        return (this.value(list) as unknown[])[Number(this.value(index))];
      }
      case 'Fn::Split': {
        const [separator, text] = argument as [string, unknown];
        return this.string(text).split(separator);
      }
      default:
        throw new Error(`Local mode cannot resolve ${name} in the template`);
    }
  }

  private typeOf(logicalId: string): string {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`The template refers to ${logicalId}, which it does not define`);
    return resource.Type;
  }
}
