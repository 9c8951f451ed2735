import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { BuiltNotification } from '../notify/notification';

/** Where outcome notifications go: SNS on AWS, a collector in local mode. */
export interface NotificationPublisher {
  publish(notification: BuiltNotification): Promise<void>;
}

export class SnsNotificationPublisher implements NotificationPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notification: BuiltNotification): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: notification.subject,
        // `default` for every protocol, a readable body for email subscribers.
        MessageStructure: 'json',
        Message: notification.snsMessage,
        MessageAttributes: notification.messageAttributes,
      }),
    );
  }
}
