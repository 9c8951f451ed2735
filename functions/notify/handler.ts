import { notifyOutcome } from '../../src/workflow/notify-outcome';
import type { NotifyInput } from '../../src/workflow/workflow-state';
import type { InvocationDependencies } from '../shared/step-runtime';
import { stepHandler } from '../shared/step-handler';

export const createHandler = (deps?: InvocationDependencies) => stepHandler<NotifyInput, Awaited<ReturnType<typeof notifyOutcome>>>(notifyOutcome, deps);
export const handler = createHandler();
