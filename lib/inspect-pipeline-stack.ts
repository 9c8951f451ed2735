import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { InspectPipeline, type InspectPipelineProps } from './inspect-pipeline';

export type InspectPipelineStackProps = StackProps & InspectPipelineProps;

/** The ready-to-deploy stack: the pipeline and the outputs an operator needs. */
export class InspectPipelineStack extends Stack {
  readonly pipeline: InspectPipeline;

  constructor(scope: Construct, id: string, props: InspectPipelineStackProps = {}) {
    super(scope, id, props);
    this.pipeline = new InspectPipeline(this, 'Pipeline', props);
    const { pipeline } = this;

    new CfnOutput(this, 'DropBucketName', { value: pipeline.dropBucket.bucketName, description: 'Drop flights here, as <asset>/<flight>/...' });
    new CfnOutput(this, 'WorkBucketName', { value: pipeline.workBucket.bucketName, description: 'Run data, asset registry and batch states (batches/)' });
    new CfnOutput(this, 'NotificationTopicArn', { value: pipeline.topic.topicArn, description: 'One message per outcome (schema version 1)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: pipeline.alarmTopic.topicArn, description: 'Operator alarms (DLQ, failed or timed-out executions)' });
    new CfnOutput(this, 'StateMachineArn', { value: pipeline.workflow.stateMachine.stateMachineArn, description: 'The inspection workflow' });
    new CfnOutput(this, 'BatchWaiterArn', { value: pipeline.waiter.stateMachine.stateMachineArn, description: 'Closes batches without manifest.json' });
    new CfnOutput(this, 'Pix4dSecretArn', {
      value: pipeline.secret.secretArn,
      description: 'Put the Pix4Dinspect account here as JSON {"username", "password", "apiKey", "organizationUuid" (optional)}',
    });
    new CfnOutput(this, 'UploadExample', {
      value: `aws s3 cp ./photos/ s3://${pipeline.dropBucket.bucketName}/tower-123/flight-1/ --recursive`,
      description: 'Drop a flight; add manifest.json last to close the batch at once',
    });
  }
}
