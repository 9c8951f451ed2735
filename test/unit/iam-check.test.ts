import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineStep } from '../../lib/pipeline-functions';
import { LocalAwsServices } from '../../local/aws/local-aws-services';
import { grantKey, IamAuthorizer } from '../../local/iam/iam-authorizer';
import { holdToRole } from '../../local/iam/sdk-identity';
import {
  LOCAL_ACCOUNT,
  LOCAL_BUCKETS,
  type SynthesizedStack,
  synthesizeStack,
} from '../../local/pipeline/synthesized-stack';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';

/**
 * Every AWS call of a function held to its role in the synthesized template: real SDK clients against the embedded S3
 * server and local mode's Secrets Manager, SNS and Step Functions, refusals shaped as the services send them.
 */

let stack: SynthesizedStack;
let embeddedS3: EmbeddedS3;
const published: string[] = [];

beforeAll(async () => {
  stack = synthesizeStack();
  embeddedS3 = await startEmbeddedS3({ buckets: [LOCAL_BUCKETS.drop, LOCAL_BUCKETS.work] });
}, 60_000);

afterAll(async () => {
  await embeddedS3?.close();
});

function services(): LocalAwsServices {
  return new LocalAwsServices({
    secrets: new Map([[stack.resources.secretArn, '{"username":"u","password":"p","apiKey":"k"}']]),
    topics: new Set([stack.resources.topicArn]),
    onPublish: ({ messageId }) => published.push(messageId),
    executions: {
      start: async (arn, name) => ({ outcome: 'started', executionArn: `${arn}:${name}`, startDate: new Date() }),
    },
  });
}

/** The clients of one function, each held to the function's role. */
function clientsOf(step: PipelineStep, authorizer: IamAuthorizer) {
  const fn = stack.functions[step];
  const caller = { roleArn: fn.roleArn, sessionName: fn.name };
  const aws = {
    region: LOCAL_ACCOUNT.region,
    credentials: { accessKeyId: 'LOCAL', secretAccessKey: 'LOCAL' },
    requestHandler: services().requestHandler as never,
  };
  return {
    s3: holdToRole(embeddedS3.client(), caller, authorizer),
    sns: holdToRole(new SNSClient(aws), caller, authorizer),
    secretsManager: holdToRole(new SecretsManagerClient(aws), caller, authorizer),
    sfn: holdToRole(new SFNClient(aws), caller, authorizer),
  };
}

async function refusal(call: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  if (!outcome) throw new Error('The call was allowed');
  return outcome;
}

describe('the IAM check of local mode', () => {
  it('refuses a write the role lacks as S3 does: AccessDenied, HTTP 403, naming the action and the resource', async () => {
    // Prepare: the copy function reads photos and may write nothing to the drop bucket.
    const authorizer = new IamAuthorizer(stack);
    const { s3 } = clientsOf('copy', authorizer);

    // Act
    const error = await refusal(
      s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKETS.drop, Key: 'tower-1/flight-1/x.jpg', Body: 'x' })),
    );

    // Assess
    expect(error).toBeInstanceOf(S3ServiceException);
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    expect(error.message).toContain(
      `assumed-role/${stack.roles.get(stack.functions.copy.roleArn)!.name}/${stack.functions.copy.name}`,
    );
    expect(error.message).toContain(
      'is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::inspect-drop/tower-1/flight-1/x.jpg"',
    );
    expect(authorizer.refused()).toEqual([
      expect.objectContaining({ caller: 'function copy', action: 's3:PutObject' }),
    ]);
    expect(
      await embeddedS3
        .client()
        .send(new HeadObjectCommand({ Bucket: LOCAL_BUCKETS.drop, Key: 'tower-1/flight-1/x.jpg' }))
        .catch((e: Error) => e.name),
    ).toBe('NotFound');
  });

  it('allows what the role grants and records the grant that allowed it', async () => {
    // Prepare
    const authorizer = new IamAuthorizer(stack);
    const { s3 } = clientsOf('copy', authorizer);

    // Act
    await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKETS.work, Key: 'runs/b-1/copy-0.json', Body: '{}' }));
    const read = await s3.send(new GetObjectCommand({ Bucket: LOCAL_BUCKETS.work, Key: 'runs/b-1/copy-0.json' }));

    // Assess
    expect(await read.Body!.transformToString()).toBe('{}');
    const copyGrants = authorizer
      .grants()
      .filter((grant) => grant.usedBy === 'function copy' && grant.resource === 'arn:aws:s3:::inspect-work/runs/*');
    expect(copyGrants.map((grant) => grant.action).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(authorizer.used()).toEqual(expect.arrayContaining(copyGrants.map(grantKey)));
    expect(authorizer.refused()).toEqual([]);
  });

  it('answers a missing key with 403 to a role that may not list the bucket, and with NoSuchKey to one that may', async () => {
    // Prepare: register reads run files but may not list the work bucket; notify may.
    const authorizer = new IamAuthorizer(stack);
    const register = clientsOf('register', authorizer).s3;
    const notify = clientsOf('notify', authorizer).s3;
    const missing = { Bucket: LOCAL_BUCKETS.work, Key: 'runs/b-2/summary.json' };

    // Act
    const withoutList = await refusal(register.send(new GetObjectCommand(missing)));
    const headWithoutList = await refusal(register.send(new HeadObjectCommand(missing)));
    const withList = await refusal(notify.send(new GetObjectCommand(missing)));

    // Assess
    expect([withoutList.name, withoutList.$metadata?.httpStatusCode]).toEqual(['AccessDenied', 403]);
    expect(withoutList.message).toContain('s3:ListBucket on resource: "arn:aws:s3:::inspect-work"');
    expect([headWithoutList.$metadata?.httpStatusCode]).toEqual([403]);
    expect([withList.name, withList.$metadata?.httpStatusCode]).toEqual(['NoSuchKey', 404]);
  });

  it('refuses SNS, Secrets Manager and Step Functions calls in their own error shapes', async () => {
    // Prepare: check-status may read the secret but publishes nothing and starts nothing; copy may not start executions.
    const authorizer = new IamAuthorizer(stack);
    const checkStatus = clientsOf('check-status', authorizer);
    const notify = clientsOf('notify', authorizer);
    const register = clientsOf('register', authorizer);
    const publish = { TopicArn: stack.resources.topicArn, Message: 'hello', Subject: 'Inspection completed' };

    // Act
    const snsRefusal = await refusal(checkStatus.sns.send(new PublishCommand(publish)));
    const accepted = await notify.sns.send(new PublishCommand(publish));
    const secret = await checkStatus.secretsManager.send(
      new GetSecretValueCommand({ SecretId: stack.resources.secretArn }),
    );
    const sfnRefusal = await refusal(
      register.sfn.send(
        new StartExecutionCommand({ stateMachineArn: stack.inspection.arn, name: 'run-1', input: '{}' }),
      ),
    );

    // Assess
    expect([snsRefusal.name, snsRefusal.$metadata?.httpStatusCode]).toEqual(['AuthorizationErrorException', 403]);
    expect(snsRefusal.message).toContain(`sns:Publish on resource: "${stack.resources.topicArn}"`);
    expect(published).toContain(accepted.MessageId);
    expect(JSON.parse(secret.SecretString!)).toEqual({ username: 'u', password: 'p', apiKey: 'k' });
    expect(sfnRefusal.name).toBe('AccessDeniedException');
    expect(sfnRefusal.message).toContain(`states:StartExecution on resource: "${stack.inspection.arn}"`);
  });

  it('fails loudly on a command whose IAM action local mode does not know, rather than letting it through', async () => {
    // Prepare
    const authorizer = new IamAuthorizer(stack);
    const { s3 } = clientsOf('copy', authorizer);
    const { ListBucketsCommand } = await import('@aws-sdk/client-s3');

    // Act
    const error = await refusal((s3 as S3Client).send(new ListBucketsCommand({})));

    // Assess
    expect(error.message).toContain('Local mode does not know which IAM action S3Client ListBucketsCommand needs');
  });
});
