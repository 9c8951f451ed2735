import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { BatchWatch } from '../../src/ingest/batch-events';
import { checkSettlement, recordWatch } from '../../src/ingest/batch-settlement';
import { Environment, requireEnv } from '../shared/config';
import { retryableAwsErrors } from '../shared/retryable-aws-errors';
import { logger, once } from '../shared/step-runtime';

export interface CheckBatchDependencies {
  readonly s3: S3Client;
  /** Where the batch's state is recorded for the operator CLI. */
  readonly workBucket: string;
  readonly now: () => Date;
}

/** The check-batch function's settings from its environment, and its S3 client. */
export function checkBatchDependenciesFromEnv(env: Environment = process.env, s3: S3Client = new S3Client({})): CheckBatchDependencies {
  return { s3, workBucket: requireEnv('WORK_BUCKET', env), now: () => new Date() };
}

const defaultDependencies = once(() => checkBatchDependenciesFromEnv());

/** The batch waiter's step: has the batch been quiet long enough, and if so, which inspection should start? */
export const createHandler = (dependencies: () => CheckBatchDependencies = defaultDependencies) =>
  middy(async (event: BatchWatch & { watchId: string }) => {
    const { s3, workBucket, now } = dependencies();
    const settlement = await checkSettlement(event.batch, event.quietPeriodSeconds, s3, now());
    await recordWatch(s3, workBucket, event.watchId, event.batch, settlement, now());
    logger.info('Batch checked', { batch: event.batch.prefix, state: settlement.state });
    return settlement;
  })
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(retryableAwsErrors());

export const handler = createHandler();
