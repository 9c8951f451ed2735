import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The findings of the AWS Control Tower proactive controls (cfn-guard rules of `@cdklabs/cdk-validator-cfnguard`)
 * that the InspectPipeline stack keeps, each with why. test/infra/control-tower-rules.test.ts runs the rules on the
 * synthesized app and fails on a finding missing here and on an entry here that no longer matches a finding.

 */

/** The plugin's `name`: CDK reports its findings under it, and acknowledges them as `<name>::<rule>`. */
export const CFN_GUARD_PLUGIN_NAME = 'cdk-validator-cfnguard';

export interface GuardAcknowledgement {
  /** The Control Tower control, as the finding's description starts with it (`[CT.S3.PR.2]: ...`). */
  readonly control: string;
  /** The cfn-guard rule name, the finding's `ruleName`. */
  readonly rule: string;
  /**
   * Construct paths below the stack of the constructs whose resources the finding is about; a construct stands for
   * the resources below it.
   */
  readonly paths: readonly string[];
  readonly reason: string;
}

const FUNCTIONS = 'Pipeline/Functions';
/** aws-cdk-lib's stack-wide Lambda that writes S3 notification configurations (`notifyQueue` brings it in). */
const NOTIFICATIONS_HANDLER = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';
const DROP_BUCKET = 'Pipeline/DropBucket/Bucket';
const WORK_BUCKET = 'Pipeline/WorkBucket/Bucket';
const ACCESS_LOGS_BUCKET = 'Pipeline/DropBucket/AccessLogs/Bucket';

/** The steps' construct ids (PipelineFunctions names each function after its step, in PascalCase). */
const PIX4D_CALLERS = ['Prepare', 'Copy', 'Register', 'StartProcessing', 'CheckStatus'];
const AWS_ONLY_CALLERS = ['Ingest', 'CheckBatch', 'Notify'];
const STEPS = [...AWS_ONLY_CALLERS, ...PIX4D_CALLERS];

/** Every log group of the stack: one per function, CDK's notifications handler's, one per state machine. */
const LOG_GROUPS = [
  ...STEPS.map((step) => `${FUNCTIONS}/${step}Logs`),
  `${NOTIFICATIONS_HANDLER}/Logs`,
  'Pipeline/InspectionWorkflow/Logs',
  'Pipeline/BatchWaiter/Logs',
];

export const GUARD_ACKNOWLEDGEMENTS: readonly GuardAcknowledgement[] = [
  {
    control: 'CT.CLOUDWATCH.PR.2',
    rule: 'cloudwatch_log_group_retention_period_check',
    paths: LOG_GROUPS,
    reason:
      'Retention is a setting (`logRetention`), three months by default: these logs are for operating the ' +
      "pipeline (ids, counts, statuses), and three months outlive a run's deadline, the work bucket's run records " +
      "and Step Functions' 90-day execution history. Who read or wrote data is CloudTrail's record, not these " +
      "logs'. An organization whose policy keeps logs a year deploys with -c logRetentionDays=365.",
  },
  {
    control: 'CT.CLOUDWATCH.PR.3',
    rule: 'cloudwatch_log_group_encrypted_check',
    paths: LOG_GROUPS,
    reason:
      'CloudWatch Logs encrypts every log group at rest already; a customer managed key would only add a key policy ' +
      'for the logs service. The groups hold no credential: log lines carry batch keys, ids, counts and statuses, ' +
      'Pix4D errors are redacted of the account and tokens (src/redact.ts), and the state machines log ids and counts.',
  },
  {
    control: 'CT.KMS.PR.3',
    rule: 'kms_create_grant_aws_service_check',
    paths: ['Pipeline/Notifications/AlarmTopicKey'],
    reason:
      'The alarm topic key: its policy lets the account (through IAM) and CloudWatch (kms:Decrypt, ' +
      'kms:GenerateDataKey* only) use it, no role of the stack is granted kms:CreateGrant, and neither SNS nor ' +
      'CloudWatch uses grants with it.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    paths: PIX4D_CALLERS.map((step) => `${FUNCTIONS}/${step}`),
    reason:
      "Calls Pix4Dinspect's public API (inspect.pix4d.com, api.inspect.pix4d.com; copy also writes the photos into " +
      "Pix4D's own S3 bucket with the temporary credentials it hands out): in a VPC it would need a NAT gateway to the internet, and there " +
      'is no private resource for it to reach.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    paths: AWS_ONLY_CALLERS.map((step) => `${FUNCTIONS}/${step}`),
    reason:
      'Calls AWS service APIs only (S3, Step Functions, SNS) and reaches no private resource: a VPC would need a NAT ' +
      'gateway or an interface endpoint per service, and would protect nothing.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    paths: [NOTIFICATIONS_HANDLER],
    reason:
      "aws-cdk-lib's S3 notifications handler: it runs during deploys only, calls s3:GetBucketNotification and " +
      's3:PutBucketNotification on the drop bucket, and aws-cdk-lib has no prop to place it in a VPC.',
  },
  {
    control: 'CT.S3.PR.10',
    rule: 's3_bucket_default_encryption_kms_check',
    paths: [ACCESS_LOGS_BUCKET],
    reason:
      'Target of S3 server access logs, which S3 delivers only to a bucket with SSE-S3 default encryption ' +
      '(SSE-KMS is not supported on a log target bucket).',
  },
  {
    control: 'CT.S3.PR.10',
    rule: 's3_bucket_default_encryption_kms_check',
    paths: [DROP_BUCKET],
    reason:
      'SSE-S3 by choice: people, drone sync tools and the operator CLI upload with plain S3 clients; SSE-KMS would ' +
      'require kms:GenerateDataKey for every uploader and kms:Decrypt for the functions reading the photos. Access ' +
      'is held by IAM and the bucket policy (public access blocked, SSL only).',
  },
  {
    control: 'CT.S3.PR.10',
    rule: 's3_bucket_default_encryption_kms_check',
    paths: [WORK_BUCKET],
    reason:
      'SSE-S3 by choice: the bucket holds photo lists, asset name -> id records and batch states, no credential; ' +
      "SSE-KMS would add a KMS request to each of the pipeline's many small reads and writes and key grants for " +
      'six functions.',
  },
  {
    control: 'CT.S3.PR.11',
    rule: 's3_bucket_versioning_enabled_check',
    paths: [ACCESS_LOGS_BUCKET],
    reason:
      'Only S3 log delivery writes here, each log object once under a new key, and no role of the stack may write ' +
      'or delete; objects expire by lifecycle. Versioning would keep no earlier content.',
  },
  {
    control: 'CT.S3.PR.11',
    rule: 's3_bucket_versioning_enabled_check',
    paths: [WORK_BUCKET],
    reason:
      "The pipeline's working state, rewritten as runs advance (batch records at every step, run files, registry " +
      'claims replaced by ids with conditional writes): versions would keep every superseded state, which nothing ' +
      'reads. No role of the stack may delete in it.',
  },
  {
    control: 'CT.S3.PR.2',
    rule: 's3_bucket_logging_enabled_check',
    paths: [ACCESS_LOGS_BUCKET],
    reason:
      'The server access logs bucket itself: logging its own accesses into itself would write a log record for ' +
      'every log delivery, without end.',
  },
  {
    control: 'CT.S3.PR.4',
    rule: 's3_event_notifications_enabled_check',
    paths: [DROP_BUCKET],
    reason:
      "It has event notifications (s3:ObjectCreated:* -> the ingest queue), written by aws-cdk-lib's " +
      "Custom::S3BucketNotifications resource, not the bucket's NotificationConfiguration, which the rule reads.",
  },
  {
    control: 'CT.S3.PR.4',
    rule: 's3_event_notifications_enabled_check',
    paths: [WORK_BUCKET, ACCESS_LOGS_BUCKET],
    reason:
      'Nothing acts on a new object here: the work bucket is written by the pipeline itself, which knows what it ' +
      'wrote, and the access logs bucket by S3 log delivery.',
  },
  {
    control: 'CT.S3.PR.9',
    rule: 's3_bucket_object_lock_enabled_check',
    paths: [DROP_BUCKET],
    reason:
      'Uploaders replace and delete photos (a flight dropped by mistake, a photo uploaded again) and replaced ' +
      'versions expire by lifecycle: WORM retention would keep what they remove. Object Lock cannot be turned off.',
  },
  {
    control: 'CT.S3.PR.9',
    rule: 's3_bucket_object_lock_enabled_check',
    paths: [WORK_BUCKET],
    reason:
      'Working state that the pipeline rewrites and that expires by lifecycle; Object Lock also requires ' +
      'versioning, which this bucket does not use (CT.S3.PR.11).',
  },
  {
    control: 'CT.S3.PR.9',
    rule: 's3_bucket_object_lock_enabled_check',
    paths: [ACCESS_LOGS_BUCKET],
    reason:
      'Logs expire by lifecycle after their retention and no role of the stack may delete them; WORM retention of ' +
      'access logs is an organization-wide compliance choice, and Object Lock cannot be turned off once on.',
  },
  {
    control: 'CT.SQS.PR.1',
    rule: 'sqs_dlq_check',
    paths: ['Pipeline/IngestQueue/DeadLetterQueue'],
    reason:
      "The ingest queue's dead-letter queue, the end of the line: failed messages wait there (14 days, the maximum) " +
      'under an alarm, for an operator to inspect and redrive.',
  },
];

/** The acknowledgement id of a rule, as CDK matches it against the plugin's findings. */
export function guardAcknowledgementId(rule: string): string {
  return `${CFN_GUARD_PLUGIN_NAME}::${rule}`;
}

/**
 * Acknowledges every entry of `GUARD_ACKNOWLEDGEMENTS` on its constructs below `stack` (CDK's `Validations`, so the
 * reason lands in the validation report). A path that names no construct acknowledges nothing: the test reports it
 * as stale.
 */
export function acknowledgeGuardFindings(stack: IConstruct): void {
  for (const { rule, paths, reason } of GUARD_ACKNOWLEDGEMENTS) {
    for (const path of paths) {
      const construct = findByPath(stack, path);
      if (construct) Validations.of(construct).acknowledge({ id: guardAcknowledgementId(rule), reason });
    }
  }
}

function findByPath(root: IConstruct, path: string): IConstruct | undefined {
  let construct: IConstruct | undefined = root;
  for (const id of path.split('/')) construct = construct?.node.tryFindChild(id);
  return construct;
}
