import { registerPhotos } from '../../src/workflow/transfer-steps';
import type { RegisterInput } from '../../src/workflow/workflow-state';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export const createHandler = (deps?: InvocationDependencies) =>
  stepHandler<RegisterInput, Awaited<ReturnType<typeof registerPhotos>>>(registerPhotos, deps);
export const handler = createHandler();
