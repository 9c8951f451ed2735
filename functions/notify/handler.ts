import { notifyOutcome } from '../../src/workflow/notify-outcome';
import type { NotifyInput } from '../../src/workflow/workflow-state';
import { stepHandler } from '../shared/step-handler';
import type { InvocationDependencies } from '../shared/step-runtime';

export const createHandler = (deps?: InvocationDependencies) =>
  stepHandler<NotifyInput, Awaited<ReturnType<typeof notifyOutcome>>>(notifyOutcome, deps);
export const handler = createHandler();
