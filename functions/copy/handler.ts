import { copyChunk } from '../../src/workflow/transfer-steps';
import type { CopyChunkInput } from '../../src/workflow/workflow-state';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: () => StepDependencies) => stepHandler<CopyChunkInput, Awaited<ReturnType<typeof copyChunk>>>(copyChunk, deps);
export const handler = createHandler();
