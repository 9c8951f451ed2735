import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Pix4dCredentials } from './pix4d-credentials';

export interface InspectPipelineStackProps extends StackProps {
  /**
   * Name of an existing secret holding the Pix4Dinspect account (CDK context `secretName`).
   *
   * @default - a new secret, unless `secretArn` is given
   */
  readonly secretName?: string;

  /**
   * Complete ARN of an existing secret holding the Pix4Dinspect account (CDK context `secretArn`).
   *
   * @default - a new secret, unless `secretName` is given
   */
  readonly secretArn?: string;
}

/**
 * The ready-to-deploy stack of the Pix4Dinspect drop-bucket pipeline. For now it holds the Pix4D credentials and
 * tells the operator where to put them.
 */
export class InspectPipelineStack extends Stack {
  readonly credentials: Pix4dCredentials;

  constructor(scope: Construct, id: string, props: InspectPipelineStackProps = {}) {
    super(scope, id, props);

    this.credentials = new Pix4dCredentials(this, 'Pix4dCredentials', {
      secretName: props.secretName,
      secretArn: props.secretArn,
    });

    new CfnOutput(this, 'Pix4dSecretArn', {
      value: this.credentials.secret.secretArn,
      description:
        'Secrets Manager secret read by the pipeline: put the Pix4Dinspect account there as JSON ' +
        '{"username", "password", "apiKey", "organizationUuid" (optional)}',
    });
  }
}
