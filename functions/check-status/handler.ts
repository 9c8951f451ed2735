import { checkProcessing } from '../../src/workflow/processing-steps';
import type { CheckInput } from '../../src/workflow/workflow-state';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: () => StepDependencies) => stepHandler<CheckInput, Awaited<ReturnType<typeof checkProcessing>>>(checkProcessing, deps);
export const handler = createHandler();
