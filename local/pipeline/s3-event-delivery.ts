import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { S3rverEvent } from 's3rver';
import { once } from '../../functions/shared/step-runtime';
import type { IamAuthorizer } from '../iam/iam-authorizer';
import type { EmbeddedS3 } from '../s3/embedded-s3';
import type { LocalLambda } from './local-lambda';
import { LOCAL_ACCOUNT, LOCAL_BUCKETS, type SynthesizedStack } from './synthesized-stack';

/** An S3 notification that never reached the ingest function, and why. */
export interface DeadLetter {
  readonly notification: unknown;
  readonly reason: string;
}

export interface S3EventDeliveryOptions {
  readonly embeddedS3: EmbeddedS3;
  readonly stack: SynthesizedStack;
  /** The ingest function, as Lambda runs it. */
  readonly ingest: LocalLambda;
  /** Holds the queue's and the function's grants to the template, as IAM does. @default no check */
  readonly authorizer: IamAuthorizer | undefined;
  /** Each S3 event is delivered this many times, as S3 may. */
  readonly duplicateEvents: number;
  /** Told of every object created in the drop bucket, before its event is delivered. */
  readonly onObject: (key: string) => void;
}

/** The S3 events on their way to the ingest function, and those that will never reach it. */
export interface S3EventDelivery {
  /** Deliveries not yet ended (ingested, or dead-lettered). */
  readonly pending: ReadonlySet<Promise<void>>;
  readonly deadLetters: readonly DeadLetter[];
  /** Ignores the drop bucket's events from now on. */
  stopAccepting(): void;
}

/** Receives before SQS moves a message to the DLQ (the queue's maxReceiveCount). */
const MAX_RECEIVES = 5;

/**
 * The drop bucket's events delivered to the ingest function as S3 and SQS deliver them: each event URL-encoded as S3
 * sends it, in an SQS message received up to `MAX_RECEIVES` times while the function reports it failed, then
 * dead-lettered; none delivered when the template does not let S3 send to the queue or the function read from it.
 */
export function deliverS3Events(options: S3EventDeliveryOptions): S3EventDelivery {
  const refusedDelivery = deliveryRefusal(options.stack, options.authorizer);
  const queueArn = options.stack.resources.queueArn;
  const pending = new Set<Promise<void>>();
  const deadLetters: DeadLetter[] = [];
  let messageNumber = 0;
  let accepting = true;
  const deliver = async (body: string) => {
    const refused = await refusedDelivery();
    if (refused) {
      deadLetters.push({ notification: JSON.parse(body), reason: refused });
      return;
    }
    for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
      const event: SQSEvent = { Records: [sqsRecord(`m-${++messageNumber}`, body, receive, queueArn)] };
      const answer = (await options.ingest.invoke(event).catch(() => undefined)) as SQSBatchResponse | undefined;
      if (answer && answer.batchItemFailures.length === 0) return;
    }
    deadLetters.push({
      notification: JSON.parse(body),
      reason: `the ingest function failed on it ${MAX_RECEIVES} times`,
    });
  };
  options.embeddedS3.onObjectEvent((event) => {
    const record = event.Records[0];
    if (!accepting || !record || record.s3.bucket.name !== LOCAL_BUCKETS.drop) return;
    options.onObject(record.s3.object.key);
    const body = JSON.stringify(asS3Notification(event));
    for (let copy = 0; copy < options.duplicateEvents; copy++) {
      const delivery = deliver(body).finally(() => pending.delete(delivery));
      pending.add(delivery);
    }
  });
  return {
    pending,
    deadLetters,
    stopAccepting: () => {
      accepting = false;
    },
  };
}

/**
 * What must hold for S3's events to reach the function: the queue takes S3's messages, the function may read them.
 * The same for every event, so judged once; undefined when nothing refuses them.
 */
function deliveryRefusal(
  stack: SynthesizedStack,
  authorizer: IamAuthorizer | undefined,
): () => Promise<string | undefined> {
  const queueArn = stack.resources.queueArn;
  const ingestRole = { roleArn: stack.functions.ingest.roleArn, sessionName: stack.functions.ingest.name };
  return once(async (): Promise<string | undefined> => {
    if (!authorizer) return undefined;
    const sent = await authorizer.authorizeService('s3.amazonaws.com', {
      action: 'sqs:SendMessage',
      resource: queueArn,
      context: { 'aws:SourceArn': `arn:aws:s3:::${LOCAL_BUCKETS.drop}`, 'aws:SourceAccount': LOCAL_ACCOUNT.account },
    });
    if (!sent.allowed) return sent.message;
    // The event source mapping polls with the function's role (AWS Lambda: "Using Lambda with Amazon SQS").
    for (const action of ['sqs:ReceiveMessage', 'sqs:GetQueueAttributes', 'sqs:DeleteMessage']) {
      const decision = await authorizer.authorize(ingestRole, { action, resource: queueArn, context: {} });
      if (!decision.allowed) return decision.message;
    }
    return undefined;
  });
}

/** s3rver's event with the key URL-encoded the way S3 sends it (`+` for space, slashes kept). */
function asS3Notification(event: S3rverEvent) {
  return {
    Records: event.Records.map((record) => ({
      ...record,
      eventName: record.eventName.startsWith('ObjectCreated') ? record.eventName : `ObjectCreated:${record.eventName}`,
      s3: { ...record.s3, object: { ...record.s3.object, key: encodeEventKey(record.s3.object.key) } },
    })),
  };
}

export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

function sqsRecord(
  messageId: string,
  body: string,
  receiveCount: number,
  queueArn: string,
): SQSEvent['Records'][number] {
  return {
    messageId,
    receiptHandle: messageId,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 's3',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}
