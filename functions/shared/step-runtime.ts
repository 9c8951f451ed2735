import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { pix4dCallMetrics } from '../../src/observability/pix4d-call-metrics';
import { type Pix4dAccount, type Pix4dInspectApi, Pix4dInspectClient } from '../../src/pix4d/client';
import { processingParametersSchema } from '../../src/pix4d/schemas';
import { preflightOverridesSchema, withOverrides } from '../../src/preflight/preflight';
import { createAwsS3Client } from '../../src/s3-client';
import { parseStatusClasses } from '../../src/status/processing-status';
import { systemTimers, type Timers } from '../../src/timers';
import { SnsNotificationPublisher } from '../../src/workflow/notification-publisher';
import { DEFAULT_PIPELINE_CONFIG, type PipelineConfig } from '../../src/workflow/pipeline-config';
import type { StepDependencies, StepLogger } from '../../src/workflow/step-dependencies';
import { type Environment, type NumberRange, numberEnv, optionalEnv, requireEnv } from './config';
import { type EmfOutput, InvocationMetrics, type PublishableMetrics } from './invocation-metrics';
import { loadPix4dAccount, type Pix4dAccountCache } from './pix4d-account';
import { tracedClient, tracedClients, tracedPix4dCalls } from './tracing';

/** One logger and one metrics object per Lambda container, shared by the handler adapters. */
export const logger = new Logger({ serviceName: 'inspect-pipeline' });

/** The domain modules log through this narrow interface, so they need no Powertools types. */
export const stepLogger: StepLogger = {
  debug: (message, attributes) => logger.debug(message, (attributes ?? {}) as LogAttributes),
  info: (message, attributes) => logger.info(message, (attributes ?? {}) as LogAttributes),
  warn: (message, attributes) => logger.warn(message, (attributes ?? {}) as LogAttributes),
};

/** The steps' settings from the function's environment; a bad value fails with the variable's name. */
export function pipelineConfigFromEnv(env: Environment = process.env): PipelineConfig {
  const defaults = DEFAULT_PIPELINE_CONFIG;
  const number = (name: string, fallback: number, range: NumberRange) => numberEnv(name, fallback, range, env);
  const parameters = optionalEnv('DEFAULT_PROCESSING_PARAMETERS', '', env);
  const preflight = optionalEnv('PREFLIGHT_THRESHOLDS', '', env);
  return {
    workBucket: requireEnv('WORK_BUCKET', env),
    defaultAssetType: number('DEFAULT_ASSET_TYPE', defaults.defaultAssetType, { min: 1 }),
    defaultProcessingParameters: parameters
      ? parseJsonEnv(
          'DEFAULT_PROCESSING_PARAMETERS',
          parameters,
          processingParametersSchema.partial(),
          defaults.defaultProcessingParameters,
        )
      : defaults.defaultProcessingParameters,
    photosPerChunk: number('PHOTOS_PER_CHUNK', defaults.photosPerChunk, { min: 1, max: 1000 }),
    copy: {
      concurrency: number('COPY_CONCURRENCY', 8, { min: 1, max: 64 }),
      partSizeBytes: number('COPY_PART_SIZE_MIB', 8, { min: 5, max: 512 }) * 1024 * 1024,
    },
    deadlineHours: number('DEADLINE_HOURS', defaults.deadlineHours, { min: 0 }),
    pollSchedule: {
      ...defaults.pollSchedule,
      intervalSeconds: number('POLL_INTERVAL_SECONDS', defaults.pollSchedule.intervalSeconds, { min: 1 }),
      maxWaitSeconds: number('POLL_MAX_SECONDS', defaults.pollSchedule.maxWaitSeconds, { min: 1 }),
      defaultSecondsPerPhoto: number('EXPECTED_SECONDS_PER_PHOTO', defaults.pollSchedule.defaultSecondsPerPhoto, {
        min: 0.001,
      }),
    },
    statusClasses: parseStatusClasses(env.STATUS_CLASSES),
    inspectBaseUrl: optionalEnv('INSPECT_BASE_URL', defaults.inspectBaseUrl, env),
    preflight: preflight
      ? withOverrides(
          defaults.preflight,
          parseJsonEnv('PREFLIGHT_THRESHOLDS', preflight, preflightOverridesSchema, {}, 'pre-flight thresholds'),
        )
      : defaults.preflight,
  };
}

function parseJsonEnv<T extends object>(
  name: string,
  raw: string,
  schema: { safeParse(value: unknown): { success: boolean; data?: unknown } },
  base: T,
  what = 'processing parameters',
): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`Environment variable ${name} is not JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new Error(`Environment variable ${name} does not hold valid ${what}`);
  return { ...base, ...(result.data as object) };
}

/**
 * Time kept back from each invocation's remaining time for what follows the last Pix4D call (recording the run,
 * returning): a Pix4D call gives up with a retryable error this long before Lambda would cut the invocation.
 */
export const INVOCATION_RESERVE_MS = 5_000;

/** The AWS SDK clients of one Lambda container. */
export interface StepClients {
  readonly s3: S3Client;
  readonly secretsManager: SecretsManagerClient;
  readonly sns: SNSClient;
}

/** The clients a Lambda container builds from its environment, traced. */
export function defaultStepClients(): StepClients {
  return tracedClients({
    s3: createAwsS3Client(),
    secretsManager: new SecretsManagerClient({}),
    sns: new SNSClient({}),
  });
}

export interface StepRuntimeOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** @default clients configured by the Lambda environment */
  readonly clients?: StepClients;
  /** @default systemTimers */
  readonly timers?: Timers;
  /** @default stdout, where CloudWatch reads the EMF lines from the function's log */
  readonly metricsOutput?: EmfOutput;
}

/** The dependencies of one invocation, from the invocation's Lambda context; its metrics are published at its end. */
export type InvocationDependencies = (context: Context) => StepDependencies & { readonly metrics: PublishableMetrics };

/**
 * A Lambda container's step dependencies: SDK clients created once, the Pix4D account read from Secrets Manager by
 * ARN (cached) and a Pix4D client kept while the account stays the same, so its token is reused. Each invocation
 * gets that client bounded by the invocation's remaining time (`getRemainingTimeInMillis()`, less
 * `INVOCATION_RESERVE_MS`), so a slow Pix4Dinspect makes the step fail with a retryable error, never time out.
 */
export function stepRuntimeFromEnv(options: StepRuntimeOptions = {}): InvocationDependencies {
  const env = options.env ?? process.env;
  const timers = options.timers ?? systemTimers;
  const config = pipelineConfigFromEnv(env);
  const secretArn = requireEnv('PIX4D_SECRET_ARN', env);
  const authUrl = optionalEnv('PIX4D_AUTH_URL', '', env);
  const apiUrl = optionalEnv('PIX4D_API_URL', '', env);
  const topicArn = optionalEnv('TOPIC_ARN', '', env);
  const clients = options.clients ?? defaultStepClients();
  let current: { account: Pix4dAccount; client: Pix4dInspectClient } | undefined;
  const accounts: Pix4dAccountCache = new Map();

  const pix4dClient = async (): Promise<Pix4dInspectClient> => {
    const account = await loadPix4dAccount(secretArn, clients.secretsManager, { now: timers.now, cache: accounts });
    if (current?.account !== account) {
      current = {
        account,
        client: new Pix4dInspectClient({
          account,
          logger: stepLogger,
          timers,
          ...(authUrl ? { authUrl } : {}),
          ...(apiUrl ? { apiUrl } : {}),
        }),
      };
    }
    return current.client;
  };
  const container: Omit<StepDependencies, 'pix4d' | 'metrics'> = {
    s3: clients.s3,
    publisher: topicArn ? new SnsNotificationPublisher(clients.sns, topicArn) : missingTopic(),
    config,
    secrets: () => (current ? [current.account.password, current.account.apiKey] : []),
    logger: stepLogger,
    // The copy's uploads into Inspect's bucket are traced like the container's own calls (on Lambda only).
    instrumentClient: tracedClient,
    now: () => new Date(timers.now()),
  };
  return (context) => {
    const deadline = timers.now() + context.getRemainingTimeInMillis() - INVOCATION_RESERVE_MS;
    const metrics = new InvocationMetrics(options.metricsOutput);
    return {
      ...container,
      metrics,
      pix4d: async (): Promise<Pix4dInspectApi> =>
        (await pix4dClient()).withDeadline(deadline, tracedPix4dCalls(pix4dCallMetrics(metrics))),
    };
  };
}

function missingTopic() {
  return {
    publish: async () => {
      throw new Error('Environment variable TOPIC_ARN is required to publish notifications but is not set');
    },
  };
}

/** Builds a value on first use and keeps it: configuration is read at the first invocation of a container. */
export function once<T>(build: () => T): () => T {
  let value: { built: T } | undefined;
  return () => {
    value ??= { built: build() };
    return value.built;
  };
}
