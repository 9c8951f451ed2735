import { startProcessing } from '../../src/workflow/processing-steps';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: () => StepDependencies) => stepHandler<{ runPrefix: string; inspectionId: number }, Awaited<ReturnType<typeof startProcessing>>>(startProcessing, deps);
export const handler = createHandler();
