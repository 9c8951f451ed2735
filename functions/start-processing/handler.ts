import { startProcessing } from '../../src/workflow/processing-steps';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export const createHandler = (deps?: InvocationDependencies) =>
  stepHandler<{ runPrefix: string; inspectionId: number }, Awaited<ReturnType<typeof startProcessing>>>(
    startProcessing,
    deps,
  );
export const handler = createHandler();
