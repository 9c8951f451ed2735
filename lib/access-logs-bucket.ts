import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

export interface AccessLogsBucketProps {
  /**
   * Days after which S3 deletes a server access log object.
   *
   * @default 90
   */
  readonly retentionDays?: number;

  /**
   * What happens to the bucket when it leaves the stack. Logs are evidence: keep them unless told otherwise.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** What every bucket of the pipeline has: public access blocked, TLS only, SSE-S3. */
export const PRIVATE_BUCKET = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  encryption: s3.BucketEncryption.S3_MANAGED,
} as const satisfies s3.BucketProps;

/** A private bucket's settings with its server access logs written to `accessLogs` under `prefix`. */
export function privateBucketLoggedTo(accessLogs: s3.IBucket, prefix: string): s3.BucketProps {
  return { ...PRIVATE_BUCKET, serverAccessLogsBucket: accessLogs, serverAccessLogsPrefix: prefix };
}

/**
 * The target bucket of S3 server access logs.
 *
 * Public access blocked, SSL only, SSE-S3 (the only default encryption server access logging supports on its
 * target), ACLs disabled (`BucketOwnerEnforced`): S3 delivers logs through the bucket policy statement that each
 * source bucket of the same stack adds for `logging.s3.amazonaws.com`. The construct turns on feature flag
 * `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` for itself, so that this holds in an app that does not set it
 * (without it CDK would grant log delivery through an ACL, which `BucketOwnerEnforced` refuses). Logs expire after
 * `retentionDays`.
 */
export class AccessLogsBucket extends Construct {
  /** The log bucket: pass it as `serverAccessLogsBucket` (a concrete `Bucket`, so that CDK adds the log policy). */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AccessLogsBucketProps = {}) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? 90;
    assertPositiveDays('AccessLogsBucket', 'retentionDays', retentionDays);
    // Read by the bucket's allowLogDelivery, when a source bucket names it as its server access logs target.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireAccessLogs',
          expiration: Duration.days(retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log target bucket itself: logging its own accesses into itself would create a ' +
        'log record for every log delivery, without end.',
    });
  }
}

/** Shared by the bucket constructs: lifecycle days must be a positive whole number (S3 refuses anything else). */
export function assertPositiveDays(construct: string, prop: string, days: number): void {
  if (Token.isUnresolved(days)) return;
  if (!Number.isInteger(days) || days < 1) {
    throw new Error(`${construct}: ${prop} must be a whole number of days >= 1, got ${days}`);
  }
}
