import type { Pix4dCallObserver } from '../pix4d/client';
import type { StepMetrics } from './pipeline-metrics';

/** Counts a client's Pix4Dinspect requests into one invocation's metrics: sent, sent again, failed. */
export function pix4dCallMetrics(metrics: Pick<StepMetrics, 'record'>): Required<Omit<Pix4dCallObserver, 'around'>> {
  return {
    attempted: (_endpoint, answer) => metrics.record('Pix4dApiCalls', 1, { statusClass: answer }),
    retrying: () => metrics.record('Pix4dApiRetries', 1),
    failed: (_endpoint, answer) => metrics.record('Pix4dApiErrors', 1, { statusClass: answer }),
  };
}
