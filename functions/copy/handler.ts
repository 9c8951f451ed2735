import { copyChunk } from '../../src/workflow/transfer-steps';
import type { CopyChunkInput } from '../../src/workflow/workflow-state';
import type { InvocationDependencies } from '../shared/step-runtime';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: InvocationDependencies) => stepHandler<CopyChunkInput, Awaited<ReturnType<typeof copyChunk>>>(copyChunk, deps);
export const handler = createHandler();
