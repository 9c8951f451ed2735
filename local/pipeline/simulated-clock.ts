import type { LocalPipelineOptions } from './local-pipeline';

/**
 * A clock for `startLocalPipeline` that each "Wait for processing" moves ahead by its seconds (the Wait itself
 * lasts `waitMs`): hours of simulated processing run in seconds, with the waits the workflow chose.
 */
export function processingSkippingClock(): Required<Pick<LocalPipelineOptions, 'clock' | 'onWait'>> {
  let offset = 0;
  return {
    clock: () => Date.now() + offset,
    onWait: (state, input) => {
      if (state !== 'Wait for processing') return;
      offset += ((input as { processing: { poll: { waitSeconds?: number } } }).processing.poll.waitSeconds ?? 0) * 1000;
    },
  };
}
