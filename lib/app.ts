import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { InspectPipelineProps } from './inspect-pipeline';
import { InspectPipelineStack } from './inspect-pipeline-stack';
import { DEFAULT_STACK_NAME, type PipelineContext, parsePipelineContext } from './pipeline-context';

/** Id (and so CloudFormation name) of the ready stack without `-c stackName`. */
export const STACK_ID = DEFAULT_STACK_NAME;

export interface InspectPipelineApp {
  readonly app: App;
  readonly stack: InspectPipelineStack;
}

/** How buildApp checks what it builds. */
export interface BuildChecks {
  /**
   * cdk-nag's AwsSolutions checks and CDK's built-in CloudFormation validation at synth. Local mode turns them off:
   * they change nothing in the template it runs, and were half the CPU of every local run; `cdk synth` and the
   * infra tests keep them.
   *
   * @default true
   */
  readonly validate?: boolean;
}

/**
 * Builds the CDK app as `cdk synth` runs it: the stack configured from CDK context (validated first: a
 * PipelineContextError names every unknown or out-of-range setting) and cdk-nag AwsSolutions checks, whose
 * unacknowledged findings fail synthesis. Tests and local mode call it with `context` in `props`.
 */
export function buildApp(props: AppProps = {}, checks: BuildChecks = {}): InspectPipelineApp {
  const validate = checks.validate ?? true;
  const app = new App(validate ? props : { ...props, builtinCloudFormationValidation: false });
  const { stackName, pipeline } = pipelineContextOf(app);
  const stack = new InspectPipelineStack(app, stackName, {
    description: 'Pix4Dinspect drop-bucket pipeline',
    ...pipeline,
  });
  if (validate) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** The app's whole context (cdk.json's, the CLI's `-c`, `props.context`), validated. */
export function pipelineContextOf(app: App): PipelineContext {
  return parsePipelineContext(app.node.getAllContext() as Record<string, unknown>);
}

/** The context of cdk.json (feature flags and settings), which the CLI passes to the app and in-process builds must too. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** The construct's props from the context keys the README documents (`cdk deploy -c key=value` or cdk.json). */
export function pipelinePropsFromContext(app: App): InspectPipelineProps {
  return pipelineContextOf(app).pipeline;
}
