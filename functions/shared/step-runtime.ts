import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { Pix4dAccount, Pix4dInspectApi, Pix4dInspectClient } from '../../src/pix4d/client';
import { processingParametersSchema } from '../../src/pix4d/schemas';
import { parseStatusClasses } from '../../src/status/processing-status';
import { SnsNotificationPublisher } from '../../src/workflow/notification-publisher';
import { DEFAULT_PIPELINE_CONFIG, PipelineConfig } from '../../src/workflow/pipeline-config';
import type { StepDependencies, StepLogger, StepMetrics } from '../../src/workflow/step-dependencies';
import { numberEnv, optionalEnv, requireEnv } from './config';
import { loadPix4dAccount } from './pix4d-account';

/** One logger and one metrics object per Lambda container, shared by the handler adapters. */
export const logger = new Logger({ serviceName: 'inspect-pipeline' });


/** The domain modules log through this narrow interface, so they need no Powertools types. */
export const stepLogger: StepLogger = {
  debug: (message, attributes) => logger.debug(message, (attributes ?? {}) as LogAttributes),
  info: (message, attributes) => logger.info(message, (attributes ?? {}) as LogAttributes),
  warn: (message, attributes) => logger.warn(message, (attributes ?? {}) as LogAttributes),
};
export const metrics = new Metrics({ namespace: 'InspectPipeline', serviceName: 'inspect-pipeline' });

const UNITS: Record<Parameters<StepMetrics['count']>[0], (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  PhotosCopied: MetricUnit.Count,
  BytesCopied: MetricUnit.Bytes,
  InspectionsCompleted: MetricUnit.Count,
  InspectionsFailed: MetricUnit.Count,
  InspectionsTimedOut: MetricUnit.Count,
};

/** The steps' settings from the function's environment; a bad value fails with the variable's name. */
export function pipelineConfigFromEnv(): PipelineConfig {
  const defaults = DEFAULT_PIPELINE_CONFIG;
  const parameters = optionalEnv('DEFAULT_PROCESSING_PARAMETERS', '');
  return {
    workBucket: requireEnv('WORK_BUCKET'),
    defaultAssetType: numberEnv('DEFAULT_ASSET_TYPE', defaults.defaultAssetType, { min: 1 }),
    defaultProcessingParameters: parameters ? parseJsonEnv('DEFAULT_PROCESSING_PARAMETERS', parameters, processingParametersSchema.partial(), defaults.defaultProcessingParameters) : defaults.defaultProcessingParameters,
    photosPerChunk: numberEnv('PHOTOS_PER_CHUNK', defaults.photosPerChunk, { min: 1, max: 1000 }),
    copy: {
      concurrency: numberEnv('COPY_CONCURRENCY', 8, { min: 1, max: 64 }),
      partSizeBytes: numberEnv('COPY_PART_SIZE_MIB', 8, { min: 5, max: 512 }) * 1024 * 1024,
    },
    deadlineHours: numberEnv('DEADLINE_HOURS', defaults.deadlineHours, { min: 0 }),
    pollPolicy: {
      initialWaitSeconds: numberEnv('POLL_INITIAL_SECONDS', defaults.pollPolicy.initialWaitSeconds, { min: 1 }),
      factor: numberEnv('POLL_FACTOR', defaults.pollPolicy.factor, { min: 1 }),
      maxWaitSeconds: numberEnv('POLL_MAX_SECONDS', defaults.pollPolicy.maxWaitSeconds, { min: 1 }),
    },
    statusClasses: parseStatusClasses(process.env.STATUS_CLASSES),
    inspectBaseUrl: optionalEnv('INSPECT_BASE_URL', defaults.inspectBaseUrl),
  };
}

function parseJsonEnv<T extends object>(name: string, raw: string, schema: { safeParse(value: unknown): { success: boolean; data?: unknown } }, base: T): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`Environment variable ${name} is not JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new Error(`Environment variable ${name} does not hold valid processing parameters`);
  return { ...base, ...(result.data as object) };
}

/**
 * Step dependencies of a Lambda: SDK clients created once per container, the Pix4D account read from Secrets
 * Manager by ARN (cached) and a Pix4D client kept while the account stays the same, so its token is reused.
 */
export function stepDependenciesFromEnv(): StepDependencies {
  const config = pipelineConfigFromEnv();
  const secretArn = requireEnv('PIX4D_SECRET_ARN');
  const authUrl = optionalEnv('PIX4D_AUTH_URL', '');
  const apiUrl = optionalEnv('PIX4D_API_URL', '');
  const s3 = new S3Client({});
  const secretsManager = new SecretsManagerClient({});
  let current: { account: Pix4dAccount; client: Pix4dInspectApi } | undefined;

  const pix4d = async (): Promise<Pix4dInspectApi> => {
    const account = await loadPix4dAccount(secretArn, secretsManager);
    if (current?.account !== account) {
      current = {
        account,
        client: new Pix4dInspectClient({ account, logger: stepLogger, ...(authUrl ? { authUrl } : {}), ...(apiUrl ? { apiUrl } : {}) }),
      };
    }
    return current.client;
  };
  const topicArn = process.env.TOPIC_ARN;
  return {
    s3,
    pix4d,
    publisher: topicArn ? new SnsNotificationPublisher(new SNSClient({}), topicArn) : missingTopic(),
    config,
    secrets: () => (current ? [current.account.password, current.account.apiKey] : []),
    logger: stepLogger,
    metrics: { count: (name, value) => metrics.addMetric(name, UNITS[name], value) },
    now: () => new Date(),
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
  return () => (value ??= { built: build() }).built;
}
