import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The Lambda behind each step; its name is the folder under `functions/`. */
export const PIPELINE_STEPS = [
  'ingest',
  'check-batch',
  'prepare',
  'copy',
  'register',
  'start-processing',
  'check-status',
  'notify',
] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

/** Metadata key on each function's CloudFormation resource naming its step (local mode maps tasks by it). */
export const STEP_METADATA_KEY = 'inspect-pipeline:step';

/**
 * esbuild settings of every handler: NodejsFunction's bundling here, and build/build-package.ts's for the package.
 * The SDK is bundled too: the functions run the versions the tests ran, not whatever the runtime ships.
 */
export const HANDLER_BUNDLING = {
  minify: true,
  sourceMap: true,
  target: 'node24',
  format: nodejs.OutputFormat.CJS,
  externalModules: [] as string[],
} satisfies nodejs.BundlingOptions;

/** The file a step's bundle is in, inside its folder (the Lambda handler is `index.handler`). */
export const HANDLER_BUNDLE_FILE = 'index.js';

/**
 * Where the package has a step's prebuilt bundle: `dist/functions/<step>/`, beside the compiled `dist/lib/`. In this
 * repository (`lib/*.ts`) the same path is `functions/<step>/`, which holds the handler's source only.
 */
export function prebuiltHandlerFolder(step: PipelineStep): string {
  return join(__dirname, '..', 'functions', step);
}

const SETTINGS: Record<PipelineStep, { timeout: Duration; memorySize: number; description: string }> = {
  ingest: {
    timeout: Duration.seconds(60),
    memorySize: 256,
    description: 'S3 notifications from SQS -> workflow executions',
  },
  'check-batch': {
    timeout: Duration.seconds(120),
    memorySize: 512,
    description: 'Has a batch been quiet for the quiet period?',
  },
  prepare: {
    timeout: Duration.minutes(5),
    memorySize: 1024,
    description: 'Manifest, photo list, asset and inspection',
  },
  // Peak buffers with the defaults: 8 objects x 8 MiB parts x 2 parts in flight = 128 MiB.
  copy: {
    timeout: Duration.minutes(15),
    memorySize: 1024,
    description: "Streams one chunk of photos into Inspect's bucket",
  },
  register: { timeout: Duration.minutes(5), memorySize: 512, description: 'Registers the copied photos' },
  'start-processing': {
    timeout: Duration.minutes(2),
    memorySize: 256,
    description: 'Starts processing (consumes allowance)',
  },
  'check-status': {
    timeout: Duration.minutes(1),
    memorySize: 256,
    description: 'Reads and classifies the processing status',
  },
  notify: { timeout: Duration.minutes(1), memorySize: 256, description: 'Publishes the outcome notification' },
};

export interface PipelineFunctionsProps {
  /** Environment of every function (bucket names, secret ARN, settings). */
  readonly environment: Record<string, string>;
  /** Extra environment per step. @default none */
  readonly stepEnvironment?: Partial<Record<PipelineStep, Record<string, string>>>;
  /** Reserved concurrency per step. @default none: every function shares the account's unreserved concurrency */
  readonly reservedConcurrency?: Partial<Record<PipelineStep, number>>;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/** One Node.js 24, ARM64, esbuild-bundled function per step, with JSON logs and X-Ray tracing. */
export class PipelineFunctions extends Construct {
  readonly functions: Record<PipelineStep, nodejs.NodejsFunction>;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const entries = PIPELINE_STEPS.map((step) => {
      const settings = SETTINGS[step];
      const fn = new nodejs.NodejsFunction(this, pascal(step), {
        ...handlerCode(step),
        handler: 'index.handler',
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        timeout: settings.timeout,
        memorySize: settings.memorySize,
        description: settings.description,
        ...(props.reservedConcurrency?.[step] === undefined
          ? {}
          : { reservedConcurrentExecutions: props.reservedConcurrency[step] }),
        tracing: lambda.Tracing.ACTIVE,
        loggingFormat: lambda.LoggingFormat.JSON,
        logGroup: new logs.LogGroup(this, `${pascal(step)}Logs`, {
          retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
        }),
        environment: {
          // Stack traces in the logs name functions/... and src/... lines, not the minified bundle's. On Node 24 this
          // costs nothing at init; the map is decoded at the first error (docs/benchmarks.md, cold start).
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'inspect-pipeline',
          POWERTOOLS_METRICS_NAMESPACE: 'InspectPipeline',
          ...props.environment,
          ...props.stepEnvironment?.[step],
        },
      });
      (fn.node.defaultChild as lambda.CfnFunction).addMetadata(STEP_METADATA_KEY, step);
      return [step, fn] as const;
    });
    this.functions = Object.fromEntries(entries) as Record<PipelineStep, nodejs.NodejsFunction>;
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWSLambdaBasicExecutionRole only lets each function write its own logs; it is the AWS-maintained minimum for Lambda.',
    });
  }
}

/**
 * The installed package deploys the bundles `npm run build` made, so that its consumer needs neither esbuild nor
 * Docker and nothing is bundled from outside the consumer's project root (CDK's PathNotUnderRoot). Here, in the
 * repository, the functions are bundled from source at synth, as local mode and the tests run them.
 */
function handlerCode(step: PipelineStep): Pick<nodejs.NodejsFunctionProps, 'code' | 'entry' | 'bundling'> {
  const prebuilt = prebuiltHandlerFolder(step);
  if (existsSync(join(prebuilt, HANDLER_BUNDLE_FILE))) return { code: lambda.Code.fromAsset(prebuilt) };
  return { entry: join(__dirname, '..', 'functions', step, 'handler.ts'), bundling: HANDLER_BUNDLING };
}

function pascal(step: string): string {
  return step.replace(/(^|-)([a-z])/g, (_, _dash: string, letter: string) => letter.toUpperCase());
}
