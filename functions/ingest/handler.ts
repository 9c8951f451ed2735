import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { IngestRules } from '../../src/ingest/batch-events';
import { ingestNotification, S3NotificationBody, WorkflowStarter } from '../../src/ingest/ingest';
import { SfnWorkflowStarter } from '../../src/ingest/sfn-workflow-starter';
import { Environment, numberEnv, requireEnv } from '../shared/config';
import { logger, once, publishStoredMetrics, stepLogger, stepMetrics } from '../shared/step-runtime';

export interface IngestDependencies {
  readonly rules: IngestRules;
  readonly starter: WorkflowStarter;
}

/** The ingest function's settings from its environment, and its Step Functions client. */
export function ingestDependenciesFromEnv(env: Environment = process.env, sfn: SFNClient = new SFNClient({})): IngestDependencies {
  return {
    rules: {
      batchDepth: numberEnv('BATCH_DEPTH', 2, { min: 1, max: 10 }, env),
      quietPeriodSeconds: numberEnv('QUIET_PERIOD_SECONDS', 600, { min: 0 }, env),
    },
    starter: new SfnWorkflowStarter(sfn, {
      inspection: requireEnv('INSPECTION_STATE_MACHINE_ARN', env),
      waiter: requireEnv('WAITER_STATE_MACHINE_ARN', env),
    }),
  };
}

const dependenciesFromEnv = once(() => ingestDependenciesFromEnv());

/**
 * SQS batch of S3 notifications -> executions started. Each message is handled on its own; the ones that fail are
 * reported back (partial batch response) so SQS retries only them, and after 5 receives moves them to the DLQ.
 */
export const createHandler = (dependencies: () => IngestDependencies = dependenciesFromEnv) =>
  middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const { rules, starter } = dependencies();
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        await ingestNotification(JSON.parse(record.body) as S3NotificationBody, rules, starter, stepLogger, stepMetrics);
      } catch (error) {
        logger.error('S3 notification not handled; SQS will deliver it again', { messageId: record.messageId, error: error as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  })
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(publishStoredMetrics);

export const handler = createHandler();
