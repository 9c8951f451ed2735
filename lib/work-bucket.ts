import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BATCH_STATE_PREFIX } from '../src/batch-state/batch-state';
import { RUNS_PREFIX } from '../src/workflow/run-store';
import { AccessLogsBucket, assertPositiveDays, privateBucketLoggedTo } from './access-logs-bucket';

/** Prefix of the work bucket's objects in the access logs bucket. */
export const WORK_BUCKET_ACCESS_LOGS_PREFIX = 'work-bucket/';

export interface WorkBucketProps {
  /**
   * Days after which S3 deletes a run's data (`runs/`) and a batch's state record (`batches/`): what the operator
   * CLI shows of past flights. The asset registry, which maps asset names to Pix4Dinspect assets, never expires.
   * 90 days is as long as Step Functions keeps a finished execution's history.
   *
   * @default 90
   */
  readonly runRetentionDays?: number;

  /**
   * Bucket receiving the server access logs, under `work-bucket/`. A bucket created in the same stack gets the
   * bucket policy statement that lets S3 deliver the logs; an imported one must already allow
   * `logging.s3.amazonaws.com` to put objects under that prefix.
   *
   * @default - a new `AccessLogsBucket`
   */
  readonly accessLogs?: s3.IBucket;

  /**
   * What happens to the bucket when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The pipeline's own storage: image lists per run under `runs/`, the asset registry under `asset-registry/`, batch
 * state under `batches/`. Public access blocked, SSL only, SSE-S3, server access logs; `runs/` and `batches/` expire,
 * abandoned multipart uploads are aborted after a day.
 */
export class WorkBucket extends Construct {
  /** The work bucket. */
  readonly bucket: s3.Bucket;

  /** The bucket receiving this bucket's server access logs. */
  readonly accessLogs: s3.IBucket;

  constructor(scope: Construct, id: string, props: WorkBucketProps = {}) {
    super(scope, id);
    const runRetentionDays = props.runRetentionDays ?? 90;
    assertPositiveDays('WorkBucket', 'runRetentionDays', runRetentionDays);

    this.accessLogs = props.accessLogs ?? new AccessLogsBucket(this, 'AccessLogs').bucket;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...privateBucketLoggedTo(this.accessLogs, WORK_BUCKET_ACCESS_LOGS_PREFIX),
      lifecycleRules: [
        // Only the pipeline writes here, and never multipart for long: a day is ample.
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'ExpireRuns', prefix: RUNS_PREFIX, expiration: Duration.days(runRetentionDays) },
        { id: 'ExpireBatchRecords', prefix: BATCH_STATE_PREFIX, expiration: Duration.days(runRetentionDays) },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
