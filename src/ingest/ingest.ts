import type { S3Event } from 'aws-lambda';
import { z } from 'zod';
import { decodeEventKey } from '../batch/keys';
import type { StepMetrics } from '../observability/pipeline-metrics';
import { decideForEvent, type IngestDecision, type IngestRules, type ObjectCreated } from './batch-events';

/** Starts executions by name; a name already used is not an error but a duplicate. */
export interface WorkflowStarter {
  start(machine: 'inspection' | 'waiter', name: string, input: object): Promise<'started' | 'already-started'>;
}

export interface IngestLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** Counts what people should hear of: a file named like a manifest that is not one. */
export type IngestMetrics = Pick<StepMetrics, 'record'>;

export interface IngestOutcome {
  readonly decision: IngestDecision;
  readonly result: 'started' | 'already-started' | 'ignored';
}

/** What S3 sends once when a notification is set up: no object, nothing to do. */
export interface S3TestEvent {
  readonly Service: string;
  readonly Event: 's3:TestEvent';
  readonly Time?: string;
  readonly Bucket?: string;
}

/** The S3 notification body an SQS message carries: S3 event records, or the test event S3 sends on setup. */
export type S3NotificationBody = Pick<S3Event, 'Records'> | S3TestEvent;

export class InvalidS3NotificationError extends Error {
  override name = 'InvalidS3NotificationError';
}

// Only what the pipeline reads is required, and only of object-created records: S3 adds fields over time, and
// other event types (ObjectRemoved) are skipped whatever they carry.
const testEventSchema = z.looseObject({ Event: z.literal('s3:TestEvent') });
const recordsSchema = z.looseObject({ Records: z.array(z.looseObject({ eventName: z.string().optional() })) });
const createdRecordSchema = z.looseObject({
  eventTime: z.string().min(1),
  s3: z.looseObject({
    bucket: z.looseObject({ name: z.string().min(1) }),
    object: z.looseObject({ key: z.string().min(1), eTag: z.string().optional() }),
  }),
});

/**
 * The object-created events of one notification body, read from the SQS message's JSON as it came (`unknown`: it
 * is checked here); `s3:TestEvent` and other event types give none.
 */
export function objectCreatedEvents(body: unknown): ObjectCreated[] {
  if (testEventSchema.safeParse(body).success) return [];
  const notification = recordsSchema.safeParse(body);
  if (!notification.success) throw new InvalidS3NotificationError('S3 notification without a list of Records');
  return notification.data.Records.filter((record) => record.eventName?.startsWith('ObjectCreated:')).map((record) => {
    const created = createdRecordSchema.safeParse(record);
    if (!created.success)
      throw new InvalidS3NotificationError('S3 event record without bucket name, object key or event time');
    const { eventTime, s3 } = created.data;
    return {
      bucket: s3.bucket.name,
      encodedKey: s3.object.key,
      eventTime,
      ...(s3.object.eTag ? { eTag: s3.object.eTag } : {}),
    };
  });
}

/** Acts on the events of one notification: each batch event starts (at most once) the execution it asks for. */
export async function ingestNotification(
  body: unknown,
  rules: IngestRules,
  starter: WorkflowStarter,
  logger?: IngestLogger,
  metrics?: IngestMetrics,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = [];
  for (const event of objectCreatedEvents(body)) {
    const decision = decideForEvent(event, rules);
    if (decision.misplacedManifest) {
      logger?.warn('File named like a manifest is not one', {
        key: decodeEventKey(event.encodedKey),
        reason: decision.misplacedManifest,
      });
      metrics?.record('ManifestsMisplaced', 1);
    }
    if (decision.action === 'ignore') {
      logger?.info('Object ignored', { key: decision.key, reason: decision.reason });
      outcomes.push({ decision, result: 'ignored' });
      continue;
    }
    const machine = decision.action === 'start-inspection' ? 'inspection' : 'waiter';
    const result = await starter.start(machine, decision.executionName, decision.input);
    logger?.info(result === 'started' ? 'Execution started' : 'Execution already started', {
      machine,
      executionName: decision.executionName,
      batch: decision.input.batch.prefix,
    });
    outcomes.push({ decision, result });
  }
  return outcomes;
}
