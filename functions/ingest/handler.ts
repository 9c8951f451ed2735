import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { IngestRules } from '../../src/ingest/batch-events';
import { ingestNotification, type WorkflowStarter } from '../../src/ingest/ingest';
import { SfnWorkflowStarter } from '../../src/ingest/sfn-workflow-starter';
import { type Environment, numberEnv, requireEnv } from '../shared/config';
import { type EmfOutput, InvocationMetrics } from '../shared/invocation-metrics';
import { logger, once, stepLogger } from '../shared/step-runtime';
import { tracedClient, tracer } from '../shared/tracing';

export interface IngestDependencies {
  readonly rules: IngestRules;
  readonly starter: WorkflowStarter;
  /** @default stdout, where CloudWatch reads the EMF lines from the function's log */
  readonly metricsOutput?: EmfOutput;
}

/** The ingest function's settings from its environment, and its Step Functions client (traced when it is the default). */
export function ingestDependenciesFromEnv(
  env: Environment = process.env,
  sfn: SFNClient = tracedClient(new SFNClient({})),
): IngestDependencies {
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
    const { rules, starter, metricsOutput } = dependencies();
    const metrics = new InvocationMetrics(metricsOutput);
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    try {
      for (const record of event.Records) {
        try {
          await ingestNotification(JSON.parse(record.body) as unknown, rules, starter, stepLogger, metrics);
        } catch (error) {
          logger.error('S3 notification not handled; SQS will deliver it again', {
            messageId: record.messageId,
            error: error as Error,
          });
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }
    } finally {
      metrics.publish();
    }
    return { batchItemFailures };
  })
    // The answer lists failed message ids only; a trace need not hold a copy of it.
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { clearState: true }));

export const handler = createHandler();
