import { decodeEventKey } from '../batch/keys';
import type { StepMetrics } from '../observability/pipeline-metrics';
import { decideForEvent, IngestDecision, IngestRules, ObjectCreated } from './batch-events';

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

/** The S3 notification body an SQS message carries: S3 event records, or the test event S3 sends on setup. */
export interface S3NotificationBody {
  readonly Event?: string;
  readonly Records?: readonly {
    readonly eventName?: string;
    readonly eventTime?: string;
    readonly s3?: { readonly bucket?: { readonly name?: string }; readonly object?: { readonly key?: string; readonly eTag?: string } };
  }[];
}

export class InvalidS3NotificationError extends Error {
  override name = 'InvalidS3NotificationError';
}

/** The object-created events of one notification body; `s3:TestEvent` and other event types give none. */
export function objectCreatedEvents(body: S3NotificationBody): ObjectCreated[] {
  if (body.Event === 's3:TestEvent') return [];
  if (!Array.isArray(body.Records)) throw new InvalidS3NotificationError('S3 notification without Records');
  return body.Records.filter((record) => record.eventName?.startsWith('ObjectCreated:')).map((record) => {
    const bucket = record.s3?.bucket?.name;
    const encodedKey = record.s3?.object?.key;
    if (!bucket || !encodedKey || !record.eventTime) {
      throw new InvalidS3NotificationError('S3 event record without bucket name, object key or event time');
    }
    return { bucket, encodedKey, eventTime: record.eventTime, ...(record.s3?.object?.eTag ? { eTag: record.s3.object.eTag } : {}) };
  });
}

/** Acts on the events of one notification: each batch event starts (at most once) the execution it asks for. */
export async function ingestNotification(
  body: S3NotificationBody,
  rules: IngestRules,
  starter: WorkflowStarter,
  logger?: IngestLogger,
  metrics?: IngestMetrics,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = [];
  for (const event of objectCreatedEvents(body)) {
    const decision = decideForEvent(event, rules);
    if (decision.misplacedManifest) {
      logger?.warn('File named like a manifest is not one', { key: decodeEventKey(event.encodedKey), reason: decision.misplacedManifest });
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
