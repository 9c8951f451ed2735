import type { InspectionRequest } from '../../src/ingest/batch-events';
import { prepareInspection } from '../../src/workflow/prepare-inspection';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export interface PrepareEvent {
  readonly request: InspectionRequest;
  readonly batchId: string;
}

const prepare = (event: PrepareEvent, deps: StepDependencies) => prepareInspection(event.request, event.batchId, deps);

export const createHandler = (deps?: InvocationDependencies) => stepHandler(prepare, deps);
export const handler = createHandler();
