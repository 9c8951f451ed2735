import { App, Duration, Validations, type AppProps } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { InspectPipelineProps } from './inspect-pipeline';
import { InspectPipelineStack } from './inspect-pipeline-stack';

/** Id of the ready stack, and so its CloudFormation name. */
export const STACK_ID = 'InspectPipeline';

export interface InspectPipelineApp {
  readonly app: App;
  readonly stack: InspectPipelineStack;
}

/**
 * Builds the CDK app as `cdk synth` runs it: the stack configured from CDK context and cdk-nag AwsSolutions checks,
 * whose unacknowledged findings fail synthesis. Tests and local mode call it with `context` in `props`.
 */
export function buildApp(props: AppProps = {}): InspectPipelineApp {
  const app = new App(props);
  const stack = new InspectPipelineStack(app, STACK_ID, {
    description: 'Pix4Dinspect drop-bucket pipeline',
    ...pipelinePropsFromContext(app),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** The context of cdk.json (feature flags and settings), which the CLI passes to the app and in-process builds must too. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

/** The context keys the README documents (`cdk deploy -c key=value` or cdk.json). */
export function pipelinePropsFromContext(app: App): InspectPipelineProps {
  const text = (key: string) => stringContext(app, key);
  const number = (key: string) => numberContext(app, key);
  const quietPeriodMinutes = number('quietPeriodMinutes');
  const deadlineHours = number('deadlineHours');
  const pollMaxMinutes = number('pollMaxMinutes');
  const throttleRetryMinutes = number('throttleRetryMinutes');
  const logRetentionDays = number('logRetentionDays');
  const parameters = app.node.tryGetContext('defaultProcessingParameters') as unknown;
  return withoutUndefined({
    notificationEmail: text('notificationEmail'),
    secretName: text('secretName'),
    secretArn: text('secretArn'),
    topicArn: text('topicArn'),
    quietPeriod: quietPeriodMinutes === undefined ? undefined : Duration.minutes(quietPeriodMinutes),
    batchDepth: number('batchDepth'),
    abortIncompleteUploadDays: number('abortIncompleteUploadDays'),
    noncurrentVersionDays: number('noncurrentVersionDays'),
    runRetentionDays: number('runRetentionDays'),
    defaultAssetType: number('defaultAssetType'),
    defaultProcessingParameters: typeof parameters === 'string' && parameters.trim() ? JSON.parse(parameters) : (parameters as InspectPipelineProps['defaultProcessingParameters']) ?? undefined,
    deadline: deadlineHours === undefined ? undefined : Duration.hours(deadlineHours),
    pollMaxWait: pollMaxMinutes === undefined ? undefined : Duration.minutes(pollMaxMinutes),
    photosPerChunk: number('photosPerChunk'),
    copyConcurrency: number('copyConcurrency'),
    copyReservedConcurrency: number('copyReservedConcurrency'),
    throttleRetry: throttleRetryMinutes === undefined ? undefined : Duration.minutes(throttleRetryMinutes),
    logRetention: logRetentionDays === undefined ? undefined : retentionDays(logRetentionDays),
    pix4dAuthUrl: text('pix4dAuthUrl'),
    pix4dApiUrl: text('pix4dApiUrl'),
  });
}

/** CloudWatch Logs accepts a fixed set of retention periods, in days; 0 is not among them (use 9999: never expire). */
function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((value): value is number => typeof value === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`CDK context logRetentionDays must be one of ${allowed.sort((a, b) => a - b).join(', ')}, got ${days}`);
  }
  return days as logs.RetentionDays;
}

/** `-c key=` and an empty string in cdk.json mean "not set", so that a blank value falls back to the default. */
function stringContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`CDK context ${key} must be a string, got ${typeof value}`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Numbers arrive as strings from `-c key=value` and as numbers from cdk.json. */
function numberContext(app: App, key: string): number | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number) || number < 0) throw new Error(`CDK context ${key} must be a number of 0 or more, got ${JSON.stringify(value)}`);
  return number;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
