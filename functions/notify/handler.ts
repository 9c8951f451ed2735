import { notifyOutcome } from '../../src/workflow/notify-outcome';
import type { NotifyInput } from '../../src/workflow/workflow-state';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: () => StepDependencies) => stepHandler<NotifyInput, Awaited<ReturnType<typeof notifyOutcome>>>(notifyOutcome, deps);
export const handler = createHandler();
