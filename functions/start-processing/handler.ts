import { startProcessing } from '../../src/workflow/processing-steps';
import type { InvocationDependencies } from '../shared/step-runtime';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: InvocationDependencies) => stepHandler<{ runPrefix: string; inspectionId: number }, Awaited<ReturnType<typeof startProcessing>>>(startProcessing, deps);
export const handler = createHandler();
