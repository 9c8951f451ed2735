import { Annotations, Arn, type ArnComponents, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** The AWS managed key of SNS. Its key policy lets the account's IAM principals use it through SNS only. */
export const SNS_AWS_MANAGED_KEY_ALIAS = 'alias/aws/sns';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface NotificationsProps {
  /**
   * A topic that the app already has a handle on, used as is.
   *
   * @default - none: `topicArn` or a new topic
   */
  readonly existingTopic?: sns.ITopic;

  /**
   * ARN of an existing topic to publish the pipeline's notifications to. Its encryption and policy stay its owner's;
   * if it is encrypted with a customer managed key, grant the publishers that key yourself.
   *
   * @default - none: `existingTopic` or a new topic
   */
  readonly topicArn?: string;

  /**
   * Email address subscribed to the notification topic (created or imported) and to the alarm topic. The address
   * must confirm each subscription from the message AWS sends it.
   *
   * @default - no email subscription
   */
  readonly notificationEmail?: string;

  /**
   * Key encrypting a created notification topic. The default, the AWS managed key `alias/aws/sns`, lets any IAM
   * principal of the account that may `sns:Publish` (the pipeline's Lambda and Step Functions roles) publish without
   * a KMS grant; AWS services publishing as service principals (CloudWatch, EventBridge, S3) cannot use it.
   *
   * @default - the AWS managed key alias/aws/sns
   */
  readonly masterKey?: kms.IKey;

  /**
   * Display name of a created notification topic (the sender name of its emails; at most 100 characters).
   *
   * @default 'Pix4Dinspect pipeline'
   */
  readonly displayName?: string;

  /**
   * Key encrypting the alarm topic. CloudWatch publishes alarms as the service principal `cloudwatch.amazonaws.com`,
   * which the AWS managed key `alias/aws/sns` does not allow, so the alarm topic needs a customer managed key whose
   * policy does. A key created in the same stack gets that statement; an imported one must already have it.
   *
   * @default - a new customer managed key, rotated yearly, allowing CloudWatch
   */
  readonly alarmMasterKey?: kms.IKey;
}

/**
 * The SNS topics of the pipeline:
 * - `topic`, the notifications of processing outcomes (one JSON message per outcome, schema version 1), imported
 *   (`existingTopic` or `topicArn`, at most one) or created: SSL-only policy, SSE;
 * - `alarmTopic`, always created, for operator alarms: CloudWatch alarm messages do not follow the notification
 *   schema that subscribers of `topic` filter on. SSL-only policy, SSE under a customer managed key, and a policy
 *   statement letting this account's CloudWatch alarms publish (a topic policy replaces SNS's default one).
 */
export class Notifications extends Construct {
  /** The notification topic. */
  readonly topic: sns.ITopic;

  /** The topic of operator alarms. */
  readonly alarmTopic: sns.Topic;

  /** The key encrypting `alarmTopic`. */
  readonly alarmKey: kms.IKey;

  /** An alarm action publishing to `alarmTopic`. */
  readonly alarmAction: cloudwatchActions.SnsAction;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    assertAtMostOneTopic(props);
    const email = props.notificationEmail === undefined ? undefined : checkedEmail(props.notificationEmail);

    if (props.existingTopic) {
      this.topic = props.existingTopic;
    } else if (props.topicArn !== undefined) {
      this.topic = sns.Topic.fromTopicArn(this, 'Topic', checkedTopicArn(props.topicArn));
    } else {
      this.topic = new sns.Topic(this, 'Topic', {
        displayName: props.displayName ?? 'Pix4Dinspect pipeline',
        enforceSSL: true,
        masterKey: props.masterKey ?? kms.Alias.fromAliasName(this, 'SnsManagedKey', SNS_AWS_MANAGED_KEY_ALIAS),
      });
    }

    this.alarmKey = props.alarmMasterKey ?? newAlarmKey(this);
    allowCloudWatchToUseKey(this, this.alarmKey);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Pix4Dinspect pipeline alarms',
      enforceSSL: true,
      masterKey: this.alarmKey,
    });
    allowCloudWatchAlarmsToPublish(this.alarmTopic);
    this.alarmAction = new cloudwatchActions.SnsAction(this.alarmTopic);

    if (email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }
  }

  /**
   * Lets `grantee` publish to the notification topic. Under the default `alias/aws/sns` key no KMS permission is
   * needed (the AWS managed key's policy allows the account's principals through SNS); a customer managed
   * `masterKey` is granted too.
   */
  grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.topic.grantPublish(grantee);
  }
}

function assertAtMostOneTopic(props: NotificationsProps): void {
  if (props.existingTopic !== undefined && props.topicArn !== undefined) {
    throw new Error(
      'Notifications: props existingTopic and topicArn conflict; give at most one (or none to create a new topic)',
    );
  }
  const createOnly = (['masterKey', 'displayName'] as const).filter((key) => props[key] !== undefined);
  if (createOnly.length > 0 && (props.existingTopic !== undefined || props.topicArn !== undefined)) {
    throw new Error(
      `Notifications: ${createOnly.join(' and ')} only apply to a created topic; leave them out with ` +
        `${props.existingTopic !== undefined ? 'existingTopic' : 'topicArn'}`,
    );
  }
}

function checkedEmail(email: string): string {
  if (Token.isUnresolved(email)) return email;
  const trimmed = email.trim();
  if (!EMAIL.test(trimmed)) throw new Error(`Notifications: notificationEmail "${email}" is not an email address`);
  return trimmed;
}

function checkedTopicArn(topicArn: string): string {
  if (Token.isUnresolved(topicArn)) return topicArn;
  const components = splitArn(topicArn.trim());
  if (components?.service !== 'sns' || !components.resource || components.resourceName !== undefined) {
    throw new Error(
      `Notifications: topicArn "${topicArn}" is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)`,
    );
  }
  return topicArn.trim();
}

function splitArn(arn: string): ArnComponents | undefined {
  try {
    return Arn.split(arn, ArnFormat.NO_RESOURCE_NAME);
  } catch {
    return undefined;
  }
}

function newAlarmKey(scope: Construct): kms.IKey {
  return new kms.Key(scope, 'AlarmTopicKey', {
    description: 'Encrypts the Pix4Dinspect pipeline alarm topic; lets CloudWatch alarms publish to it',
    enableKeyRotation: true,
    // It encrypts only messages in flight: nothing kept after teardown needs it, and a kept key is billed monthly.
    // CloudFormation schedules the deletion, which can be cancelled within the pending window.
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
}

/**
 * CloudWatch needs the topic's key to publish an alarm. No condition narrows the statement: the key encrypts only the
 * alarm topic, whose policy admits this account's alarms only, so no other account's alarm gets to use the key.
 */
function allowCloudWatchToUseKey(scope: Construct, key: kms.IKey): void {
  const { statementAdded } = key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedAlarmTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
    true,
  );
  if (!statementAdded) {
    Annotations.of(scope).addWarningV2(
      'inspect-pipeline:alarmKeyPolicyNotAdded',
      'Cannot add to the policy of the imported alarmMasterKey: it must allow cloudwatch.amazonaws.com kms:Decrypt ' +
        'and kms:GenerateDataKey*, or CloudWatch cannot publish alarms to the alarm topic.',
    );
  }
}

function allowCloudWatchAlarmsToPublish(topic: sns.Topic): void {
  const stack = Stack.of(topic);
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowThisAccountsCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        ArnLike: {
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
        StringEquals: { 'aws:SourceAccount': stack.account },
      },
    }),
  );
}
