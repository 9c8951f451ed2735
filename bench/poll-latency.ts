import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { LocalPipeline, LocalPipelineEvent, LocalPipelineOptions } from '../local/pipeline/local-pipeline';
import { processingSkippingClock } from '../local/pipeline/simulated-clock';
import { median } from '../src/median';
import { MAX_RUN_TRANSITIONS } from '../src/status/poll-schedule';
import { PROCESSING_HISTORY_KEY, type ProcessingSample } from '../src/status/processing-history';
import { putPhotos } from './bench-data';

/**
 * How soon the notification follows the end of processing, and what the polling costs: flights run by the local
 * pipeline on a simulated clock that each "Wait for processing" moves ahead by its seconds, so that a day of
 * processing takes seconds. For each duration the work bucket holds the history of five like flights, whose times
 * per photo spread by +-10 %, and the flight itself ends early, on time or late within that spread; one more
 * flight never ends, and polls to the 48-hour deadline.
 */

const PHOTOS = 20;
const MINUTE = 60;
const HOUR = 3_600;
export const POLL_BENCH_DURATIONS = [10 * MINUTE, HOUR, 6 * HOUR, 24 * HOUR] as const;
/** The flight's actual time as a share of its like flights' median: early, on time, late. */
const END_SHARES = [0.93, 1, 1.07] as const;
const HISTORY_SHARES = [0.9, 0.95, 1, 1.05, 1.1] as const;
export const MEDIAN_DELAY_TARGET_SECONDS = 120;

type StartLocalPipeline = (options: LocalPipelineOptions) => Promise<LocalPipeline>;

interface FlightRun {
  readonly processingMinutes: number;
  readonly endShare: number;
  readonly outcome: string;
  readonly delaySeconds: number;
  readonly polls: number;
  readonly transitions: number;
}

export async function measurePollLatency(startLocalPipeline: StartLocalPipeline) {
  const runs: FlightRun[] = [];
  for (const duration of POLL_BENCH_DURATIONS) {
    for (const share of END_SHARES) runs.push(await flyOnce(startLocalPipeline, duration, share));
  }
  const endless = await flyOnce(startLocalPipeline, 6 * HOUR, Number.POSITIVE_INFINITY);
  const byDuration = POLL_BENCH_DURATIONS.map((duration) => {
    const ofDuration = runs.filter((run) => run.processingMinutes === duration / MINUTE);
    return {
      processingMinutes: duration / MINUTE,
      medianDelaySeconds: median(ofDuration.map((run) => run.delaySeconds)),
      worstDelaySeconds: Math.max(...ofDuration.map((run) => run.delaySeconds)),
      medianPolls: median(ofDuration.map((run) => run.polls)),
      medianTransitions: median(ofDuration.map((run) => run.transitions)),
    };
  });
  const medianDelay = median(runs.map((run) => run.delaySeconds));
  const sixHours = runs.filter((run) => run.processingMinutes === 360);
  const sixHourWorst = sixHours.reduce((worst, run) => (run.transitions > worst.transitions ? run : worst));
  return {
    photosPerFlight: PHOTOS,
    runs,
    byDuration,
    medianDelaySeconds: {
      value: medianDelay,
      target: `<= ${MEDIAN_DELAY_TARGET_SECONDS}`,
      met: medianDelay <= MEDIAN_DELAY_TARGET_SECONDS,
    },
    worstDelaySeconds: Math.max(...runs.map((run) => run.delaySeconds)),
    sixHourTransitions: {
      value: sixHourWorst.transitions,
      polls: sixHourWorst.polls,
      target: `<= 60 + 4 x polls (${60 + 4 * sixHourWorst.polls}) and <= ${MAX_RUN_TRANSITIONS}`,
      met: sixHourWorst.transitions <= Math.min(60 + 4 * sixHourWorst.polls, MAX_RUN_TRANSITIONS),
    },
    deadlineTransitions: {
      value: endless.transitions,
      polls: endless.polls,
      outcome: endless.outcome,
      target: `<= ${MAX_RUN_TRANSITIONS}`,
      met: endless.transitions <= MAX_RUN_TRANSITIONS && endless.outcome === 'inspection.timed_out',
    },
  };
}

/** One flight whose like flights took `duration` in the median and which itself takes `share` of it. */
async function flyOnce(start: StartLocalPipeline, duration: number, share: number): Promise<FlightRun> {
  // A few seconds off the round figure, so that no poll meets the end by the round numbers alone.
  const processingSeconds = Number.isFinite(share) ? Math.round(duration * share) + 17 : 100 * HOUR;
  let polls = 0;
  let transitions = 0;
  const pipeline = await start({
    simulatorSettings: { processingSeconds },
    quietPeriodSeconds: 0,
    waitMs: 1,
    ...processingSkippingClock(),
    onEvent: (event: LocalPipelineEvent) => {
      if (event.event === 'state' && event.state === 'Check processing status') polls += 1;
      if (event.event === 'execution-ended' && event.machine === 'inspection') transitions = event.transitions;
    },
  });
  try {
    await seedHistory(pipeline, duration);
    const prefix = `tower-${duration}/flight-${share}/`;
    await putPhotos(pipeline.s3, pipeline.dropBucket, prefix, PHOTOS, 4_096);
    await pipeline.s3.send(
      new PutObjectCommand({ Bucket: pipeline.dropBucket, Key: `${prefix}manifest.json`, Body: '{}' }),
    );
    await pipeline.settle();
    const message = pipeline.notifications[0];
    const started = Date.parse(message?.timings.processingStartedAt ?? '');
    const finished = Date.parse(message?.timings.finishedAt ?? '');
    return {
      processingMinutes: duration / MINUTE,
      endShare: share,
      outcome: message?.type ?? 'none',
      delaySeconds: Math.round((finished - started) / 1000 - processingSeconds),
      polls,
      transitions,
    };
  } finally {
    await pipeline.close();
  }
}

/** Five like flights of `PHOTOS` photos, whose processing took `duration` x 0.9 to 1.1. */
async function seedHistory(pipeline: LocalPipeline, duration: number): Promise<void> {
  const runs: ProcessingSample[] = HISTORY_SHARES.map((share, index) => ({
    photos: PHOTOS,
    seconds: duration * share,
    finishedAt: new Date(Date.UTC(2026, 11, 1, index)).toISOString(),
  }));
  await pipeline.s3.send(
    new PutObjectCommand({ Bucket: pipeline.workBucket, Key: PROCESSING_HISTORY_KEY, Body: JSON.stringify({ runs }) }),
  );
}
