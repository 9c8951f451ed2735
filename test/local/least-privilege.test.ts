import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRANT_ACKNOWLEDGEMENTS } from '../../lib/grant-acknowledgements';
import { describeGrant, GRANT_USAGE_DIR_VARIABLE, readGrantUsage, reportGrants } from '../../local/iam/grant-usage';
import { IamAuthorizer } from '../../local/iam/iam-authorizer';
import { synthesizeStack } from '../../local/pipeline/synthesized-stack';

/**
 * Least privilege, measured: every local pipeline of this test run (they hold every AWS call to the synthesized
 * roles) recorded which grant allowed each call. This file runs after all the others (vitest.config.mts) and lists
 * every grant that no call used; each must be removed from lib/ or acknowledged in lib/grant-acknowledgements.ts.
 */

/** Where the whole report (used, acknowledged and unused grants) is written, for people to read. */
const REPORT_DIR = join(__dirname, '..', '..', 'test-results');

describe('least privilege', () => {
  it('every grant of every role was used by a call of the local runs, or is acknowledged with its reason', async () => {
    // Prepare
    const dir = process.env[GRANT_USAGE_DIR_VARIABLE];
    expect(dir, `${GRANT_USAGE_DIR_VARIABLE} is set by test/global-setup.ts`).toBeTruthy();
    const { used, runs } = await readGrantUsage(dir!);
    const grants = new IamAuthorizer(synthesizeStack()).grants();

    // Act
    const report = reportGrants(grants, used, GRANT_ACKNOWLEDGEMENTS);
    const lines = [
      `${runs} local run(s); ${grants.length} grants: ${report.used.length} used, ${report.acknowledged.length} acknowledged, ${report.unused.length} unused`,
      '',
      'Unused (remove the grant from lib/, or acknowledge it in lib/grant-acknowledgements.ts with its reason):',
      ...report.unused.map((grant) => `  ${describeGrant(grant)}`),
      '',
      'Acknowledged:',
      ...report.acknowledged.map((grant) => `  ${describeGrant(grant)}\n      ${grant.reason}`),
      '',
      'Used:',
      ...report.used.map((grant) => `  ${describeGrant(grant)}`),
    ];
    await mkdir(REPORT_DIR, { recursive: true });
    await writeFile(join(REPORT_DIR, 'least-privilege.txt'), `${lines.join('\n')}\n`);

    // Assess
    expect(runs, 'no local run recorded its calls: run the whole suite (npm test)').toBeGreaterThan(0);
    expect(report.unused.map(describeGrant), 'grants no call of the local runs used').toEqual([]);
  });

  it('acknowledges only grants that exist and that no call used', async () => {
    // Prepare
    const { used } = await readGrantUsage(process.env[GRANT_USAGE_DIR_VARIABLE]!);
    const grants = new IamAuthorizer(synthesizeStack()).grants();

    // Act
    const stale = GRANT_ACKNOWLEDGEMENTS.filter(
      (acknowledgement) => reportGrants(grants, new Set(), [acknowledgement]).acknowledged.length === 0,
    ).map((acknowledgement) => acknowledgement.reason);
    const usedAnyway = reportGrants(grants, new Set(), GRANT_ACKNOWLEDGEMENTS)
      .acknowledged.filter((grant) => reportGrants([grant], used, []).used.length > 0)
      .map(describeGrant);

    // Assess
    expect(stale, 'acknowledgements that match no grant of the template').toEqual([]);
    expect(usedAnyway, 'acknowledged grants that a call used: the acknowledgement is wrong').toEqual([]);
  });
});
