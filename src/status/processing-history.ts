import { z } from 'zod';
import { isConditionalWriteConflict } from '../aws-errors';
import { JsonObjects, type WriteCondition } from '../json-objects';
import { median } from '../median';
import { DEFAULT_POLL_SCHEDULE, type PollSchedule } from './poll-schedule';

/**
 * How long Pix4Dinspect took to process past flights, kept in the work bucket (one small object, never expired), so
 * that the poll schedule aims at the end of the next one: its photo count times the median seconds per photo of
 * the last runs.
 */

export const PROCESSING_HISTORY_KEY = 'stats/processing-history.json';
/** Runs kept: enough for a steady median, few enough that the service's changes show within a day of flights. */
export const HISTORY_RUNS = 20;

const sampleSchema = z.object({
  photos: z.number().int().positive(),
  seconds: z.number().nonnegative(),
  finishedAt: z.string(),
});
export type ProcessingSample = z.infer<typeof sampleSchema>;
const historySchema = z.object({ runs: z.array(sampleSchema) });

export interface ExpectedProcessing {
  readonly seconds: number;
  /** Past runs the expectation comes from; 0: the schedule's default seconds per photo. */
  readonly basedOnRuns: number;
}

/**
 * Seconds a processing of `photos` is expected to take: photos x the median seconds per photo of `runs`, or the
 * schedule's default without any; at least one interval, at most `limitSeconds` (the deadline).
 */
export function expectedProcessing(
  photos: number,
  runs: readonly ProcessingSample[],
  limitSeconds: number,
  schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
): ExpectedProcessing {
  const rates = runs.map((run) => run.seconds / run.photos);
  const rate = rates.length === 0 ? schedule.defaultSecondsPerPhoto : median(rates);
  const seconds = Math.min(limitSeconds, Math.max(schedule.intervalSeconds, Math.max(1, photos) * rate));
  return { seconds: Math.round(seconds), basedOnRuns: rates.length };
}

export class ProcessingHistory extends JsonObjects {
  /** The kept runs, oldest first; none when the object is missing or not of the expected shape. */
  async runs(): Promise<ProcessingSample[]> {
    return (await this.read())?.runs ?? [];
  }

  /** Adds a completed run, keeping the last `HISTORY_RUNS`; a concurrent writer is waited out by reading again. */
  async add(sample: ProcessingSample): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read();
      const runs = [...(current?.runs ?? []), sample].slice(-HISTORY_RUNS);
      const condition: WriteCondition = current ? { ifMatch: current.etag } : { ifNoneMatch: '*' };
      try {
        await this.putJson(PROCESSING_HISTORY_KEY, { runs }, condition);
        return;
      } catch (error) {
        if (!isConditionalWriteConflict(error) || attempt >= 3) throw error;
      }
    }
  }

  private async read(): Promise<{ runs: ProcessingSample[]; etag: string } | undefined> {
    const found = await this.getJson(PROCESSING_HISTORY_KEY);
    if (found === undefined) return undefined;
    const parsed = historySchema.safeParse(found.value);
    // A damaged history is replaced by the next run rather than stopping the pipeline.
    return { runs: parsed.success ? parsed.data.runs : [], etag: found.etag };
  }
}
