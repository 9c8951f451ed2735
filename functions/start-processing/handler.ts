import { startProcessing } from '../../src/workflow/processing-steps';
import type { StartInput } from '../../src/workflow/workflow-state';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export const createHandler = (deps?: InvocationDependencies) =>
  stepHandler<StartInput, Awaited<ReturnType<typeof startProcessing>>>(startProcessing, deps);
export const handler = createHandler();
