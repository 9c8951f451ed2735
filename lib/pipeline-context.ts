import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { processingParametersSchema } from '../src/pix4d/schemas';
import { DEFAULT_PREFLIGHT_THRESHOLDS, PREFLIGHT_THRESHOLD_SCHEMAS } from '../src/preflight/preflight';
import { suggest } from '../src/suggest';
import { withoutUndefined } from '../src/without-undefined';
import type { InspectPipelineProps } from './inspect-pipeline';

/**
 * The CDK context of the ready app (`cdk synth -c key=value`, or cdk.json), validated before anything is built:
 * every problem is one line that names the key, what it must be and what it got, so that a typo or an
 * out-of-range value fails `cdk synth` instead of a deployment (or, worse, every Lambda invocation after it).
 */

/** Name (and construct id) of the ready stack when `-c stackName` is not given. */
export const DEFAULT_STACK_NAME = 'InspectPipeline';

/** What the ready app takes from its context. */
export interface PipelineContext {
  /** CloudFormation name of the stack, and its construct id. */
  readonly stackName: string;
  /** The construct's props; a setting left out is left out here too, so the construct's default applies. */
  readonly pipeline: InspectPipelineProps;
}

/** The context holds settings that are unknown or out of range; one message per problem. */
export class PipelineContextError extends Error {
  override readonly name = 'PipelineContextError';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/**
 * Keys the cdk CLI itself puts into the context without a colon: `cdk acknowledge N` and `cdk cli-telemetry` write
 * them into cdk.context.json, which the CLI passes to the app. Its other keys (`aws:cdk:...`, feature flags
 * `@aws-cdk/...:...`, lookups such as `availability-zones:account=...`) all contain a colon.
 */
const CDK_OWN_KEYS: ReadonlySet<string> = new Set(['acknowledged-issue-numbers', 'cli-telemetry']);

/** Step Functions ends a Standard execution after one year. */
const EXECUTION_LIMIT_HOURS = 365 * 24;
/** Time the inspection workflow allows besides the deadline (InspectionWorkflowProps.preparationAllowance). */
const PREPARATION_HOURS = 12;
const MAX_DEADLINE_HOURS = EXECUTION_LIMIT_HOURS - PREPARATION_HOURS;
/** The batch waiter gives up on a batch after 7 days (BatchWaiterProps.timeout): a quiet period must end before. */
const MAX_QUIET_PERIOD_MINUTES = 7 * 24 * 60 - 1;
/** An inline Map state runs at most 40 iterations at once: a higher MaxConcurrency changes nothing. */
const MAX_MAP_CONCURRENCY = 40;

const LOG_RETENTION_DAYS = Object.values(logs.RetentionDays)
  .filter((value): value is number => typeof value === 'number')
  .sort((a, b) => a - b);

const CLOUDFORMATION_STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
/** Secrets Manager: 1 to 512 characters from letters, digits and /_+=.@- */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A standard topic: the notify function publishes without a message group, which a FIFO topic refuses. */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

// ---------------------------------------------------------------------------------------------------------------
// How each kind of value arrives: from `-c key=value` always as a string, from cdk.json as JSON. A blank string (or
// null) means "not set", so that `-c key=` falls back to the default.

function unsetIfBlank(value: unknown): unknown {
  if (value === null) return undefined;
  if (typeof value === 'string' && value.trim() === '') return undefined;
  return value;
}

function text(value: unknown): unknown {
  const set = unsetIfBlank(value);
  return typeof set === 'string' ? set.trim() : set;
}

/** A decimal number as text becomes a number; anything else stays as it is and fails the number check. */
function numeric(value: unknown): unknown {
  const set = text(value);
  return typeof set === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(set) ? Number(set) : set;
}

/** JSON text becomes its value; text that is not JSON stays as it is and fails the object check. */
function json(value: unknown): unknown {
  const set = text(value);
  if (typeof set !== 'string') return set;
  try {
    return JSON.parse(set) as unknown;
  } catch {
    return set;
  }
}

/** `true` / `false` as text becomes a boolean; anything else stays as it is and fails the boolean check. */
function flag(value: unknown): unknown {
  const set = text(value);
  if (set === 'true') return true;
  if (set === 'false') return false;
  return set;
}

/** CDK turns these into whole seconds, and throws on a fraction of a second. */
function inWholeSeconds(toDuration: (amount: number) => Duration) {
  return (amount: number) => {
    try {
      toDuration(amount).toSeconds();
      return true;
    } catch {
      return false;
    }
  };
}

const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const days = () => wholeNumber(1);

interface Setting<T extends z.ZodType = z.ZodType> {
  /** What the value must be, as the message says it: "CDK context <key> must be <expected>, got ...". */
  readonly expected: string;
  readonly schema: z.ZodType<z.output<T> | undefined>;
}

function setting<T extends z.ZodType>(expected: string, prepare: (value: unknown) => unknown, schema: T): Setting<T> {
  return { expected, schema: z.preprocess(prepare, schema.optional()) as z.ZodType<z.output<T> | undefined> };
}

/** Every key of the README's Configuration table, and `stackName`. */
const SETTINGS = {
  stackName: setting(
    'a CloudFormation stack name: letters, digits and hyphens, starting with a letter, at most 128 characters',
    text,
    z.string().regex(CLOUDFORMATION_STACK_NAME),
  ),
  notificationEmail: setting('an email address such as ops@example.com', text, z.email()),
  secretName: setting(
    'a Secrets Manager secret name: 1 to 512 letters, digits and /_+=.@- characters',
    text,
    z.string().regex(SECRET_NAME),
  ),
  secretArn: setting(
    'a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)',
    text,
    z.string().regex(SECRET_ARN),
  ),
  topicArn: setting(
    'an SNS standard topic ARN (arn:aws:sns:<region>:<account>:<name>)',
    text,
    z.string().regex(TOPIC_ARN),
  ),
  quietPeriodMinutes: setting(
    `a number of minutes from 0 to ${MAX_QUIET_PERIOD_MINUTES} in whole seconds (0 waits for manifest.json; the batch waiter gives up after 7 days)`,
    numeric,
    z.number().min(0).max(MAX_QUIET_PERIOD_MINUTES).refine(inWholeSeconds(Duration.minutes)),
  ),
  batchDepth: setting('a whole number from 1 to 10 (folder levels that make a batch)', numeric, wholeNumber(1, 10)),
  defaultAssetType: setting('a whole number of 1 or more (a Pix4Dinspect asset type)', numeric, wholeNumber(1)),
  defaultProcessingParameters: setting(
    'a JSON object with some of is_video, generate_point_cloud, clip_point_cloud, detect_antennas (true or false) and clipping_radius (a number of 0 or more)',
    json,
    processingParametersSchema.partial(),
  ),
  deadlineHours: setting(
    `a number of hours above 0 and at most ${MAX_DEADLINE_HOURS}, in whole seconds (the workflow adds ${PREPARATION_HOURS} hours and Step Functions stops an execution after a year)`,
    numeric,
    z.number().gt(0).max(MAX_DEADLINE_HOURS).refine(inWholeSeconds(Duration.hours)),
  ),
  pollMaxMinutes: setting(
    'a number of minutes above 0, in whole seconds (e.g. 0.5 or 15)',
    numeric,
    z.number().gt(0).refine(inWholeSeconds(Duration.minutes)),
  ),
  expectedSecondsPerPhoto: setting(
    'a number of seconds of at least 0.001 and at most 3600 (e.g. 10 or 2.5)',
    numeric,
    z.number().min(0.001).max(3_600),
  ),
  photosPerChunk: setting('a whole number from 1 to 1000', numeric, wholeNumber(1, 1000)),
  copyConcurrency: setting(
    `a whole number from 1 to ${MAX_MAP_CONCURRENCY} (the Copy photos Map runs at most ${MAX_MAP_CONCURRENCY} iterations at once)`,
    numeric,
    wholeNumber(1, MAX_MAP_CONCURRENCY),
  ),
  copyReservedConcurrency: setting('a whole number from 1 to 100000', numeric, wholeNumber(1, 100_000)),
  throttleRetryMinutes: setting(
    'a number of minutes of at least 1, in whole seconds',
    numeric,
    z.number().min(1).refine(inWholeSeconds(Duration.minutes)),
  ),
  abortIncompleteUploadDays: setting('a whole number of days of 1 or more', numeric, days()),
  noncurrentVersionDays: setting('a whole number of days of 1 or more', numeric, days()),
  logRetentionDays: setting(
    `one of ${LOG_RETENTION_DAYS.join(', ')} (the retentions CloudWatch Logs offers; 9999 never expires)`,
    numeric,
    z.number().refine((value) => LOG_RETENTION_DAYS.includes(value)),
  ),
  runRetentionDays: setting('a whole number of days of 1 or more, longer than the deadline', numeric, days()),
  minPhotos: setting(
    'a whole number of 1 or more (the pre-flight refuses a flight with fewer photos)',
    numeric,
    PREFLIGHT_THRESHOLD_SCHEMAS.minPhotos,
  ),
  maxPhotos: setting(
    'a whole number of 1 or more, or none for no limit (the pre-flight refuses a flight with more photos)',
    (value) => (text(value) === 'none' ? null : numeric(value)),
    PREFLIGHT_THRESHOLD_SCHEMAS.maxPhotos,
  ),
  minGeotaggedShare: setting(
    'a number from 0 to 1 (the pre-flight refuses a flight with a smaller share of geotagged photos; 0 is off)',
    numeric,
    PREFLIGHT_THRESHOLD_SCHEMAS.minGeotaggedShare,
  ),
  maxFlightHours: setting(
    'a number of hours above 0 (the pre-flight warns when capture times span more)',
    numeric,
    PREFLIGHT_THRESHOLD_SCHEMAS.maxFlightHours,
  ),
  maxSpreadMeters: setting(
    'a number of metres above 0 (the pre-flight warns when positions spread wider)',
    numeric,
    PREFLIGHT_THRESHOLD_SCHEMAS.maxSpreadMeters,
  ),
  dashboard: setting('true or false (whether the stack has its CloudWatch dashboard)', flag, z.boolean()),
  pix4dAuthUrl: setting('an https:// URL such as https://inspect.pix4d.com', text, httpsUrl()),
  pix4dApiUrl: setting('an https:// URL such as https://api.inspect.pix4d.com', text, httpsUrl()),
} as const satisfies Record<string, Setting>;

type SettingKey = keyof typeof SETTINGS;

/** The keys this app reads from its context. */
export const PIPELINE_CONTEXT_KEYS: readonly string[] = Object.keys(SETTINGS);

function httpsUrl(): z.ZodType<string> {
  return z.string().refine((value) => {
    try {
      const url = new URL(value);
      return (
        url.protocol === 'https:' && url.hostname !== '' && url.search === '' && url.hash === '' && url.username === ''
      );
    } catch {
      return false;
    }
  });
}

const contextSchema = z.object(Object.fromEntries(Object.entries(SETTINGS).map(([key, { schema }]) => [key, schema])));

type Settings = { -readonly [K in SettingKey]?: z.output<(typeof SETTINGS)[K]['schema']> };

/**
 * Validates the whole context of the app: the keys of the README's Configuration table and `stackName`, with their
 * ranges; CDK's own keys (those with a colon, and the CLI's `acknowledged-issue-numbers` and `cli-telemetry`) pass
 * untouched. Throws a PipelineContextError naming every problem.
 */
export function parsePipelineContext(context: Readonly<Record<string, unknown>>): PipelineContext {
  const problems: string[] = [];
  const isOurs = (key: string) => Object.hasOwn(SETTINGS, key);
  for (const key of Object.keys(context)) {
    if (isOurs(key) || key.includes(':') || CDK_OWN_KEYS.has(key)) continue;
    problems.push(unknownKeyProblem(key));
  }
  const ours = Object.fromEntries(Object.entries(context).filter(([key]) => isOurs(key)));
  const parsed = contextSchema.safeParse(ours);
  if (!parsed.success) problems.push(...issueProblems(parsed.error.issues, ours));
  const settings = (parsed.success ? parsed.data : {}) as Settings;
  if (parsed.success) problems.push(...crossCheckProblems(settings));
  if (problems.length > 0) throw new PipelineContextError(problems);
  return { stackName: settings.stackName ?? DEFAULT_STACK_NAME, pipeline: pipelineProps(settings) };
}

function unknownKeyProblem(key: string): string {
  const suggestion = suggest(key, PIPELINE_CONTEXT_KEYS);
  return suggestion === undefined
    ? `CDK context ${key} is not a setting of this app; remove it (the settings are ${PIPELINE_CONTEXT_KEYS.join(', ')})`
    : `CDK context ${key} is not a setting of this app; did you mean ${suggestion}?`;
}

/** One message per key, whichever of its checks failed. */
function issueProblems(issues: readonly z.core.$ZodIssue[], input: Readonly<Record<string, unknown>>): string[] {
  const byKey = new Map<string, z.core.$ZodIssue>();
  for (const issue of issues) {
    const key = String(issue.path[0]);
    if (!byKey.has(key)) byKey.set(key, issue);
  }
  return [...byKey].map(([key, issue]) => {
    const { expected } = SETTINGS[key as SettingKey];
    return `CDK context ${key} must be ${expected}, got ${shown(input[key])}${detail(issue)}`;
  });
}

/** Where inside a JSON setting the problem is: the field, or the unknown field with the closest known one. */
function detail(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const fields = Object.keys(processingParametersSchema.shape);
    const named = issue.keys.map((field) => {
      const suggestion = suggest(field, fields);
      return suggestion === undefined ? field : `${field} (did you mean ${suggestion}?)`;
    });
    return ` (unknown field ${named.join(', ')})`;
  }
  return issue.path.length > 1 ? ` (at ${issue.path.slice(1).join('.')})` : '';
}

function shown(value: unknown): string {
  // Text as typed (quoted only when its spaces would hide where it ends), JSON values as JSON.
  const text =
    typeof value === 'string'
      ? /\s/.test(value)
        ? JSON.stringify(value)
        : value
      : typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Settings that are each in range but do not go together. */
function crossCheckProblems(settings: Settings): string[] {
  const problems: string[] = [];
  const minPhotos = settings.minPhotos ?? DEFAULT_PREFLIGHT_THRESHOLDS.minPhotos;
  if (typeof settings.maxPhotos === 'number' && settings.maxPhotos < minPhotos) {
    problems.push(
      `CDK context maxPhotos ${settings.maxPhotos} is below minPhotos ${minPhotos}: no flight could pass the pre-flight`,
    );
  }
  if (settings.secretArn !== undefined && settings.secretName !== undefined) {
    problems.push('CDK context secretArn and secretName conflict: give one of them (or neither, for a new secret)');
  }
  // A run reads its own data until its deadline passes: the work bucket must not expire it earlier.
  const deadlineHours = settings.deadlineHours ?? 48;
  const neededDays = Math.ceil(deadlineHours / 24) + 1;
  if (settings.runRetentionDays !== undefined && settings.runRetentionDays < neededDays) {
    problems.push(
      `CDK context runRetentionDays ${settings.runRetentionDays} is shorter than a run may last (deadlineHours ${deadlineHours}); ` +
        `use at least ${neededDays} days, or a shorter deadlineHours`,
    );
  }
  return problems;
}

function preflightProps(settings: Settings): InspectPipelineProps['preflight'] {
  const keys = Object.keys(PREFLIGHT_THRESHOLD_SCHEMAS) as (keyof typeof PREFLIGHT_THRESHOLD_SCHEMAS)[];
  const given = Object.fromEntries(
    keys.filter((key) => settings[key] !== undefined).map((key) => [key, settings[key]]),
  );
  return Object.keys(given).length === 0 ? undefined : given;
}

function pipelineProps(settings: Settings): InspectPipelineProps {
  const minutes = (amount: number | undefined) => (amount === undefined ? undefined : Duration.minutes(amount));
  const props: InspectPipelineProps = {
    notificationEmail: settings.notificationEmail,
    secretName: settings.secretName,
    secretArn: settings.secretArn,
    topicArn: settings.topicArn,
    quietPeriod: minutes(settings.quietPeriodMinutes),
    batchDepth: settings.batchDepth,
    abortIncompleteUploadDays: settings.abortIncompleteUploadDays,
    noncurrentVersionDays: settings.noncurrentVersionDays,
    runRetentionDays: settings.runRetentionDays,
    defaultAssetType: settings.defaultAssetType,
    defaultProcessingParameters: settings.defaultProcessingParameters,
    deadline: settings.deadlineHours === undefined ? undefined : Duration.hours(settings.deadlineHours),
    pollMaxWait: minutes(settings.pollMaxMinutes),
    expectedProcessingPerPhoto:
      settings.expectedSecondsPerPhoto === undefined
        ? undefined
        : Duration.millis(Math.round(settings.expectedSecondsPerPhoto * 1000)),
    photosPerChunk: settings.photosPerChunk,
    copyConcurrency: settings.copyConcurrency,
    copyReservedConcurrency: settings.copyReservedConcurrency,
    throttleRetry: minutes(settings.throttleRetryMinutes),
    logRetention: settings.logRetentionDays as logs.RetentionDays | undefined,
    pix4dAuthUrl: settings.pix4dAuthUrl,
    pix4dApiUrl: settings.pix4dApiUrl,
    preflight: preflightProps(settings),
    dashboard: settings.dashboard,
  };
  return withoutUndefined(props);
}
