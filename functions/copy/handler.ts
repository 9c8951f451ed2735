import { copyChunk } from '../../src/workflow/transfer-steps';
import type { CopyChunkInput } from '../../src/workflow/workflow-state';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export const createHandler = (deps?: InvocationDependencies) =>
  stepHandler<CopyChunkInput, Awaited<ReturnType<typeof copyChunk>>>(copyChunk, deps);
export const handler = createHandler();
