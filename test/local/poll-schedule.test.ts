import { describe, expect, it } from 'vitest';
import type { LocalPipeline, LocalPipelineEvent } from '../../local/pipeline/local-pipeline';
import { processingSkippingClock } from '../../local/pipeline/simulated-clock';
import { MAX_RUN_TRANSITIONS, pollBudget } from '../../src/status/poll-schedule';
import { dropFlight, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * The poll loop of the synthesized workflow, run by the local interpreter on a simulated clock that each Wait
 * state moves ahead by its seconds: hours of processing in seconds, with the transitions the interpreter counts.
 */

const HOUR = 3_600;

/** The simulated clock, and what the runs did: polls and transitions. */
function simulatedClock() {
  const polls: string[] = [];
  const transitions: number[] = [];
  const options = {
    ...processingSkippingClock(),
    onEvent: (event: LocalPipelineEvent) => {
      if (event.event === 'state' && event.state === 'Check processing status') polls.push(event.execution);
      if (event.event === 'execution-ended' && event.machine === 'inspection') transitions.push(event.transitions);
    },
  };
  return { options, polls, transitions };
}

const start = localPipelinesPerTest({ quietPeriodSeconds: 0, waitMs: 1 });

async function fly(local: LocalPipeline, prefix: string, count: number) {
  await dropFlight(local.s3, local.dropBucket, prefix, photos(count, 512), {});
  await local.settle();
  return local.notifications.find((notification) => notification.batch.prefix === prefix);
}

describe('the poll schedule, locally', () => {
  it('polls a processing that never ends up to the 48-hour deadline within 400 state transitions', async () => {
    // Prepare
    const run = simulatedClock();
    const local = await start({ ...run.options, simulatorSettings: { processingSeconds: 100 * HOUR } });

    // Act
    const message = await fly(local, 'tower-1/endless/', 12);

    // Assess
    expect(message?.type).toBe('inspection.timed_out');
    expect(run.transitions).toHaveLength(1);
    expect(run.transitions[0]).toBeLessThanOrEqual(MAX_RUN_TRANSITIONS);
    expect(run.polls.length).toBeGreaterThan(30);
    expect(run.polls.length).toBeLessThanOrEqual(pollBudget(1));
  });

  it('learns the processing time of a flight, so that the next one is notified within 2 minutes of its end', async () => {
    // Prepare
    const processingSeconds = 3 * HOUR;
    const local = await start({ ...simulatedClock().options, simulatorSettings: { processingSeconds } });
    const first = await fly(local, 'tower-2/first/', 20);

    // Act
    const second = await fly(local, 'tower-2/second/', 20);

    // Assess
    const delayOf = (timings: { processingStartedAt: string | null; finishedAt: string } | undefined) =>
      (Date.parse(timings!.finishedAt) - Date.parse(timings!.processingStartedAt!)) / 1000 - processingSeconds;
    expect(first?.type).toBe('inspection.completed');
    expect(second?.type).toBe('inspection.completed');
    // The first had only the default expectation (20 photos x 10 s): its waits grew past it.
    expect(delayOf(first?.timings)).toBeGreaterThan(120);
    expect(delayOf(second?.timings)).toBeLessThanOrEqual(120);
  });
});
