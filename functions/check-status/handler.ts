import { checkProcessing } from '../../src/workflow/processing-steps';
import type { CheckInput } from '../../src/workflow/workflow-state';
import type { InvocationDependencies } from '../shared/step-runtime';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: InvocationDependencies) => stepHandler<CheckInput, Awaited<ReturnType<typeof checkProcessing>>>(checkProcessing, deps);
export const handler = createHandler();
