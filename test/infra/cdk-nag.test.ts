import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ANALYTICS_REPORTING_ENABLED_CONTEXT } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext, type InspectPipelineApp, STACK_ID } from '../../lib/app';
import { InspectPipeline } from '../../lib/inspect-pipeline';
import type { InspectPipelineStack } from '../../lib/inspect-pipeline-stack';
import { acknowledgementsIn } from '../helpers/acknowledgements';

const BASIC_EXECUTION_ROLE =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';

const outdirs: string[] = [];

afterAll(() => {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
});

/**
 * The app as `cdk synth` builds it: cdk.json's context, version reporting on (the CLI default), plus `context`.
 * Bundling is skipped (`aws:cdk:bundling-stacks`): the Lambda code is a placeholder asset, which no rule looks into.
 */
function buildAppLikeTheCli(context: Record<string, string>): InspectPipelineApp {
  const outdir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-nag-'));
  outdirs.push(outdir);
  return buildApp({
    outdir,
    context: {
      ...cdkJsonContext(),
      [ANALYTICS_REPORTING_ENABLED_CONTEXT]: true,
      'aws:cdk:bundling-stacks': [],
      ...context,
    },
  });
}

function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/**
 * The acknowledgements the stack is meant to carry, each as `<construct path> <rule>`, on the narrowest construct:
 * the wildcards of the pipeline's grants on the function that has them (and log delivery on each state machine), the log bucket's S1 on that bucket, the
 * created secret's SMG4 on that secret, the Lambda basic execution role on the functions and on CDK's S3
 * notifications handler, the Lambda version wildcards on each state machine.
 */
function intendedAcknowledgements(stack: InspectPipelineStack, createdSecret: boolean): string[] {
  const { pipeline } = stack;
  const fn = pipeline.functions.functions;
  const arn = (construct: IConstruct) => `<${logicalIdOf(construct)}.Arn>`;
  const iam5 = (finding: string) => `AwsSolutions-IAM5[${finding}]`;
  const root = `${STACK_ID}/Pipeline`;
  const drop = arn(pipeline.dropBucket);
  const work = arn(pipeline.workBucket);
  const runs = `Resource::${work}/runs/*`;
  const records = `Resource::${work}/batches/*`;
  const perFunction: [IConstruct, string[]][] = [
    [fn.copy, [`Resource::${drop}/*`, runs, 'Resource::*']],
    [fn.prepare, [`Resource::${drop}/*`, runs, `Resource::${work}/asset-registry/*`, records, 'Resource::*']],
    [fn.register, [runs, records, 'Resource::*']],
    [fn['start-processing'], [runs, records, 'Resource::*']],
    [fn.notify, [runs, records, 'Resource::*']],
    [fn['check-batch'], [records, 'Resource::*']],
    [fn['check-status'], ['Resource::*']],
    [fn.ingest, ['Resource::*']],
  ];
  return [
    ...perFunction.flatMap(([construct, findings]) =>
      findings.map((finding) => `${construct.node.path} ${iam5(finding)}`),
    ),
    `${root}/InspectionWorkflow/StateMachine ${iam5('Resource::*')}`,
    `${root}/BatchWaiter/StateMachine ${iam5('Resource::*')}`,
    ...(createdSecret ? [`${root}/Pix4dCredentials/Secret AwsSolutions-SMG4`] : []),
    `${root}/DropBucket/AccessLogs/Bucket AwsSolutions-S1`,
    `${root}/Functions ${BASIC_EXECUTION_ROLE}`,
    ...[fn.prepare, fn.copy, fn.register, fn['start-processing'], fn['check-status'], fn.notify].map(
      (step) => `${root}/InspectionWorkflow/StateMachine ${iam5(`Resource::${arn(step)}:*`)}`,
    ),
    `${root}/BatchWaiter/StateMachine ${iam5(`Resource::${arn(fn['check-batch'])}:*`)}`,
    `${STACK_ID}/BucketNotificationsHandler050a0587b7544547bf325f094a3db834 ${BASIC_EXECUTION_ROLE}`,
  ].sort();
}

interface Variant {
  readonly name: string;
  readonly context: Record<string, string>;
  readonly createdSecret: boolean;
}

const variants: readonly Variant[] = [
  { name: 'a created secret', context: {}, createdSecret: true },
  {
    name: 'a secret imported by ARN',
    context: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/inspect-AbC123' },
    createdSecret: false,
  },
  { name: 'a secret imported by name', context: { secretName: 'pix4d/inspect' }, createdSecret: false },
  {
    name: 'a topic imported by ARN',
    context: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:inspect-notifications' },
    createdSecret: true,
  },
  { name: 'a notification email', context: { notificationEmail: 'ops@example.com' }, createdSecret: true },
];

interface Checked {
  readonly built: InspectPipelineApp;
  /** What synthesis threw (the validation plugin fails it on a violation); undefined if it did not. */
  readonly synthError: unknown;
  readonly report: PolicyValidationPluginReport;
}

/** Synthesizes the app once (with the AwsSolutions plugin that buildApp adds), then reads cdk-nag's report on it. */
function check(context: Record<string, string>): Checked {
  const built = buildAppLikeTheCli(context);
  let synthError: unknown;
  try {
    built.app.synth();
  } catch (error) {
    synthError = error;
  }
  return { built, synthError, report: new AwsSolutionsChecks().validateScope(built.app) };
}

describe.each(variants)('cdk-nag AwsSolutions on the app with $name', ({ context, createdSecret }) => {
  let checked: Checked;

  beforeAll(() => {
    checked = check(context);
  });

  it('finds no unacknowledged error or warning', () => {
    // Prepare
    const { report } = checked;

    // Act
    const { violations, success } = report;

    // Assess
    expect(violations).toStrictEqual([]);
    expect(success).toBe(true);
  });

  it('synthesizes without a validation failure', () => {
    // Prepare
    const { synthError } = checked;

    // Act
    const message = synthError === undefined ? undefined : String(synthError);

    // Assess
    expect(message).toBeUndefined();
  });

  it('acknowledges only the intended rules, each with a reason', () => {
    // Prepare
    const expected = intendedAcknowledgements(checked.built.stack, createdSecret);

    // Act
    const acknowledgements = acknowledgementsIn(checked.built.app);

    // Assess
    expect(acknowledgements.map(({ path, id }) => `${path} ${id}`).sort()).toStrictEqual(expected);
    for (const { path, id, reason } of acknowledgements)
      expect(reason.trim().length, `${path} ${id}`).toBeGreaterThan(20);
  });
});

describe('cdk-nag AwsSolutions on the app', () => {
  it('acknowledges the missing rotation on the created secret itself, and nothing on the stack or the app', () => {
    // Prepare
    const { app } = buildAppLikeTheCli({});

    // Act
    const acknowledgements = acknowledgementsIn(app);

    // Assess
    expect(acknowledgements.filter(({ id }) => id === 'AwsSolutions-SMG4')).toStrictEqual([
      {
        path: `${STACK_ID}/Pipeline/Pix4dCredentials/Secret`,
        id: 'AwsSolutions-SMG4',
        reason: expect.stringMatching(/Pix4D/),
      },
    ]);
    expect(acknowledgements.filter(({ path }) => path === '' || path === STACK_ID)).toStrictEqual([]);
  });

  it('synthesizes the construct embedded with an imported drop bucket in an environment-agnostic stack, no finding', () => {
    // Prepare: the bucket's ARN holds the partition as a token, as any bucket imported by name in such a stack
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, 'Embedded');
    new InspectPipeline(stack, 'Photos', {
      existingDropBucket: s3.Bucket.fromBucketName(stack, 'Drop', 'my-drone-photos'),
    });

    // Act
    const synth = (): unknown => app.synth();

    // Assess
    expect(synth).not.toThrow();
    expect(new AwsSolutionsChecks().validateScope(app).violations).toStrictEqual([]);
    expect(acknowledgementsIn(app).map(({ id }) => id)).toContain(
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::my-drone-photos/*]',
    );
  });

  it('is enabled by buildApp: an unacknowledged finding fails synthesis', () => {
    // Prepare: a secret without rotation and without acknowledgement
    const { app, stack } = buildAppLikeTheCli({});
    new secretsmanager.Secret(stack, 'Unacknowledged');

    // Act
    const synth = (): unknown => app.synth();

    // Assess
    expect(synth).toThrow(/AwsSolutions-SMG4/);
  });
});
