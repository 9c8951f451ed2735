import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Validations } from 'aws-cdk-lib';
import { ANALYTICS_REPORTING_ENABLED_CONTEXT, VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '../../lib/app';
import {
  acknowledgeGuardFindings,
  CFN_GUARD_PLUGIN_NAME,
  GUARD_ACKNOWLEDGEMENTS,
  guardAcknowledgementId,
} from '../../lib/guard-acknowledgements';

/**
 * The AWS Control Tower proactive controls (cfn-guard rules bundled with @cdklabs/cdk-validator-cfnguard, with the
 * cfn-guard binary) on the app as `cdk synth` builds it. Every finding must be acknowledged in
 * lib/guard-acknowledgements.ts, and every acknowledgement there must still match a finding. The app synthesizes
 * once (about 10 s); the configurations of cdk-nag.test.ts (imported secret or topic, email) add or drop no finding.
 */

/** The parts of CDK's validation-report.json read here. */
interface ValidationReport {
  readonly pluginReports: readonly PluginReport[];
}

interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: 'success' | 'failure';
  readonly metadata?: Record<string, string>;
  readonly violations: readonly Violation[];
  readonly suppressedViolations?: readonly SuppressedViolation[];
}

interface Violation {
  readonly ruleName: string;
  readonly description: string;
  readonly violatingConstructs: readonly { readonly constructPath: string }[];
}

interface SuppressedViolation extends Violation {
  readonly acknowledgedId: string;
  readonly acknowledgedAt: string;
  readonly reason?: string;
}

interface Checked {
  readonly stackPath: string;
  /** The cfn-guard plugin's part of the report; undefined if it found nothing at all. */
  readonly report: PluginReport | undefined;
}

const outdirs: string[] = [];

afterAll(() => {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
});

/**
 * Synthesizes the app with the Control Tower rules and the acknowledgements, then reads what CDK made of the
 * plugin's findings. Synthesis may throw (a violation of any plugin fails it): the report is written before.
 */
function check(): Checked {
  const outdir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-guard-'));
  outdirs.push(outdir);
  const { app, stack } = buildApp({
    outdir,
    context: { ...cdkJsonContext(), [ANALYTICS_REPORTING_ENABLED_CONTEXT]: true, 'aws:cdk:bundling-stacks': [] },
  });
  // The current form of AppProps.policyValidationBeta1 (deprecated). cfn-guard's JSON output is ~400 KB for this
  // stack, near the 1 MB default buffer, beyond which the plugin fails.
  Validations.of(app).addPlugins(
    new CfnGuardValidator({ controlTowerRulesEnabled: true, maxBuffer: 16 * 1024 * 1024 }),
  );
  acknowledgeGuardFindings(stack);
  try {
    app.synth();
  } catch {
    // Judged from the report below.
  }
  const report = JSON.parse(readFileSync(join(outdir, VALIDATION_REPORT_FILE), 'utf8')) as ValidationReport;
  return {
    stackPath: stack.node.path,
    report: report.pluginReports.find(({ pluginName }) => pluginName === CFN_GUARD_PLUGIN_NAME),
  };
}

/** One line per (rule, construct) of `violations`: `<rule> <construct path>`. */
function findingLines(violations: readonly Violation[]): string[] {
  return violations
    .flatMap(({ ruleName, violatingConstructs }) =>
      violatingConstructs.map(({ constructPath }) => `${ruleName} ${constructPath}`),
    )
    .sort();
}

describe('AWS Control Tower proactive controls (cfn-guard) on the app', () => {
  let checked: Checked;

  beforeAll(() => {
    checked = check();
  });

  it('ran cfn-guard', () => {
    // Prepare
    const { report } = checked;

    // Act
    const error = report?.metadata?.error;

    // Assess: a failing plugin (binary missing, unreadable output) reports an error and no finding
    expect(error).toBeUndefined();
    expect(report?.suppressedViolations?.length ?? 0).toBeGreaterThan(0);
  });

  it('finds nothing that lib/guard-acknowledgements.ts does not acknowledge', () => {
    // Prepare
    const violations = checked.report?.violations ?? [];

    // Act
    const unacknowledged = findingLines(violations);

    // Assess
    expect(unacknowledged).toStrictEqual([]);
  });

  it('acknowledges only findings that exist (no stale entry)', () => {
    // Prepare
    const { stackPath, report } = checked;
    const used = new Set(
      (report?.suppressedViolations ?? []).map(
        ({ acknowledgedId, acknowledgedAt }) => `${acknowledgedId} ${acknowledgedAt}`,
      ),
    );

    // Act
    const stale = GUARD_ACKNOWLEDGEMENTS.flatMap(({ rule, paths }) => paths.map((path) => `${rule} ${path}`)).filter(
      (line) => {
        const [rule, path] = line.split(' ') as [string, string];
        return !used.has(`${guardAcknowledgementId(rule)} ${stackPath}/${path}`);
      },
    );

    // Assess
    expect(stale).toStrictEqual([]);
  });

  it('names each acknowledged rule by its control, with a reason', () => {
    // Prepare
    const suppressed = checked.report?.suppressedViolations ?? [];

    // Act
    const mismatched = GUARD_ACKNOWLEDGEMENTS.filter(({ control, rule }) =>
      suppressed.some(({ ruleName, description }) => ruleName === rule && !description.startsWith(`[${control}]`)),
    );

    // Assess
    expect(mismatched).toStrictEqual([]);
    for (const { rule, reason } of GUARD_ACKNOWLEDGEMENTS) {
      expect(reason.trim().length, rule).toBeGreaterThan(20);
      // A finding to be fixed is fixed, not acknowledged.
      expect(reason, rule).not.toMatch(/\b(FIXME|TODO)\b/);
    }
  });
});
