import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GRANT_USAGE_DIR_VARIABLE } from '../local/iam/grant-usage';

/**
 * Gives the local pipelines of this test run (in every worker and every CLI they start) one folder to record the
 * grants their calls used in, for the least-privilege test that runs after them.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'inspect-pipeline-grants-'));
  process.env[GRANT_USAGE_DIR_VARIABLE] = dir;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
