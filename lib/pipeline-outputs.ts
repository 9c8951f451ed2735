import { CfnOutput } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { PreflightThresholds } from '../src/preflight/preflight';

/**
 * The outputs of the pipeline, by id. The ready stack keeps these ids as its OutputKeys (the operator CLI's
 * `--stack` and the README name them); in another app's stack CDK prefixes them with the construct's path and
 * suffixes a hash, e.g. `PhotosDropBucketName1A2B3C4D`: `matchesOutputKey` finds either.
 */
export const PIPELINE_OUTPUT_NAMES = [
  'DropBucketName',
  'WorkBucketName',
  'NotificationTopicArn',
  'AlarmTopicArn',
  'StateMachineArn',
  'BatchWaiterArn',
  'Pix4dSecretArn',
  'UploadExample',
  'PreflightThresholds',
] as const;

export type PipelineOutputName = (typeof PIPELINE_OUTPUT_NAMES)[number];

/** The parts of the pipeline that the outputs name. */
export interface PipelineOutputSources {
  readonly dropBucket: s3.IBucket;
  readonly workBucket: s3.IBucket;
  readonly topic: sns.ITopic;
  readonly alarmTopic: sns.ITopic;
  readonly stateMachine: sfn.IStateMachine;
  readonly batchWaiter: sfn.IStateMachine;
  readonly secret: secretsmanager.ISecret;
  /** The stack's pre-flight thresholds, all of them: the operator CLI checks a flight against them before upload. */
  readonly preflightThresholds: PreflightThresholds;
}

/** An output's value (a token until deployed) and what it is for. */
export interface PipelineOutputValue {
  readonly value: string;
  readonly description: string;
}

/**
 * The command that drops a flight: photos first, manifest.json last, since the manifest closes the batch at once
 * and photos arriving after it would be late.
 */
export function uploadExample(dropBucketName: string): string {
  const folder = `s3://${dropBucketName}/tower-123/flight-1/`;
  return `aws s3 cp ./my-flight/ ${folder} --recursive --exclude manifest.json && aws s3 cp ./my-flight/manifest.json ${folder}`;
}

export function pipelineOutputValues(
  sources: PipelineOutputSources,
): Readonly<Record<PipelineOutputName, PipelineOutputValue>> {
  return {
    DropBucketName: { value: sources.dropBucket.bucketName, description: 'Drop flights here, as <asset>/<flight>/...' },
    WorkBucketName: {
      value: sources.workBucket.bucketName,
      description: 'Run data, asset registry and batch states (batches/)',
    },
    NotificationTopicArn: { value: sources.topic.topicArn, description: 'One message per outcome (schema version 1)' },
    AlarmTopicArn: {
      value: sources.alarmTopic.topicArn,
      description: 'Operator alarms (DLQ, failed or timed-out executions)',
    },
    StateMachineArn: { value: sources.stateMachine.stateMachineArn, description: 'The inspection workflow' },
    BatchWaiterArn: { value: sources.batchWaiter.stateMachineArn, description: 'Closes batches without manifest.json' },
    Pix4dSecretArn: {
      value: sources.secret.secretArn,
      description:
        'Put the Pix4Dinspect account here as JSON {"username", "password", "apiKey", "organizationUuid" (optional)}',
    },
    UploadExample: {
      value: uploadExample(sources.dropBucket.bucketName),
      description: 'Drop a flight: the photos first, manifest.json last (it closes the batch at once)',
    },
    PreflightThresholds: {
      value: JSON.stringify(sources.preflightThresholds),
      description: 'The pre-flight thresholds (JSON) a flight is checked against before its inspection is created',
    },
  };
}

/** One CfnOutput per value, as children of `scope` with the output names as ids. */
export function addPipelineOutputs(
  scope: Construct,
  values: Readonly<Record<PipelineOutputName, PipelineOutputValue>>,
): Readonly<Record<PipelineOutputName, CfnOutput>> {
  const entries = PIPELINE_OUTPUT_NAMES.map((name) => [name, new CfnOutput(scope, name, values[name])] as const);
  return Object.fromEntries(entries) as Record<PipelineOutputName, CfnOutput>;
}

/**
 * Whether a deployed stack's OutputKey is the output `name`: the plain name (the ready stack), or CDK's logical id
 * of it inside a construct, `<path><name><8 hex digits>`.
 */
export function matchesOutputKey(outputKey: string, name: PipelineOutputName): boolean {
  return outputKey === name || new RegExp(`^[A-Za-z0-9]*${name}[0-9A-F]{8}$`).test(outputKey);
}
