import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { BatchWatch } from '../../src/ingest/batch-events';
import { checkSettlement } from '../../src/ingest/batch-settlement';
import { logger, once } from '../shared/step-runtime';

const defaultClient = once(() => new S3Client({}));

/** The batch waiter's step: has the batch been quiet long enough, and if so, which inspection should start? */
export const createHandler = (s3: () => S3Client = defaultClient, now: () => Date = () => new Date()) =>
  middy(async (event: BatchWatch) => {
    const settlement = await checkSettlement(event.batch, event.quietPeriodSeconds, s3(), now());
    logger.info('Batch checked', { batch: event.batch.prefix, state: settlement.state });
    return settlement;
  }).use(injectLambdaContext(logger, { clearState: true }));

export const handler = createHandler();
