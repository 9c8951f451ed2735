import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GRANT_USAGE_DIR_VARIABLE } from '../local/iam/grant-usage';

/**
 * One folder for everything temporary of this test run, removed at its end: the workers and every process they
 * start inherit it as TMPDIR, so CDK's `cdk.out*` assemblies, local runs' data and the tests' own folders land in it
 * and a run leaves nothing behind, however a test ends. It also holds the grants the local pipelines' calls used,
 * for the least-privilege test that runs after them.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(join(tmpdir(), 'inspect-pipeline-test-run-'));
  const grantsDir = join(runDir, 'grants');
  await mkdir(grantsDir);
  process.env.TMPDIR = runDir;
  process.env[GRANT_USAGE_DIR_VARIABLE] = grantsDir;
  return async () => {
    await rm(runDir, { recursive: true, force: true });
  };
}
