import { registerPhotos } from '../../src/workflow/transfer-steps';
import type { RegisterInput } from '../../src/workflow/workflow-state';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: () => StepDependencies) => stepHandler<RegisterInput, Awaited<ReturnType<typeof registerPhotos>>>(registerPhotos, deps);
export const handler = createHandler();
