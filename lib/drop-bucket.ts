import { Annotations, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { AccessLogsBucket, assertPositiveDays, privateBucketLoggedTo } from './access-logs-bucket';

/** Prefix of the drop bucket's objects in the access logs bucket. */
export const DROP_BUCKET_ACCESS_LOGS_PREFIX = 'drop-bucket/';

/**
 * Construct id of the stack-wide Lambda with which aws-cdk-lib writes S3 notification configurations
 * (`NotificationsResourceHandler.singleton` in aws-s3, not exported).
 */
const NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

export interface DropBucketProps {
  /**
   * A bucket to use as is, in the stack's account. Its settings (encryption, versioning, logging, policy) stay the
   * owner's; `notifyQueue` still works: CDK merges the queue notification into the bucket's existing notification
   * configuration through a custom resource, leaving the other notifications in place.
   *
   * @default - a new bucket
   */
  readonly existingBucket?: s3.IBucket;

  /**
   * Bucket receiving the server access logs of a created drop bucket, under `drop-bucket/`. A bucket created in the
   * same stack gets the bucket policy statement that lets S3 deliver the logs; an imported one must already allow
   * `logging.s3.amazonaws.com` to put objects under that prefix.
   *
   * @default - a new `AccessLogsBucket` (none with `existingBucket`)
   */
  readonly accessLogs?: s3.IBucket;

  /**
   * Days after which S3 aborts a multipart upload that was started and never completed, deleting its parts (which
   * are billed, and invisible in listings). Long enough for an interrupted upload to be resumed.
   *
   * @default 7
   */
  readonly abortIncompleteUploadDays?: number;

  /**
   * Days after which S3 deletes a version that a newer upload under the same key replaced (or a delete hid). The
   * current version of a photo never expires.
   *
   * @default 30
   */
  readonly noncurrentVersionDays?: number;

  /**
   * Retention of the logs of the function with which CDK writes the bucket's notification configuration (a
   * stack-wide singleton, which `notifyQueue` brings into the stack); applies to an `existingBucket` too.
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly notificationsHandlerLogRetention?: logs.RetentionDays;

  /**
   * What happens to a created bucket when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The bucket users drop their inspection photos into.
 *
 * Imports an existing bucket (`existingBucket`) or creates one: public access blocked, SSL only, SSE-S3, versioned
 * (an upload under an existing key must not destroy the photo already there), with server access logs.
 */
export class DropBucket extends Construct {
  /** The drop bucket. */
  readonly bucket: s3.IBucket;

  /** The bucket receiving this bucket's server access logs; undefined for an `existingBucket`. */
  readonly accessLogs: s3.IBucket | undefined;

  private readonly notificationsHandlerLogRetention: logs.RetentionDays;

  constructor(scope: Construct, id: string, props: DropBucketProps = {}) {
    super(scope, id);
    this.notificationsHandlerLogRetention = props.notificationsHandlerLogRetention ?? logs.RetentionDays.THREE_MONTHS;

    if (props.existingBucket) {
      assertNothingToConfigure(props);
      this.bucket = props.existingBucket;
      this.accessLogs = undefined;
      return;
    }

    const abortIncompleteUploadDays = props.abortIncompleteUploadDays ?? 7;
    const noncurrentVersionDays = props.noncurrentVersionDays ?? 30;
    assertPositiveDays('DropBucket', 'abortIncompleteUploadDays', abortIncompleteUploadDays);
    assertPositiveDays('DropBucket', 'noncurrentVersionDays', noncurrentVersionDays);

    this.accessLogs = props.accessLogs ?? new AccessLogsBucket(this, 'AccessLogs').bucket;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...privateBucketLoggedTo(this.accessLogs, DROP_BUCKET_ACCESS_LOGS_PREFIX),
      versioned: true,
      lifecycleRules: [
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(abortIncompleteUploadDays) },
        { id: 'ExpireReplacedVersions', noncurrentVersionExpiration: Duration.days(noncurrentVersionDays) },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /**
   * Sends an `s3:ObjectCreated:*` notification to `queue` for each object created in the bucket (optionally only for
   * keys matching `filters`).
   *
   * The queue's policy gets a statement letting `s3.amazonaws.com` send messages on behalf of this bucket only
   * (`aws:SourceArn`) and of the bucket's account only (`aws:SourceAccount`: bucket names are global and reusable).
   * An imported queue cannot get that statement: its owner must add it, or S3 refuses the notification at deploy.
   */
  notifyQueue(queue: sqs.IQueue, ...filters: s3.NotificationKeyFilter[]): void {
    const { statementAdded } = queue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [queue.queueArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': this.bucket.env.account },
        },
      }),
    );
    if (!statementAdded) {
      Annotations.of(this).addWarningV2(
        'inspect-pipeline:dropBucketQueuePolicyNotAdded',
        `Cannot add a statement to the policy of imported queue ${queue.node.path}: allow s3.amazonaws.com ` +
          'sqs:SendMessage with aws:SourceArn of the drop bucket, or S3 refuses the notification.',
      );
    }
    if (queue.encryptionMasterKey) {
      // S3 encrypts the message it sends: it needs the queue's key (not the case with SQS managed SSE).
      queue.encryptionMasterKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
        true,
      );
    }

    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new PolicyManagedQueueDestination(queue), ...filters);
    configureNotificationsHandler(
      Stack.of(this).node.tryFindChild(NOTIFICATIONS_HANDLER_ID),
      this.notificationsHandlerLogRetention,
    );
  }
}

/**
 * A queue destination whose policy statement `notifyQueue` writes itself: `s3n.SqsDestination` grants S3 with an
 * `aws:SourceArn` condition only.
 */
class PolicyManagedQueueDestination implements s3.IBucketNotificationDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(): s3.BucketNotificationDestinationConfig {
    // Depending on the queue (and so on its policy) lets S3 validate the destination when the configuration is put.
    return { arn: this.queue.queueArn, type: s3.BucketNotificationDestinationType.QUEUE, dependencies: [this.queue] };
  }
}

function assertNothingToConfigure(props: DropBucketProps): void {
  const given = (['accessLogs', 'abortIncompleteUploadDays', 'noncurrentVersionDays', 'removalPolicy'] as const).filter(
    (key) => props[key] !== undefined,
  );
  if (given.length > 0) {
    throw new Error(
      `DropBucket: ${given.join(' and ')} cannot be applied to existingBucket, whose settings stay its owner's; ` +
        'leave them out with an existing bucket',
    );
  }
}

const configuredHandlers = new WeakSet<IConstruct>();

/**
 * aws-cdk-lib's S3 notifications handler is a stack-wide singleton that no prop configures. Left alone, Lambda creates
 * its log group on first invocation, with no retention; it gets one of ours instead, with retention. Its finding is
 * acknowledged on the handler only. Done once, by the construct that makes it exist.
 */
function configureNotificationsHandler(handler: IConstruct | undefined, retention: logs.RetentionDays): void {
  if (!handler || configuredHandlers.has(handler)) return;
  configuredHandlers.add(handler);
  const logGroup = new logs.LogGroup(handler, 'Logs', { retention });
  (handler.node.defaultChild as CfnResource).addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'aws-cdk-lib attaches the AWS managed policy AWSLambdaBasicExecutionRole to the role of its S3 bucket ' +
      'notifications handler, with no prop to replace it; the policy only lets the handler write its own CloudWatch ' +
      'logs (its S3 permissions, s3:GetBucketNotification and s3:PutBucketNotification, are an inline policy scoped ' +
      'to the drop bucket).',
  });
}
