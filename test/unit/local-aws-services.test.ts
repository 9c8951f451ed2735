import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { LocalAwsServices, type LocalExecutions, type PublishedMessage } from '../../local/aws/local-aws-services';
import { SfnWorkflowStarter } from '../../src/ingest/sfn-workflow-starter';

/**
 * Secrets Manager, SNS and Step Functions of local mode, reached by the real SDK clients: the SDK serializes each
 * request and parses each answer, refusals included, as it does against AWS.
 */

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:Outcomes';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pix4d/inspect-AbCdEf';
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Inspection';

function local(executions?: LocalExecutions) {
  const published: PublishedMessage[] = [];
  const started: { name: string; input: string }[] = [];
  const services = new LocalAwsServices({
    secrets: new Map([[SECRET, '{"username":"pilot"}']]),
    topics: new Set([TOPIC]),
    onPublish: (message) => published.push(message),
    executions: executions ?? {
      start: async (arn, name, input) => {
        started.push({ name, input });
        return {
          outcome: started.filter((run) => run.name === name).length > 1 ? 'already-exists' : 'started',
          executionArn: `${arn}:${name}`,
          startDate: new Date(),
        };
      },
    },
  });
  const config = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'LOCAL', secretAccessKey: 'LOCAL' },
    requestHandler: services.requestHandler as never,
  };
  return {
    sns: new SNSClient(config),
    secrets: new SecretsManagerClient(config),
    sfn: new SFNClient(config),
    published,
    started,
  };
}

async function rejection(call: Promise<unknown>): Promise<Error> {
  return call.then(
    () => {
      throw new Error('The call succeeded');
    },
    (error: unknown) => error as Error,
  );
}

describe('local SNS', () => {
  it('takes a Publish with JSON structure and attributes, as the SDK serialized it', async () => {
    // Prepare
    const { sns, published } = local();
    const message = JSON.stringify({ default: '{"type":"inspection.completed"}', email: 'Done.' });

    // Act
    const answer = await sns.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Subject: 'Inspection completed: tower-1/flight-1 (3 photos)',
        MessageStructure: 'json',
        Message: message,
        MessageAttributes: { type: { DataType: 'String', StringValue: 'inspection.completed' } },
      }),
    );

    // Assess
    expect(published).toEqual([
      {
        messageId: answer.MessageId,
        input: expect.objectContaining({
          Message: message,
          MessageStructure: 'json',
          MessageAttributes: { type: { DataType: 'String', StringValue: 'inspection.completed' } },
        }),
      },
    ]);
  });

  it('refuses what SNS refuses with its own error: a Subject of 100 characters, a message above 256 KiB, an unknown topic', async () => {
    // Prepare
    const { sns, published } = local();

    // Act
    const subject = await rejection(
      sns.send(new PublishCommand({ TopicArn: TOPIC, Subject: 'S'.repeat(100), Message: 'm' })),
    );
    const size = await rejection(sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'm'.repeat(262_145) })));
    const topic = await rejection(sns.send(new PublishCommand({ TopicArn: `${TOPIC}-gone`, Message: 'm' })));

    // Assess
    expect([subject.name, subject.message]).toEqual(['InvalidParameterException', 'Invalid parameter: Subject']);
    expect([size.name, size.message]).toEqual(['InvalidParameterException', 'Invalid parameter: Message too long']);
    expect(topic.name).toBe('NotFoundException');
    expect(published).toEqual([]);
  });
});

describe('local Secrets Manager', () => {
  it('answers GetSecretValue by ARN or by name, and ResourceNotFoundException for another secret', async () => {
    // Prepare
    const { secrets } = local();

    // Act
    const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET }));
    const byName = await secrets.send(new GetSecretValueCommand({ SecretId: 'pix4d/inspect' }));
    const missing = await rejection(secrets.send(new GetSecretValueCommand({ SecretId: 'pix4d/other' })));

    // Assess
    expect([byArn.SecretString, byArn.ARN, byName.Name]).toEqual(['{"username":"pilot"}', SECRET, 'pix4d/inspect']);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('local Step Functions', () => {
  it('tells the ingest starter a name used before as ExecutionAlreadyExists', async () => {
    // Prepare
    const { sfn } = local();
    const starter = new SfnWorkflowStarter(sfn, { inspection: MACHINE, waiter: `${MACHINE}Waiter` });

    // Act
    const first = await starter.start('inspection', 'm-tower-1-abc', { batch: { prefix: 'tower-1/flight-1/' } });
    const second = await starter.start('inspection', 'm-tower-1-abc', { batch: { prefix: 'tower-1/flight-1/' } });

    // Assess
    expect([first, second]).toEqual(['started', 'already-started']);
  });

  it('refuses an input above 256 KiB and a name StartExecution does not take, as the service does', async () => {
    // Prepare
    const { sfn, started } = local();

    // Act
    const large = await rejection(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: MACHINE,
          name: 'run-1',
          input: JSON.stringify({ a: 'x'.repeat(262_144) }),
        }),
      ),
    );
    const badName = await rejection(
      sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'tower 1/flight', input: '{}' })),
    );
    const longName = await rejection(
      sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'n'.repeat(81), input: '{}' })),
    );

    // Assess
    expect([large.name, badName.name, longName.name]).toEqual([
      'ValidationException',
      'InvalidName',
      'ValidationException',
    ]);
    expect(large.message).toContain('262144');
    expect(started).toEqual([]);
  });
});
