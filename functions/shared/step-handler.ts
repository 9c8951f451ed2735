import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { retryableAwsErrors } from './retryable-aws-errors';
import { InvocationDependencies, logger, once, publishStoredMetrics, stepRuntimeFromEnv } from './step-runtime';

const container = once(() => stepRuntimeFromEnv());
const defaultDependencies: InvocationDependencies = (context) => container()(context);

/**
 * A workflow step as a Lambda handler: the state machine invokes it with the payload only (`payloadResponseOnly`),
 * and whatever it returns becomes the task's result. `dependencies` is for local mode and tests; on AWS they come
 * from the environment at the first invocation, bounded per invocation by its remaining time.
 */
export function stepHandler<I, O>(
  step: (input: I, deps: StepDependencies) => Promise<O>,
  dependencies: InvocationDependencies = defaultDependencies,
) {
  return middy(async (event: I, context: Context) => step(event, dependencies(context)))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(publishStoredMetrics)
    .use(retryableAwsErrors());
}
