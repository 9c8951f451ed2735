import { type Output as CfnOutput, CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../local/cli-options';
import { LOCAL_BUCKETS } from '../local/pipeline/local-buckets';
import {
  DEFAULT_PREFLIGHT_THRESHOLDS,
  type PreflightThresholds,
  preflightOverridesSchema,
  withOverrides,
} from '../src/preflight/preflight';
import { createS3Client } from '../src/s3-client';
import { suggest } from '../src/suggest';
import { type ProfileFiles, profileRegion, readProfileFiles, requireProfile } from './aws-profile';

/**
 * Where the CLI works: the drop bucket (flights go there), the work bucket (batch states are read there) and an S3
 * client for both. Either the deployed stack's outputs (`--stack`, with `--pipeline` when it holds several), explicit
 * names (`--bucket`, `--work-bucket`), or an S3-compatible endpoint (`--endpoint`), which without bucket names
 * means the local mode's buckets. `--profile` names the AWS profile for credentials and region.
 */

export const DEFAULT_REGION = 'us-east-1';
/** The output keys of the ready stack; an app that embeds the construct gets `<id>DropBucketName<hash>`. */
export const DROP_OUTPUT = 'DropBucketName';
export const WORK_OUTPUT = 'WorkBucketName';
/** The stack's pre-flight thresholds as JSON (lib/pipeline-outputs.ts); absent from stacks deployed before it. */
export const PREFLIGHT_OUTPUT = 'PreflightThresholds';

export interface TargetOptions {
  readonly bucket?: string | undefined;
  readonly workBucket?: string | undefined;
  readonly stack?: string | undefined;
  readonly pipeline?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
}

export interface Targets {
  readonly s3: S3Client;
  readonly region: string;
  readonly dropBucket: string | undefined;
  readonly workBucket: string | undefined;
  /** Where the buckets came from, for messages: `stack inspect-pipeline (eu-west-1)`, `http://127.0.0.1:4569`... */
  readonly source: string;
  /** Where the region came from: `--region`, `profile ops`, `AWS_REGION`, `default`... (absent: not known). */
  readonly regionSource?: string;
  readonly profile?: string | undefined;
  /** The deployed stack's pre-flight thresholds (`--stack`, its PreflightThresholds output), when it gives them. */
  readonly preflightThresholds?: PreflightThresholds | undefined;
  /** With `--stack`, why its thresholds are not used: no such output (deployed before it) or an unreadable one. */
  readonly preflightThresholdsProblem?: string | undefined;
}

/** The options every command shares, for parseArgs. */
export const TARGET_OPTIONS = {
  bucket: { type: 'string' },
  'work-bucket': { type: 'string' },
  stack: { type: 'string' },
  pipeline: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

export function targetOptionsFrom(values: Record<string, unknown>): TargetOptions {
  const text = (name: string): string | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} must not be empty`);
    return value.trim();
  };
  const options = {
    bucket: text('bucket'),
    workBucket: text('work-bucket'),
    stack: text('stack'),
    pipeline: text('pipeline'),
    endpoint: text('endpoint'),
    region: text('region'),
    profile: text('profile'),
  };
  if (options.pipeline !== undefined && options.stack === undefined)
    throw new UsageError('--pipeline ID needs --stack STACK: it picks one pipeline of that stack');
  return options;
}

export interface RegionChoice {
  readonly region: string;
  /** `--region`, `profile NAME`, `AWS_REGION`, `AWS_DEFAULT_REGION`, or `default`. */
  readonly source: string;
}

/**
 * The region, first found: `--region`; the region of `--profile`; AWS_REGION (or AWS_DEFAULT_REGION, as aws-cli
 * reads it); the region of the profile in use without `--profile` (AWS_PROFILE, else `default`); us-east-1. The SDK
 * alone ranks AWS_REGION before any profile's region; a `--profile` typed on the command line outranks the
 * environment here, as `--region` does.
 */
export function regionOf(
  options: Pick<TargetOptions, 'region' | 'profile'>,
  env: NodeJS.ProcessEnv = process.env,
  files?: ProfileFiles,
): RegionChoice {
  if (options.region !== undefined) return { region: options.region, source: '--region' };
  const named =
    options.profile === undefined || files === undefined ? undefined : profileRegion(files, options.profile);
  if (named !== undefined) return { region: named, source: `profile ${options.profile}` };
  const fromEnv = env.AWS_REGION?.trim()
    ? 'AWS_REGION'
    : env.AWS_DEFAULT_REGION?.trim()
      ? 'AWS_DEFAULT_REGION'
      : undefined;
  if (fromEnv !== undefined) return { region: (env[fromEnv] as string).trim(), source: fromEnv };
  const ambient = options.profile === undefined ? env.AWS_PROFILE?.trim() || 'default' : undefined;
  const ambientRegion = ambient === undefined || files === undefined ? undefined : profileRegion(files, ambient);
  if (ambientRegion !== undefined) return { region: ambientRegion, source: `profile ${ambient}` };
  return { region: DEFAULT_REGION, source: 'default' };
}

export interface StackOutputs {
  readonly dropBucket: string | undefined;
  readonly workBucket: string | undefined;
  /** The pipeline's construct id (the keys' prefix), undefined for the ready stack's own outputs. */
  readonly pipeline?: string | undefined;
  /** The pipeline's pre-flight thresholds; undefined when the stack has no PreflightThresholds output. */
  readonly preflightThresholds?: PreflightThresholds | undefined;
  /** Set when the stack has a PreflightThresholds output this CLI cannot read. */
  readonly preflightThresholdsProblem?: string | undefined;
}

export interface StackQuery {
  readonly stack: string;
  readonly region: string;
  readonly profile?: string | undefined;
  readonly pipeline?: string | undefined;
}

/**
 * Reads the stack's pipeline outputs (`DropBucketName`, `WorkBucketName`, `PreflightThresholds`, or those of an
 * embedded pipeline).
 */
export type StackReader = (query: StackQuery) => Promise<StackOutputs>;

interface PipelineKeys {
  /** The construct id: the logical id's prefix ('' for the ready stack's exact keys). */
  readonly id: string;
  drop?: string | undefined;
  work?: string | undefined;
  preflight?: string | undefined;
}

/** `PhotosDropBucketName1A2B3C4D`: CDK's logical id of an output, the construct path then an 8-hex-char hash. */
const EMBEDDED_KEY = /^([A-Za-z0-9]*)(DropBucketName|WorkBucketName|PreflightThresholds)[0-9A-F]{8}$/;
const OWN_KEYS: readonly string[] = [DROP_OUTPUT, WORK_OUTPUT, PREFLIGHT_OUTPUT];

/** The pipelines among a stack's outputs, by construct id: the ready stack's exact keys as id ''. */
export function pipelinesOf(outputs: readonly CfnOutput[]): PipelineKeys[] {
  const byId = new Map<string, PipelineKeys>();
  const entry = (id: string) => byId.get(id) ?? byId.set(id, { id }).get(id)!;
  for (const { OutputKey: key, OutputValue: value } of outputs) {
    if (key === undefined) continue;
    const match = OWN_KEYS.includes(key) ? ['', '', key] : EMBEDDED_KEY.exec(key);
    if (!match) continue;
    const keys = entry(match[1] as string);
    if (match[2] === DROP_OUTPUT) keys.drop = value;
    else if (match[2] === WORK_OUTPUT) keys.work = value;
    else keys.preflight = value;
  }
  return [...byId.values()].filter((keys) => keys.drop !== undefined);
}

/**
 * The pipeline's buckets among a stack's outputs: the exact `DropBucketName` / `WorkBucketName` keys first (the
 * ready stack), else the one embedded pipeline's; with several, `--pipeline ID` picks one (the construct id, the
 * keys' prefix; separators of a construct path are ignored, as CDK drops them). A UsageError lists the candidates.
 */
export function pickPipelineOutputs(outputs: readonly CfnOutput[], stack: string, pipeline?: string): StackOutputs {
  const pipelines = pipelinesOf(outputs);
  const embedded = pipelines.filter((keys) => keys.id !== '');
  const listed = embedded.map((keys) => keys.id).join(', ');
  if (pipeline !== undefined) {
    const wanted = pipeline.replace(/[^A-Za-z0-9]/g, '');
    const found =
      embedded.find((keys) => keys.id === wanted) ??
      single(embedded.filter((keys) => keys.id.endsWith(wanted) && wanted !== ''));
    if (found) return { ...outputsOf(found), pipeline: found.id };
    if (embedded.length === 0) {
      throw new UsageError(
        `--pipeline ${pipeline}: stack ${stack} holds no embedded pipeline (no <id>${DROP_OUTPUT}<hash> output); leave --pipeline out`,
      );
    }
    const close = suggest(
      wanted,
      embedded.map((keys) => keys.id),
    );
    throw new UsageError(
      `--pipeline ${pipeline}: stack ${stack} has no such pipeline${close === undefined ? '' : `; did you mean --pipeline ${close}?`} (its pipelines: ${listed})`,
    );
  }
  const own = pipelines.find((keys) => keys.id === '');
  if (own) return outputsOf(own);
  if (embedded.length === 1) return { ...outputsOf(embedded[0]!), pipeline: embedded[0]!.id };
  if (embedded.length > 1)
    throw new UsageError(`stack ${stack} holds ${embedded.length} pipelines: add --pipeline ID, one of ${listed}`);
  return { dropBucket: undefined, workBucket: undefined };
}

function outputsOf(keys: PipelineKeys): StackOutputs {
  const buckets = { dropBucket: keys.drop, workBucket: keys.work };
  // A stack deployed before the output has none: the CLI then checks against the defaults, and says so.
  if (keys.preflight === undefined) return buckets;
  const preflight = parsePreflightThresholds(keys.preflight);
  return {
    ...buckets,
    ...('thresholds' in preflight
      ? { preflightThresholds: preflight.thresholds }
      : { preflightThresholdsProblem: preflight.problem }),
  };
}

/**
 * The PreflightThresholds output's JSON, checked as the workflow checks its own (the same schema, over the
 * defaults). A problem is said, not thrown: it must not stop `status` or `retry`, which do not use it.
 */
export function parsePreflightThresholds(value: string): { thresholds: PreflightThresholds } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { problem: `its ${PREFLIGHT_OUTPUT} output is not JSON` };
  }
  const parsed = preflightOverridesSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`,
    );
    return {
      problem: `its ${PREFLIGHT_OUTPUT} output is not one this CLI reads (${issues.join('; ')}): deployed by another version?`,
    };
  }
  return { thresholds: withOverrides(DEFAULT_PREFLIGHT_THRESHOLDS, parsed.data) };
}

function single<T>(items: readonly T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}

export const readStackOutputs: StackReader = async ({ stack, region, profile, pipeline }) => {
  const client = new CloudFormationClient(sdkConfig(region, profile));
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stack }));
    return pickPipelineOutputs(answer.Stacks?.[0]?.Outputs ?? [], stack, pipeline);
  } catch (error) {
    // CloudFormation answers ValidationError "Stack with id X does not exist": the option named a wrong stack.
    if ((error as Error).name === 'ValidationError')
      throw new UsageError(`--stack ${stack}: ${(error as Error).message} (region ${region})`);
    throw error;
  } finally {
    client.destroy();
  }
};

const ignore = (): void => undefined;

/**
 * The SDK client settings for a region and profile. With a profile, the SDK's logger is set so that its warning
 * about AWS_ACCESS_KEY_ID beside a profile (nine lines of console.warn) is not printed: resolveTargets says it in one.
 */
function sdkConfig(
  region: string,
  profile: string | undefined,
): {
  region: string;
  profile?: string;
  logger?: Record<'trace' | 'debug' | 'info' | 'warn' | 'error', (...content: unknown[]) => void>;
} {
  if (profile === undefined) return { region };
  const warn = (...content: unknown[]) => {
    const text = content.map(String).join(' ');
    if (!text.includes('Multiple credential sources detected'))
      process.stderr.write(`warning: ${text.trim().split('\n')[0]}\n`);
  };
  return { region, profile, logger: { trace: ignore, debug: ignore, info: ignore, warn, error: ignore } };
}

export interface ResolveDependencies {
  readonly readStack?: StackReader;
  readonly env?: NodeJS.ProcessEnv;
  /** The shared AWS files (the SDK's loader by default). */
  readonly profiles?: () => Promise<ProfileFiles>;
  /** A remark for the person (stderr). */
  readonly note?: (text: string) => void;
}

/** Resolves the buckets and the client; a UsageError names the option that is missing or conflicting. */
export async function resolveTargets(options: TargetOptions, dependencies: ResolveDependencies = {}): Promise<Targets> {
  const { readStack = readStackOutputs, env = process.env, profiles = readProfileFiles, note } = dependencies;
  if (options.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(options.endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL such as http://127.0.0.1:4569 (got "${options.endpoint}")`);
  }
  const files = options.region !== undefined && options.profile === undefined ? undefined : await profiles();
  if (options.profile !== undefined) {
    requireProfile(files!, options.profile, env);
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
      note?.(`note: using the credentials of --profile ${options.profile}, not AWS_ACCESS_KEY_ID from the environment`);
  }
  const { region, source: regionSource } = regionOf(options, env, files);
  const profile = options.profile;
  const withProfile = profile === undefined ? '' : `, profile ${profile}`;
  let dropBucket = options.bucket;
  let workBucket = options.workBucket;
  let source: string;
  let preflight: Pick<Targets, 'preflightThresholds' | 'preflightThresholdsProblem'> = {};
  if (options.stack !== undefined) {
    const outputs = await readStack({ stack: options.stack, region, profile, pipeline: options.pipeline });
    if (outputs.dropBucket === undefined && dropBucket === undefined) {
      throw new UsageError(
        `--stack ${options.stack} has no ${DROP_OUTPUT} output: is it an inspect-pipeline stack? (region ${region})`,
      );
    }
    dropBucket ??= outputs.dropBucket;
    workBucket ??= outputs.workBucket;
    source = `stack ${options.stack}${outputs.pipeline ? ` pipeline ${outputs.pipeline}` : ''} (${region}${withProfile})`;
    preflight =
      outputs.preflightThresholds !== undefined
        ? { preflightThresholds: outputs.preflightThresholds }
        : {
            preflightThresholdsProblem:
              outputs.preflightThresholdsProblem ??
              `it has no ${PREFLIGHT_OUTPUT} output (deployed before the pre-flight)`,
          };
  } else if (options.endpoint !== undefined) {
    if (dropBucket === undefined && workBucket === undefined) {
      // The buckets of `npm run local -- --serve`.
      dropBucket = LOCAL_BUCKETS.drop;
      workBucket = LOCAL_BUCKETS.work;
    }
    source = options.endpoint;
  } else {
    source = `S3 (${region}${withProfile})`;
  }
  // Credentials from the profile when named, else the standard chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE, roles).
  const config = sdkConfig(region, profile);
  const s3 =
    options.endpoint !== undefined ? createS3Client({ endpoint: options.endpoint, ...config }) : new S3Client(config);
  return { s3, region, regionSource, profile, dropBucket, workBucket, source, ...preflight };
}

/** The drop bucket, or a UsageError saying how to name it. */
export function requireDropBucket(targets: Targets): string {
  if (targets.dropBucket === undefined) {
    throw new UsageError(
      'no drop bucket: give --bucket BUCKET, --stack STACK (a deployed inspect-pipeline) or --endpoint URL (local mode)',
    );
  }
  return targets.dropBucket;
}

/** The work bucket, or a UsageError saying how to name it; `why` says what needs it. */
export function requireWorkBucket(targets: Targets, why: string): string {
  if (targets.workBucket === undefined) {
    throw new UsageError(
      `${why} needs the work bucket, where batch states are kept: give --stack STACK or --work-bucket BUCKET`,
    );
  }
  return targets.workBucket;
}
