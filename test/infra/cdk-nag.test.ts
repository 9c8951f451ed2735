import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations, type App } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ANALYTICS_REPORTING_ENABLED_CONTEXT } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type InspectPipelineApp } from '../../lib/app';

const CDK_JSON = join(__dirname, '..', '..', 'cdk.json');

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

const outdirs: string[] = [];

afterEach(() => {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
});

/** The app as `cdk synth` builds it: cdk.json's context, version reporting on (the CLI default), plus `context`. */
function buildAppLikeTheCli(context: Record<string, string>): InspectPipelineApp {
  const cdkJson = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-nag-'));
  outdirs.push(outdir);
  return buildApp({ outdir, context: { ...cdkJson.context, [ANALYTICS_REPORTING_ENABLED_CONTEXT]: true, ...context } });
}

function acknowledgementsIn(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          // aws-cdk-lib records rules without a plugin prefix as `Annotation::<id>`; cdk-nag strips it too.
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

interface Variant {
  readonly name: string;
  readonly context: Record<string, string>;
  readonly acknowledged: readonly string[];
}

const variants: readonly Variant[] = [
  { name: 'a created secret', context: {}, acknowledged: ['AwsSolutions-SMG4'] },
  {
    name: 'a secret imported by ARN',
    context: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/inspect-AbC123' },
    acknowledged: [],
  },
  { name: 'a secret imported by name', context: { secretName: 'pix4d/inspect' }, acknowledged: [] },
];

describe.each(variants)('cdk-nag AwsSolutions on the app with $name', ({ context, acknowledged }) => {
  it('finds no unacknowledged error or warning', () => {
    // Prepare
    const { app } = buildAppLikeTheCli(context);

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations).toStrictEqual([]);
    expect(report.success).toBe(true);
  });

  it('synthesizes without a validation failure', () => {
    // Prepare
    const { app } = buildAppLikeTheCli(context);

    // Act
    const synth = (): unknown => app.synth();

    // Assess
    expect(synth).not.toThrow();
  });

  it('acknowledges only the expected rules, each with a reason', () => {
    // Prepare
    const { app } = buildAppLikeTheCli(context);

    // Act
    const acknowledgements = acknowledgementsIn(app);

    // Assess
    expect(acknowledgements.map(({ id }) => id).sort()).toStrictEqual(acknowledged);
    for (const { reason } of acknowledgements) expect(reason.trim().length).toBeGreaterThan(20);
  });
});

describe('cdk-nag AwsSolutions on the app', () => {
  it('acknowledges the missing rotation on the created secret itself, not on the stack', () => {
    // Prepare
    const { app } = buildAppLikeTheCli({});

    // Act
    const acknowledgements = acknowledgementsIn(app);

    // Assess
    expect(acknowledgements).toStrictEqual([
      { path: 'InspectPipeline/Pix4dCredentials/Secret', id: 'AwsSolutions-SMG4', reason: expect.stringMatching(/Pix4D/) },
    ]);
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
