import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InspectPipelineStack } from './inspect-pipeline-stack';

/** Id of the ready stack, and so its CloudFormation name. */
export const STACK_ID = 'InspectPipeline';

export interface InspectPipelineApp {
  readonly app: App;
  readonly stack: InspectPipelineStack;
}

/**
 * Builds the CDK app as `cdk synth` runs it: the stack configured from CDK context (`secretName`, `secretArn`) and
 * cdk-nag AwsSolutions checks, whose unacknowledged findings fail synthesis. Tests call it with `context` in `props`.
 */
export function buildApp(props: AppProps = {}): InspectPipelineApp {
  const app = new App(props);
  const stack = new InspectPipelineStack(app, STACK_ID, {
    description: 'Pix4Dinspect drop-bucket pipeline',
    secretName: stringContext(app, 'secretName'),
    secretArn: stringContext(app, 'secretArn'),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** `-c key=` and an empty string in cdk.json mean "not set", so that a blank value falls back to the default. */
function stringContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`CDK context ${key} must be a string, got ${typeof value}`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
