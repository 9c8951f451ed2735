import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { BatchWatch } from '../../src/ingest/batch-events';
import { checkSettlement, recordWatch } from '../../src/ingest/batch-settlement';
import { createAwsS3Client } from '../../src/s3-client';
import { keepRecord } from '../../src/workflow/record-progress';
import { type Environment, requireEnv } from '../shared/config';
import { type EmfOutput, InvocationMetrics } from '../shared/invocation-metrics';
import { retryableAwsErrors } from '../shared/retryable-aws-errors';
import { logger, once, stepLogger } from '../shared/step-runtime';
import { tracedClient, tracer } from '../shared/tracing';

export interface CheckBatchDependencies {
  readonly s3: S3Client;
  /** Where the batch's state is recorded for the operator CLI. */
  readonly workBucket: string;
  readonly now: () => Date;
  /** @default stdout, where CloudWatch reads the EMF lines from the function's log */
  readonly metricsOutput?: EmfOutput;
}

/** The check-batch function's settings from its environment, and its S3 client (traced when it is the default). */
export function checkBatchDependenciesFromEnv(
  env: Environment = process.env,
  s3: S3Client = tracedClient(createAwsS3Client()),
): CheckBatchDependencies {
  return { s3, workBucket: requireEnv('WORK_BUCKET', env), now: () => new Date() };
}

const defaultDependencies = once(() => checkBatchDependenciesFromEnv());

/** The batch waiter's step: has the batch been quiet long enough, and if so, which inspection should start? */
export const createHandler = (dependencies: () => CheckBatchDependencies = defaultDependencies) =>
  middy(
    async (
      event: BatchWatch & { watchId: string; previous?: { uploadSeenAt?: string | null; uploadsInProgress?: number } },
    ) => {
      const { s3, workBucket, now, metricsOutput } = dependencies();
      const metrics = new InvocationMetrics(metricsOutput);
      const settlement = await checkSettlement(event.batch, event.quietPeriodSeconds, s3, now(), {
        uploadSeenAt: event.previous?.uploadSeenAt ?? null,
        uploadsInProgressBefore: event.previous?.uploadsInProgress ?? 0,
      });
      // The record is for the operator; the waiter goes on without it.
      await keepRecord({ logger: stepLogger, metrics }, 'batch watch', () =>
        recordWatch(s3, workBucket, event.watchId, event.batch, settlement, now()),
      );
      metrics.publish();
      if (settlement.state === 'settled' && settlement.abandonedUploads.length > 0) {
        logger.warn('Batch settled without uploads that never completed', {
          batch: event.batch.prefix,
          abandonedUploads: settlement.abandonedUploads.slice(0, 20),
        });
      }
      logger.info('Batch checked', {
        batch: event.batch.prefix,
        state: settlement.state,
        ...(settlement.state === 'waiting' ? { uploadsInProgress: settlement.uploadsInProgress } : {}),
      });
      return settlement;
    },
  )
    // The settlement goes to the waiter's state already; a trace need not hold a copy of it.
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(retryableAwsErrors());

export const handler = createHandler();
