import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { InspectPipeline, type InspectPipelineProps } from './inspect-pipeline';

export type InspectPipelineStackProps = StackProps & InspectPipelineProps;

/** The ready-to-deploy stack: the pipeline and the outputs an operator needs. */
export class InspectPipelineStack extends Stack {
  readonly pipeline: InspectPipeline;

  constructor(scope: Construct, id: string, props: InspectPipelineStackProps = {}) {
    super(scope, id, props);
    this.pipeline = new InspectPipeline(this, 'Pipeline', props);
    // The operator CLI (`--stack`) and the README name the outputs by their plain names: keep them as OutputKeys
    // instead of the construct's logical ids (PipelineDropBucketName<hash>).
    for (const output of Object.values(this.pipeline.outputs ?? {})) output.overrideLogicalId(output.node.id);
  }
}
