import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** AWS's advice for a queue consumed by a Lambda event source mapping: visibility >= 6x the function timeout. */
const VISIBILITY_TO_CONSUMER_TIMEOUT = 6;

export interface IngestQueueProps {
  /**
   * How long a received message stays invisible to other consumers. Give at least 6x the ingest function's timeout
   * (AWS's advice for a Lambda event source, so that retries with batching and throttling do not redeliver a message
   * still being processed).
   */
  readonly visibilityTimeout: Duration;

  /**
   * Timeout of the function consuming the queue. When given, `visibilityTimeout` below 6x this throws.
   *
   * @default - not checked
   */
  readonly consumerTimeout?: Duration;

  /**
   * Receives after which a message moves to the dead-letter queue.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * How long the queue keeps an unconsumed message. The dead-letter queue keeps messages 14 days, the maximum, and
   * SQS counts a standard queue message's age from its first enqueue, so this must stay well below 14 days.
   *
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;

  /**
   * Action run when the dead-letter queue alarm goes into ALARM.
   *
   * @default - no action: the alarm only shows in the console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/**
 * The queue between the drop bucket's notifications and the ingest function, with its dead-letter queue and an
 * alarm on the dead-letter queue. Both queues: SQS managed SSE, SSL only.
 */
export class IngestQueue extends Construct {
  /** The queue the drop bucket notifies and the ingest function consumes. */
  readonly queue: sqs.Queue;

  /** Where messages go after `maxReceiveCount` receives. */
  readonly deadLetterQueue: sqs.Queue;

  /** In alarm while the dead-letter queue holds a message (maximum of ApproximateNumberOfMessagesVisible >= 1). */
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngestQueueProps) {
    super(scope, id);
    assertVisibilityCoversConsumer(props.visibilityTimeout, props.consumerTimeout);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (!Token.isUnresolved(maxReceiveCount) && (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1)) {
      throw new Error(`IngestQueue: maxReceiveCount must be a whole number >= 1, got ${maxReceiveCount}`);
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        `Messages of the ingest queue failed ${maxReceiveCount} times and wait in the dead-letter queue: ` +
        'inspect them, then redrive them to the source queue or delete them.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction) this.deadLetterAlarm.addAlarmAction(props.alarmAction);
  }
}

function assertVisibilityCoversConsumer(visibilityTimeout: Duration, consumerTimeout: Duration | undefined): void {
  if (!consumerTimeout) return;
  const visibility = visibilityTimeout.toSeconds();
  const consumer = consumerTimeout.toSeconds();
  if (Token.isUnresolved(visibility) || Token.isUnresolved(consumer)) return;
  if (visibility < VISIBILITY_TO_CONSUMER_TIMEOUT * consumer) {
    throw new Error(
      `IngestQueue: visibilityTimeout (${visibility} s) must be at least ${VISIBILITY_TO_CONSUMER_TIMEOUT}x ` +
        `consumerTimeout (${consumer} s), i.e. >= ${VISIBILITY_TO_CONSUMER_TIMEOUT * consumer} s`,
    );
  }
}
