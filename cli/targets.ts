import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../local/cli-options';
import { createS3Client } from '../src/s3-client';

/**
 * Where the CLI works: the drop bucket (flights go there), the work bucket (batch states are read there) and an S3
 * client for both. Either the deployed stack's outputs (`--stack`), explicit names (`--bucket`, `--work-bucket`),
 * or an S3-compatible endpoint (`--endpoint`), which without bucket names means the local mode's buckets.
 */

/** The buckets of `npm run local -- --serve` (local/pipeline/local-pipeline.ts). */
export const LOCAL_DROP_BUCKET = 'inspect-drop';
export const LOCAL_WORK_BUCKET = 'inspect-work';
export const DEFAULT_REGION = 'us-east-1';

export interface TargetOptions {
  readonly bucket?: string | undefined;
  readonly workBucket?: string | undefined;
  readonly stack?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
}

export interface Targets {
  readonly s3: S3Client;
  readonly region: string;
  readonly dropBucket: string | undefined;
  readonly workBucket: string | undefined;
  /** Where the buckets came from, for messages: `stack inspect-pipeline`, `http://127.0.0.1:4569`... */
  readonly source: string;
}

/** The options every command shares, for parseArgs. */
export const TARGET_OPTIONS = {
  bucket: { type: 'string' },
  'work-bucket': { type: 'string' },
  stack: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
} as const;

export function targetOptionsFrom(values: Record<string, unknown>): TargetOptions {
  const text = (name: string): string | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} must not be empty`);
    return value.trim();
  };
  return { bucket: text('bucket'), workBucket: text('work-bucket'), stack: text('stack'), endpoint: text('endpoint'), region: text('region') };
}

/** The region: `--region`, else AWS_REGION (or AWS_DEFAULT_REGION), else us-east-1. */
export function regionOf(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): string {
  return options.region ?? (env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || DEFAULT_REGION);
}

export interface StackOutputs {
  readonly dropBucket: string | undefined;
  readonly workBucket: string | undefined;
}

/** Reads the stack's `DropBucketName` and `WorkBucketName` outputs. */
export type StackReader = (stack: string, region: string) => Promise<StackOutputs>;

export const readStackOutputs: StackReader = async (stack, region) => {
  const client = new CloudFormationClient({ region });
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stack }));
    const outputs = answer.Stacks?.[0]?.Outputs ?? [];
    const output = (key: string) => outputs.find((entry) => entry.OutputKey === key)?.OutputValue;
    return { dropBucket: output('DropBucketName'), workBucket: output('WorkBucketName') };
  } catch (error) {
    // CloudFormation answers ValidationError "Stack with id X does not exist": the option named a wrong stack.
    if ((error as Error).name === 'ValidationError') throw new UsageError(`--stack ${stack}: ${(error as Error).message} (region ${region})`);
    throw error;
  } finally {
    client.destroy();
  }
};

/** Resolves the buckets and the client; a UsageError names the option that is missing or conflicting. */
export async function resolveTargets(options: TargetOptions, readStack: StackReader = readStackOutputs, env: NodeJS.ProcessEnv = process.env): Promise<Targets> {
  const region = regionOf(options, env);
  if (options.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(options.endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL such as http://127.0.0.1:4569 (got "${options.endpoint}")`);
  }
  let dropBucket = options.bucket;
  let workBucket = options.workBucket;
  let source: string;
  if (options.stack !== undefined) {
    const outputs = await readStack(options.stack, region);
    if (outputs.dropBucket === undefined && dropBucket === undefined) {
      throw new UsageError(`--stack ${options.stack} has no DropBucketName output: is it an inspect-pipeline stack? (region ${region})`);
    }
    dropBucket ??= outputs.dropBucket;
    workBucket ??= outputs.workBucket;
    source = `stack ${options.stack} (${region})`;
  } else if (options.endpoint !== undefined) {
    if (dropBucket === undefined && workBucket === undefined) {
      dropBucket = LOCAL_DROP_BUCKET;
      workBucket = LOCAL_WORK_BUCKET;
    }
    source = options.endpoint;
  } else {
    source = `S3 (${region})`;
  }
  // Credentials from the standard chain (AWS_ACCESS_KEY_ID..., profiles, roles), for AWS and other endpoints alike.
  const s3 = options.endpoint !== undefined ? createS3Client({ endpoint: options.endpoint, region }) : new S3Client({ region });
  return { s3, region, dropBucket, workBucket, source };
}

/** The drop bucket, or a UsageError saying how to name it. */
export function requireDropBucket(targets: Targets): string {
  if (targets.dropBucket === undefined) {
    throw new UsageError('no drop bucket: give --bucket BUCKET, --stack STACK (a deployed inspect-pipeline) or --endpoint URL (local mode)');
  }
  return targets.dropBucket;
}

/** The work bucket, or a UsageError saying how to name it; `why` says what needs it. */
export function requireWorkBucket(targets: Targets, why: string): string {
  if (targets.workBucket === undefined) {
    throw new UsageError(`${why} needs the work bucket, where batch states are kept: give --stack STACK or --work-bucket BUCKET`);
  }
  return targets.workBucket;
}
