import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GrantAcknowledgement } from '../../lib/grant-acknowledgements';
import { type Grant, grantKey, type IamAuthorizer } from './iam-authorizer';

/**
 * Which grants the local runs used, gathered across processes: each local pipeline, when it closes, writes the keys
 * of the grants its calls used into the folder this variable names (the test suite sets it), and the least-privilege
 * test reads them all once the other tests have run.
 */
export const GRANT_USAGE_DIR_VARIABLE = 'INSPECT_PIPELINE_GRANT_USAGE_DIR';

export async function recordGrantUsage(authorizer: IamAuthorizer, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = env[GRANT_USAGE_DIR_VARIABLE];
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `usage-${process.pid}-${randomUUID()}.json`), JSON.stringify(authorizer.used()));
}

/** The grant keys recorded in `dir`, and how many runs recorded them. */
export async function readGrantUsage(dir: string): Promise<{ used: Set<string>; runs: number }> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.startsWith('usage-'));
  const used = new Set<string>();
  for (const file of files)
    for (const key of JSON.parse(await readFile(join(dir, file), 'utf8')) as string[]) used.add(key);
  return { used, runs: files.length };
}

export interface GrantReport {
  readonly used: readonly Grant[];
  readonly acknowledged: readonly (Grant & { readonly reason: string })[];
  readonly unused: readonly Grant[];
}

/** Sorts every grant into used by a call, unused but acknowledged (with the reason), and unused. */
export function reportGrants(
  grants: readonly Grant[],
  used: ReadonlySet<string>,
  acknowledgements: readonly GrantAcknowledgement[],
): GrantReport {
  const report = { used: [] as Grant[], acknowledged: [] as (Grant & { reason: string })[], unused: [] as Grant[] };
  for (const grant of grants) {
    if (used.has(grantKey(grant))) {
      report.used.push(grant);
      continue;
    }
    const acknowledgement = acknowledgements.find((candidate) => acknowledges(candidate, grant));
    if (acknowledgement) report.acknowledged.push({ ...grant, reason: acknowledgement.reason });
    else report.unused.push(grant);
  }
  return report;
}

/** One line per grant: who holds it, the action, the resource, and where it is in the template. */
export function describeGrant(grant: Grant): string {
  return `${grant.usedBy}: ${grant.action} on ${grant.resource} (policy ${grant.policy}, statement ${grant.statement + 1})`;
}

function acknowledges(acknowledgement: GrantAcknowledgement, grant: Grant): boolean {
  return (
    matches(acknowledgement.holder, grant.usedBy) &&
    matches(acknowledgement.action, grant.action) &&
    (acknowledgement.resource === undefined || matches(acknowledgement.resource, grant.resource))
  );
}

function matches(pattern: string | RegExp, value: string): boolean {
  return typeof pattern === 'string' ? pattern === value : pattern.test(value);
}
