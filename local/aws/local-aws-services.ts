import { randomUUID } from 'node:crypto';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import { withoutUndefined } from '../../src/without-undefined';
import { type JsonVersion, json, jsonError, raw, snsError } from './service-answers';
import { checkPublish, SnsRequestError } from './sns-publish-rules';

/**
 * Secrets Manager, SNS and Step Functions for local mode, behind the SDK clients' own request handler: the
 * functions' production code sends real SDK commands (signed, serialized, parsed back by the SDK), and these answer
 * them in process, with the services' limits and error shapes. Nothing leaves the machine.
 */

/** The request the SDK hands its HTTP handler (structurally `HttpRequest` of the SDK). */
interface SdkRequest {
  readonly hostname: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

export interface PublishedMessage {
  readonly messageId: string;
  readonly input: PublishCommandInput;
}

export interface LocalExecutions {
  /**
   * Starts an execution as StartExecution does: a name used before answers `already-exists`, unless that execution
   * is still running with the same input, which is the same request again (`started`, its start returned again).
   */
  start(
    stateMachineArn: string,
    name: string,
    input: string,
  ): Promise<{ outcome: 'started' | 'already-exists' | 'no-such-machine'; executionArn: string; startDate: Date }>;
}

export interface LocalAwsServicesOptions {
  /** Secret values by ARN. */
  readonly secrets: ReadonlyMap<string, string>;
  /** Topics that exist, by ARN. */
  readonly topics: ReadonlySet<string>;
  readonly onPublish: (message: PublishedMessage) => void;
  readonly executions: LocalExecutions;
}

/** Step Functions' quotas on StartExecution (service quotas page and API reference). */
const MAX_EXECUTION_INPUT_BYTES = 262_144;
const MAX_EXECUTION_NAME_CHARS = 80;
// biome-ignore lint/suspicious/noControlCharactersInRegex: Step Functions refuses control characters in a name.
const FORBIDDEN_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

export class LocalAwsServices {
  /** The request handler to give SDK clients of these services (`requestHandler`). */
  readonly requestHandler = {
    handle: (request: SdkRequest) => this.handle(request).then((response) => ({ response })),
  };

  constructor(private readonly options: LocalAwsServicesOptions) {}

  private async handle(request: SdkRequest) {
    const body = await text(request.body);
    const service = request.hostname.split('.')[0];
    switch (service) {
      case 'secretsmanager':
        return this.secretsManager(target(request), JSON.parse(body || '{}') as Record<string, unknown>);
      case 'states':
        return this.stepFunctions(target(request), JSON.parse(body || '{}') as Record<string, unknown>);
      case 'sns':
        return this.sns(new URLSearchParams(body));
      default:
        throw new Error(`Local mode has no ${request.hostname} service`);
    }
  }

  private secretsManager(operation: string, input: Record<string, unknown>) {
    if (operation !== 'GetSecretValue') return unknownOperation('1.1', 'Secrets Manager', operation);
    const id = String(input.SecretId);
    const arn = [...this.options.secrets.keys()].find((candidate) => candidate === id || secretName(candidate) === id);
    if (!arn)
      return jsonError('1.1', 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return json('1.1', {
      ARN: arn,
      Name: secretName(arn),
      SecretString: this.options.secrets.get(arn),
      VersionId: '00000000-0000-0000-0000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_764_000_000,
    });
  }

  private async stepFunctions(operation: string, input: Record<string, unknown>) {
    if (operation !== 'StartExecution') return unknownOperation('1.0', 'Step Functions', operation);
    const name = String(input.name ?? randomUUID());
    const executionInput = typeof input.input === 'string' ? input.input : '{}';
    if (Buffer.byteLength(executionInput, 'utf8') > MAX_EXECUTION_INPUT_BYTES) {
      return jsonError(
        '1.0',
        400,
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_EXECUTION_INPUT_BYTES}`,
      );
    }
    if (name.length > MAX_EXECUTION_NAME_CHARS) {
      return jsonError(
        '1.0',
        400,
        'ValidationException',
        `1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to ${MAX_EXECUTION_NAME_CHARS}`,
      );
    }
    if (name.length === 0 || FORBIDDEN_NAME_CHARACTERS.test(name))
      return jsonError('1.0', 400, 'InvalidName', `Invalid Name: '${name}'`);
    try {
      JSON.parse(executionInput);
    } catch {
      return jsonError(
        '1.0',
        400,
        'InvalidExecutionInput',
        'Invalid State Machine Execution Input: the input is not JSON',
      );
    }
    const started = await this.options.executions.start(String(input.stateMachineArn), name, executionInput);
    if (started.outcome === 'no-such-machine')
      return jsonError(
        '1.0',
        400,
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${String(input.stateMachineArn)}'`,
      );
    if (started.outcome === 'already-exists')
      return jsonError('1.0', 400, 'ExecutionAlreadyExists', `Execution Already Exists: '${started.executionArn}'`);
    return json('1.0', { executionArn: started.executionArn, startDate: started.startDate.getTime() / 1000 });
  }

  private sns(form: URLSearchParams) {
    const action = form.get('Action');
    if (action !== 'Publish')
      return snsError(400, 'InvalidAction', `Local mode does not serve SNS ${action ?? '(no action)'}`);
    const input = publishInput(form);
    const topicArn = input.TopicArn ?? input.TargetArn;
    try {
      checkPublish(input);
    } catch (error) {
      if (error instanceof SnsRequestError) return snsError(error.statusCode, error.code, error.message);
      throw error;
    }
    if (!topicArn || !this.options.topics.has(topicArn)) return snsError(404, 'NotFound', 'Topic does not exist');
    const messageId = randomUUID();
    this.options.onPublish({ messageId, input });
    return raw(
      200,
      { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() },
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  }
}

/** The Publish request as the SDK serialized it (query protocol: `MessageAttributes.entry.N.Name`...). */
function publishInput(form: URLSearchParams): PublishCommandInput {
  const field = (name: string) => form.get(name) ?? undefined;
  const attributes: NonNullable<PublishCommandInput['MessageAttributes']> = {};
  for (let index = 1; form.has(`MessageAttributes.entry.${index}.Name`); index++) {
    const prefix = `MessageAttributes.entry.${index}`;
    const binary = field(`${prefix}.Value.BinaryValue`);
    attributes[form.get(`${prefix}.Name`)!] = {
      DataType: field(`${prefix}.Value.DataType`),
      ...(field(`${prefix}.Value.StringValue`) === undefined
        ? {}
        : { StringValue: field(`${prefix}.Value.StringValue`) }),
      ...(binary === undefined ? {} : { BinaryValue: Buffer.from(binary, 'base64') }),
    } as NonNullable<PublishCommandInput['MessageAttributes']>[string];
  }
  const input: Record<string, unknown> = {
    TopicArn: field('TopicArn'),
    TargetArn: field('TargetArn'),
    PhoneNumber: field('PhoneNumber'),
    Message: field('Message'),
    Subject: field('Subject'),
    MessageStructure: field('MessageStructure'),
    MessageGroupId: field('MessageGroupId'),
    MessageDeduplicationId: field('MessageDeduplicationId'),
    ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
  };
  return withoutUndefined(input) as unknown as PublishCommandInput;
}

/** A secret's name: its ARN's last part, without the six characters Secrets Manager appends. */
function secretName(arn: string): string {
  return (arn.split(':secret:')[1] ?? arn).replace(/-[A-Za-z0-9]{6}$/, '');
}

function target(request: SdkRequest): string {
  const header = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1] ?? '';
  return header.split('.').pop() ?? '';
}

async function text(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // Decoded as bytes: the SDK's JSON bodies are byte arrays that also act as strings (and warn when used so).
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** The answer to an operation local mode does not serve, as AWS JSON protocols name it. */
function unknownOperation(protocol: JsonVersion, service: string, operation: string) {
  return jsonError(protocol, 400, 'UnknownOperationException', `Local mode does not serve ${service} ${operation}`);
}
