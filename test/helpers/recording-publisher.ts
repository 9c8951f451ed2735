import type { BuiltNotification } from '../../src/notify/notification';
import type { NotificationPublisher } from '../../src/workflow/notification-publisher';

/** A `NotificationPublisher` that keeps what it is given, for tests of the notify step. */
export class RecordingPublisher implements NotificationPublisher {
  readonly published: BuiltNotification[] = [];

  async publish(notification: BuiltNotification): Promise<void> {
    this.published.push(notification);
  }
}
