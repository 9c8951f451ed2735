import { registerPhotos } from '../../src/workflow/transfer-steps';
import type { RegisterInput } from '../../src/workflow/workflow-state';
import type { InvocationDependencies } from '../shared/step-runtime';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: InvocationDependencies) => stepHandler<RegisterInput, Awaited<ReturnType<typeof registerPhotos>>>(registerPhotos, deps);
export const handler = createHandler();
