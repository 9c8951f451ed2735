import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { retryableAwsErrors } from './retryable-aws-errors';
import { type InvocationDependencies, logger, once, stepRuntimeFromEnv } from './step-runtime';
import { tracer } from './tracing';

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
  return (
    middy(async (event: I, context: Context) => {
      const deps = dependencies(context);
      try {
        return await step(event, deps);
      } finally {
        deps.metrics.publish();
      }
    })
      // The result goes to the execution's state already; a trace need not hold a copy of it.
      .use(captureLambdaHandler(tracer, { captureResponse: false }))
      .use(injectLambdaContext(logger, { clearState: true }))
      .use(retryableAwsErrors())
  );
}
