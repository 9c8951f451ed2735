import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessLogsBucket } from '../../lib/access-logs-bucket';
import { DropBucket } from '../../lib/drop-bucket';
import { IngestQueue } from '../../lib/ingest-queue';
import { Notifications, type NotificationsProps } from '../../lib/notifications';
import { WorkBucket } from '../../lib/work-bucket';
import { WorkflowAlarms } from '../../lib/workflow-alarms';
import { acknowledgementsIn } from '../helpers/acknowledgements';

const CDK_JSON = join(__dirname, '..', '..', 'cdk.json');
const EMAIL = 'operator@example.com';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:inspect-notifications';

const outdirs: string[] = [];

afterEach(() => {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
});

/** An app with cdk.json's feature flags, as `cdk synth` builds it. */
function newApp(): App {
  const cdkJson = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-storage-'));
  outdirs.push(outdir);
  return new App({ outdir, context: { ...cdkJson.context } });
}

interface TestStack {
  readonly app: App;
  readonly stack: Stack;
  readonly accessLogs: AccessLogsBucket;
  readonly drop: DropBucket;
  readonly work: WorkBucket;
  readonly ingest: IngestQueue;
  readonly notifications: Notifications;
  readonly workflowAlarms: WorkflowAlarms;
  readonly publisher: iam.Role;
}

/** All six constructs wired as the pipeline stack wires them, around a trivial state machine. */
function buildTestStack(notificationsProps: NotificationsProps = { notificationEmail: EMAIL }): TestStack {
  const app = newApp();
  const stack = new Stack(app, 'StorageAndMessaging');
  const accessLogs = new AccessLogsBucket(stack, 'AccessLogs');
  const drop = new DropBucket(stack, 'Drop', { accessLogs: accessLogs.bucket });
  const work = new WorkBucket(stack, 'Work', { accessLogs: accessLogs.bucket });
  const notifications = new Notifications(stack, 'Notifications', notificationsProps);
  const ingest = new IngestQueue(stack, 'Ingest', {
    visibilityTimeout: Duration.minutes(6),
    consumerTimeout: Duration.minutes(1),
    alarmAction: notifications.alarmAction,
  });
  drop.notifyQueue(ingest.queue);

  const stateMachine = new sfn.StateMachine(stack, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Nothing')),
  });
  Validations.of(stateMachine).acknowledge(
    {
      id: 'AwsSolutions-SF1',
      reason: 'A one-Pass-state stand-in for the pipeline state machine, only there to be watched by WorkflowAlarms.',
    },
    {
      id: 'AwsSolutions-SF2',
      reason: 'A one-Pass-state stand-in for the pipeline state machine, only there to be watched by WorkflowAlarms.',
    },
  );
  const workflowAlarms = new WorkflowAlarms(stack, 'WorkflowAlarms', {
    stateMachine,
    alarmAction: notifications.alarmAction,
  });

  const publisher = new iam.Role(stack, 'Publisher', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  notifications.grantPublish(publisher);

  return { app, stack, accessLogs, drop, work, ingest, notifications, workflowAlarms, publisher };
}

function logicalIdOf(construct: IConstruct): string {
  const resource = construct.node.defaultChild as CfnResource;
  return Stack.of(construct).getLogicalId(resource);
}

function bucketIds(built: TestStack): { accessLogs: string; drop: string; work: string } {
  return {
    accessLogs: logicalIdOf(built.accessLogs.bucket),
    drop: logicalIdOf(built.drop.bucket),
    work: logicalIdOf(built.work.bucket),
  };
}

const SSL_ONLY_BUCKET_STATEMENT = Match.objectLike({
  Effect: 'Deny',
  Action: 's3:*',
  Principal: { AWS: '*' },
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});

const SSL_ONLY_QUEUE_STATEMENT = Match.objectLike({
  Effect: 'Deny',
  Action: 'sqs:*',
  Principal: { AWS: '*' },
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});

const SSL_ONLY_TOPIC_STATEMENT = Match.objectLike({
  Effect: 'Deny',
  Action: 'sns:Publish',
  Principal: '*',
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});

describe('buckets', () => {
  it('block all public access, encrypt with SSE-S3 and are retained, every one of them', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const buckets = Template.fromStack(built.stack).findResources('AWS::S3::Bucket');

    // Assess
    expect(Object.keys(buckets).sort()).toStrictEqual(Object.values(bucketIds(built)).sort());
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toStrictEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.BucketEncryption).toStrictEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('deny requests without TLS in the bucket policy of every bucket', () => {
    // Prepare
    const built = buildTestStack();
    const template = Template.fromStack(built.stack);

    // Act
    const logicalIds = Object.values(bucketIds(built));

    // Assess
    for (const logicalId of logicalIds) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId },
        PolicyDocument: { Statement: Match.arrayWith([SSL_ONLY_BUCKET_STATEMENT]) },
      });
    }
  });

  it('log server access of the drop and work buckets to the log bucket, each under its prefix', () => {
    // Prepare
    const built = buildTestStack();
    const ids = bucketIds(built);

    // Act
    const buckets = Template.fromStack(built.stack).findResources('AWS::S3::Bucket');

    // Assess
    expect(buckets[ids.drop]?.Properties.LoggingConfiguration).toStrictEqual({
      DestinationBucketName: { Ref: ids.accessLogs },
      LogFilePrefix: 'drop-bucket/',
    });
    expect(buckets[ids.work]?.Properties.LoggingConfiguration).toStrictEqual({
      DestinationBucketName: { Ref: ids.accessLogs },
      LogFilePrefix: 'work-bucket/',
    });
    expect(buckets[ids.accessLogs]?.Properties.LoggingConfiguration).toBeUndefined();
  });

  it('let S3 log delivery write into the log bucket for its two source buckets only, without ACLs', () => {
    // Prepare
    const built = buildTestStack();
    const ids = bucketIds(built);

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      AccessControl: Match.absent(),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })] },
    });
    for (const [source, prefix] of [
      [ids.drop, 'drop-bucket/'],
      [ids.work, 'work-bucket/'],
    ] as const) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: ids.accessLogs },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.accessLogs, 'Arn'] }, `/${prefix}*`]] },
              Condition: {
                ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [source, 'Arn'] } },
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              },
            }),
          ]),
        },
      });
    }
  });

  it('let S3 log delivery write through the bucket policy in an app without the cdk.json feature flags', () => {
    // Prepare
    const stack = new Stack(new App(), 'NoFlags');
    const accessLogs = new AccessLogsBucket(stack, 'AccessLogs');

    // Act
    new WorkBucket(stack, 'Work', { accessLogs: accessLogs.bucket });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      AccessControl: Match.absent(),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf(accessLogs.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
        ]),
      },
    });
  });

  it('version the drop bucket only', () => {
    // Prepare
    const built = buildTestStack();
    const ids = bucketIds(built);

    // Act
    const buckets = Template.fromStack(built.stack).findResources('AWS::S3::Bucket');

    // Assess
    expect(buckets[ids.drop]?.Properties.VersioningConfiguration).toStrictEqual({ Status: 'Enabled' });
    expect(buckets[ids.work]?.Properties.VersioningConfiguration).toBeUndefined();
  });

  it('expire the work bucket runs/ and batches/ after 90 days, never the asset registry', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const buckets = Template.fromStack(built.stack).findResources('AWS::S3::Bucket');

    // Assess
    const rules = buckets[bucketIds(built).work]?.Properties.LifecycleConfiguration.Rules as object[];
    expect(rules).toStrictEqual([
      { Id: 'AbortIncompleteUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      { Id: 'ExpireRuns', Prefix: 'runs/', ExpirationInDays: 90, Status: 'Enabled' },
      { Id: 'ExpireBatchRecords', Prefix: 'batches/', ExpirationInDays: 90, Status: 'Enabled' },
    ]);
  });

  it('abort abandoned uploads and expire replaced versions in the drop bucket, never its current photos', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const buckets = Template.fromStack(built.stack).findResources('AWS::S3::Bucket');

    // Assess
    const rules = buckets[bucketIds(built).drop]?.Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toStrictEqual([
      { Id: 'AbortIncompleteUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
      { Id: 'ExpireReplacedVersions', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' },
    ]);
    expect(rules.filter((rule) => 'ExpirationInDays' in rule || 'ExpirationDate' in rule)).toStrictEqual([]);
  });

  it('take the drop bucket lifecycle days from its props', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Drop');

    // Act
    new DropBucket(stack, 'Drop', { abortIncompleteUploadDays: 2, noncurrentVersionDays: 365 });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 365 } }),
        ],
      },
    });
  });

  it('put an abort rule on every bucket the stack creates', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const buckets = Object.entries(Template.fromStack(built.stack).findResources('AWS::S3::Bucket'));

    // Assess
    const withoutAbort = buckets
      .filter(([, bucket]) => {
        const rules = (bucket.Properties.LifecycleConfiguration?.Rules ?? []) as {
          AbortIncompleteMultipartUpload?: unknown;
          Prefix?: string;
        }[];
        return !rules.some((rule) => rule.AbortIncompleteMultipartUpload && rule.Prefix === undefined);
      })
      .map(([id]) => id);
    expect(buckets.length).toBeGreaterThanOrEqual(3);
    expect(withoutAbort).toStrictEqual([]);
  });

  it('take the runs retention and the removal policy of the work bucket from its props', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Work');

    // Act
    new WorkBucket(stack, 'Work', { runRetentionDays: 7, removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 7 }),
            Match.objectLike({ Prefix: 'batches/', ExpirationInDays: 7 }),
          ]),
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'work-bucket/' }),
      },
    });
    // Without accessLogs the work bucket gets a log bucket of its own, which is retained.
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } },
    });
  });

  it.each([0, 1.5, -3])('refuse a lifecycle of %s days', (days) => {
    // Prepare
    const stack = new Stack(newApp(), 'Days');

    // Act
    const buildWork = (): WorkBucket => new WorkBucket(stack, 'Work', { runRetentionDays: days });
    const buildLogs = (): AccessLogsBucket => new AccessLogsBucket(stack, 'Logs', { retentionDays: days });
    const buildDrop = (): DropBucket => new DropBucket(stack, 'Drop', { noncurrentVersionDays: days });
    const buildDropAbort = (): DropBucket => new DropBucket(stack, 'DropAbort', { abortIncompleteUploadDays: days });

    // Assess
    expect(buildDrop).toThrow(/DropBucket: noncurrentVersionDays must be a whole number of days >= 1/);
    expect(buildDropAbort).toThrow(/DropBucket: abortIncompleteUploadDays must be a whole number of days >= 1/);
    expect(buildWork).toThrow(/WorkBucket: runRetentionDays must be a whole number of days >= 1/);
    expect(buildLogs).toThrow(/AccessLogsBucket: retentionDays must be a whole number of days >= 1/);
  });
});

describe('DropBucket', () => {
  it('notifies the ingest queue of every created object, keeping the notifications it did not add', () => {
    // Prepare
    const built = buildTestStack();
    const bucketArn = { 'Fn::GetAtt': [logicalIdOf(built.drop.bucket), 'Arn'] };

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.resourceCountIs('Custom::S3BucketNotifications', 1);
    // Unmanaged (cdk.json's @aws-cdk/aws-s3:keepNotificationInImportedBucket): the handler merges the queue
    // notification into the bucket's configuration instead of replacing it, so it reads the configuration first.
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalIdOf(built.drop.bucket) },
      NotificationConfiguration: {
        QueueConfigurations: [
          { Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [logicalIdOf(built.ingest.queue), 'Arn'] } },
        ],
      },
      Managed: false,
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['s3:GetBucketNotification', 's3:PutBucketNotification'], Resource: bucketArn },
        ],
      },
    });
  });

  it('lets S3 send to the queue for the drop bucket of this account only, before the notification is put', () => {
    // Prepare
    const built = buildTestStack();
    const queueId = logicalIdOf(built.ingest.queue);

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(built.drop.bucket), 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
    const [notificationsResource] = Object.values(template.findResources('Custom::S3BucketNotifications'));
    const [queuePolicyId] = Object.keys(
      template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queueId }] } }),
    );
    expect(notificationsResource?.DependsOn).toEqual(expect.arrayContaining([queuePolicyId]));
  });

  it('uses an existing bucket as is and still notifies the queue, keeping its other notifications', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Imported');
    const existingBucket = s3.Bucket.fromBucketName(stack, 'Existing', 'customer-drop-bucket');
    const ingest = new IngestQueue(stack, 'Ingest', { visibilityTimeout: Duration.minutes(6) });

    // Act
    const drop = new DropBucket(stack, 'Drop', { existingBucket });
    drop.notifyQueue(ingest.queue);

    // Assess
    expect(drop.bucket).toBe(existingBucket);
    expect(drop.accessLogs).toBeUndefined();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'customer-drop-bucket',
      NotificationConfiguration: { QueueConfigurations: [Match.objectLike({ Events: ['s3:ObjectCreated:*'] })] },
      Managed: false,
    });
  });

  it.each([
    ['accessLogs', (stack: Stack) => ({ accessLogs: s3.Bucket.fromBucketName(stack, 'Logs', 'customer-logs') })],
    ['removalPolicy', () => ({ removalPolicy: RemovalPolicy.DESTROY })],
    ['abortIncompleteUploadDays', () => ({ abortIncompleteUploadDays: 3 })],
    ['noncurrentVersionDays', () => ({ noncurrentVersionDays: 3 })],
  ])('refuses %s with an existing bucket, which cannot take it', (prop, extraProps) => {
    // Prepare
    const stack = new Stack(newApp(), 'Conflicting');
    const existingBucket = s3.Bucket.fromBucketName(stack, 'Existing', 'customer-drop-bucket');

    // Act
    const build = (): DropBucket => new DropBucket(stack, 'Drop', { existingBucket, ...extraProps(stack) });

    // Assess
    expect(build).toThrow(`DropBucket: ${prop} cannot be applied to existingBucket`);
  });

  it('lets S3 use the key of a KMS-encrypted queue, and warns about a queue whose policy it cannot change', () => {
    // Prepare
    const stack = new Stack(newApp(), 'OtherQueues');
    const drop = new DropBucket(stack, 'Drop');
    const key = new kms.Key(stack, 'QueueKey', { enableKeyRotation: true });
    const encrypted = new sqs.Queue(stack, 'Encrypted', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
    });
    const imported = sqs.Queue.fromQueueArn(stack, 'Imported', 'arn:aws:sqs:eu-west-1:123456789012:customer-queue');

    // Act
    drop.notifyQueue(encrypted);
    drop.notifyQueue(imported);

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 's3.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    Annotations.fromStack(stack).hasWarning(
      '/OtherQueues/Drop',
      Match.stringLikeRegexp('Cannot add a statement to the policy of imported queue'),
    );
  });

  it('creates a log bucket of its own when given none', () => {
    // Prepare
    const stack = new Stack(newApp(), 'OwnLogs');

    // Act
    const drop = new DropBucket(stack, 'Drop');

    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: logicalIdOf(drop.accessLogs as s3.Bucket) },
        LogFilePrefix: 'drop-bucket/',
      },
    });
  });
});

describe('IngestQueue', () => {
  it('encrypts the queue and its dead-letter queue with SQS managed keys and redrives after 5 receives', () => {
    // Prepare
    const built = buildTestStack();
    const dlqId = logicalIdOf(built.ingest.deadLetterQueue);

    // Act
    const queues = Template.fromStack(built.stack).findResources('AWS::SQS::Queue');

    // Assess
    expect(Object.keys(queues)).toHaveLength(2);
    expect(queues[logicalIdOf(built.ingest.queue)]?.Properties).toStrictEqual({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      MessageRetentionPeriod: 4 * 24 * 3600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(queues[dlqId]?.Properties).toStrictEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('denies requests without TLS on both queues', () => {
    // Prepare
    const built = buildTestStack();
    const template = Template.fromStack(built.stack);

    // Act
    const queueIds = [logicalIdOf(built.ingest.queue), logicalIdOf(built.ingest.deadLetterQueue)];

    // Assess
    for (const queueId of queueIds) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: { Statement: Match.arrayWith([SSL_ONLY_QUEUE_STATEMENT]) },
      });
    }
  });

  it.each([
    [Duration.minutes(5), Duration.minutes(1), /visibilityTimeout \(300 s\) must be at least 6x consumerTimeout \(60/],
    [Duration.seconds(359), Duration.minutes(1), /visibilityTimeout \(359 s\) must be at least 6x consumerTimeout/],
  ])('refuses a visibility timeout below 6x the consumer timeout %#', (visibilityTimeout, consumerTimeout, message) => {
    // Prepare
    const stack = new Stack(newApp(), 'Visibility');

    // Act
    const build = (): IngestQueue => new IngestQueue(stack, 'Ingest', { visibilityTimeout, consumerTimeout });

    // Assess
    expect(build).toThrow(message);
  });

  it('accepts a visibility timeout of exactly 6x the consumer timeout', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Visibility');

    // Act
    new IngestQueue(stack, 'Ingest', {
      visibilityTimeout: Duration.minutes(6),
      consumerTimeout: Duration.minutes(1),
      maxReceiveCount: 3,
      retentionPeriod: Duration.days(2),
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      MessageRetentionPeriod: 2 * 24 * 3600,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
  });

  it('alarms on a message in the dead-letter queue, through the alarm action', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(built.ingest.deadLetterQueue), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalIdOf(built.notifications.alarmTopic) }],
    });
  });
});

describe('Notifications', () => {
  it('creates a notification topic under the AWS managed SNS key, SSL only', () => {
    // Prepare
    const built = buildTestStack();
    const topicId = logicalIdOf(built.notifications.topic);

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Pix4Dinspect pipeline',
      KmsMasterKeyId: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':kms:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':alias/aws/sns',
          ],
        ],
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: { Statement: [SSL_ONLY_TOPIC_STATEMENT] },
    });
  });

  it('creates an alarm topic under a rotated customer managed key that the account alarms can use', () => {
    // Prepare
    const built = buildTestStack();
    const alarmTopicId = logicalIdOf(built.notifications.alarmTopic);
    const keyId = logicalIdOf(built.notifications.alarmKey);

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: alarmTopicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          SSL_ONLY_TOPIC_STATEMENT,
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              ArnLike: { 'aws:SourceArn': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':alarm:*'])] }) },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('subscribes the notification email to both topics', () => {
    // Prepare
    const built = buildTestStack({ notificationEmail: EMAIL });

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const topic of [built.notifications.topic, built.notifications.alarmTopic]) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: EMAIL,
        TopicArn: { Ref: logicalIdOf(topic) },
      });
    }
  });

  it('subscribes no one without a notification email', () => {
    // Prepare
    const props = {};

    // Act
    const built = buildTestStack(props);

    // Assess
    Template.fromStack(built.stack).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('imports a topic by ARN without creating one, and subscribes the email to it', () => {
    // Prepare
    const props = { topicArn: TOPIC_ARN, notificationEmail: EMAIL };

    // Act
    const built = buildTestStack(props);

    // Assess
    expect(built.notifications.topic.topicArn).toBe(TOPIC_ARN);
    const template = Template.fromStack(built.stack);
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toStrictEqual([logicalIdOf(built.notifications.alarmTopic)]);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: EMAIL,
      TopicArn: TOPIC_ARN,
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: TOPIC_ARN }] },
    });
  });

  it('uses an existing topic handle as is', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Existing');
    const existingTopic = sns.Topic.fromTopicArn(stack, 'Existing', TOPIC_ARN);

    // Act
    const notifications = new Notifications(stack, 'Notifications', { existingTopic });

    // Assess
    expect(notifications.topic).toBe(existingTopic);
    const topics = Template.fromStack(stack).findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toStrictEqual([logicalIdOf(notifications.alarmTopic)]);
  });

  it('lets a grantee publish with sns:Publish alone under the AWS managed key', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const template = Template.fromStack(built.stack);

    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalIdOf(built.publisher) }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: logicalIdOf(built.notifications.topic) } },
        ],
      },
    });
  });

  it.each<[Omit<NotificationsProps, 'existingTopic'> & { existingTopic?: true }, RegExp]>([
    [{ topicArn: TOPIC_ARN, existingTopic: true }, /props existingTopic and topicArn conflict/],
    [{ topicArn: 'arn:aws:sqs:eu-west-1:123456789012:queue' }, /is not an SNS topic ARN/],
    [{ topicArn: 'inspect-notifications' }, /is not an SNS topic ARN/],
    [{ notificationEmail: 'not-an-address' }, /notificationEmail "not-an-address" is not an email address/],
    [{ topicArn: TOPIC_ARN, displayName: 'Mine' }, /displayName only apply to a created topic; leave them out/],
  ])('refuses unusable props %#', ({ existingTopic, ...given }, expected) => {
    // Prepare
    const stack = new Stack(newApp(), 'Unusable');
    const props: NotificationsProps = {
      ...given,
      existingTopic: existingTopic ? sns.Topic.fromTopicArn(stack, 'Existing', TOPIC_ARN) : undefined,
    };

    // Act
    const build = (): Notifications => new Notifications(stack, 'Notifications', props);

    // Assess
    expect(build).toThrow(expected);
  });
});

describe('WorkflowAlarms', () => {
  it.each(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'])(
    'alarms on %s >= 1 over 5 minutes through the alarm action',
    (metricName) => {
      // Prepare
      const built = buildTestStack();

      // Act
      const template = Template.fromStack(built.stack);

      // Assess
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metricName,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('^StateMachine') } }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalIdOf(built.notifications.alarmTopic) }],
      });
    },
  );

  it('exposes its three alarms, and the dead-letter alarm makes four in the stack', () => {
    // Prepare
    const built = buildTestStack();

    // Act
    const { alarms } = built.workflowAlarms;

    // Assess
    expect(alarms).toStrictEqual([
      built.workflowAlarms.executionsFailed,
      built.workflowAlarms.executionsTimedOut,
      built.workflowAlarms.executionsAborted,
    ]);
    Template.fromStack(built.stack).resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });
});

describe('cdk-nag AwsSolutions on the six constructs', () => {
  it.each([
    ['a created topic', { notificationEmail: EMAIL }],
    ['a topic imported by ARN', { topicArn: TOPIC_ARN, notificationEmail: EMAIL }],
  ])('finds no unacknowledged error or warning with %s', (_name, props) => {
    // Prepare
    const { app } = buildTestStack(props);

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations).toStrictEqual([]);
    expect(report.success).toBe(true);
  });

  it('finds no unacknowledged error or warning with an existing drop bucket', () => {
    // Prepare
    const app = newApp();
    const stack = new Stack(app, 'Imported');
    const drop = new DropBucket(stack, 'Drop', {
      existingBucket: s3.Bucket.fromBucketName(stack, 'Existing', 'customer-drop-bucket'),
    });
    drop.notifyQueue(new IngestQueue(stack, 'Ingest', { visibilityTimeout: Duration.minutes(6) }).queue);

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations).toStrictEqual([]);
  });

  it('finds no unacknowledged error or warning on a log bucket that no bucket of its stack logs into', () => {
    // Prepare: cdk-nag exempts from S1 a bucket that another bucket of the stack logs into, but not this one
    const app = newApp();
    new AccessLogsBucket(new Stack(app, 'LogsOnly'), 'AccessLogs');

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations).toStrictEqual([]);
  });

  it('synthesizes with the checks as a validation plugin', () => {
    // Prepare
    const { app } = buildTestStack();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const synth = (): unknown => app.synth();

    // Assess
    expect(synth).not.toThrow();
  });

  it('acknowledges only S1 on the log bucket and IAM4 on the notifications handler, with reasons', () => {
    // Prepare
    const { app } = buildTestStack();

    // Act
    const acknowledgements = acknowledgementsIn(app).filter(({ path }) => !path.includes('/StateMachine'));

    // Assess
    expect(acknowledgements.map(({ path, id }) => ({ path, id }))).toStrictEqual([
      { path: 'StorageAndMessaging/AccessLogs/Bucket', id: 'AwsSolutions-S1' },
      {
        path: 'StorageAndMessaging/BucketNotificationsHandler050a0587b7544547bf325f094a3db834',
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      },
    ]);
    for (const { reason } of acknowledgements) expect(reason.trim().length).toBeGreaterThan(40);
  });

  it('flags the notifications handler role once the acknowledgement is missing', () => {
    // Prepare: a bucket notification made without DropBucket, which acknowledges the finding
    const app = newApp();
    const stack = new Stack(app, 'Unacknowledged');
    const bucket = new s3.Bucket(stack, 'Bucket');
    const ingest = new IngestQueue(stack, 'Ingest', { visibilityTimeout: Duration.minutes(6) });
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(ingest.queue));

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations.map(({ ruleName }) => ruleName)).toContain(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    );
  });
});
