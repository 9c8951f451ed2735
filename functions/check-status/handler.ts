import { checkProcessing } from '../../src/workflow/processing-steps';
import type { CheckInput } from '../../src/workflow/workflow-state';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export const createHandler = (deps?: InvocationDependencies) =>
  stepHandler<CheckInput, Awaited<ReturnType<typeof checkProcessing>>>(checkProcessing, deps);
export const handler = createHandler();
