import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GRANT_USAGE_DIR_VARIABLE } from '../local/iam/grant-usage';
import { METRIC_USAGE_DIR_VARIABLE } from '../local/pipeline/metric-usage';

/** Set once per test run: vitest runs this setup for each project, and they share the run's folder. */
const RUN_DIR_VARIABLE = 'INSPECT_PIPELINE_TEST_RUN_DIR';

/**
 * One folder for everything temporary of this test run, removed at its end: the workers and every process they
 * start inherit it as TMPDIR, so CDK's `cdk.out*` assemblies, local runs' data and the tests' own folders land in it
 * and a run leaves nothing behind, however a test ends. Its name is short because tsx puts a Unix socket in it,
 * whose path may not pass 107 bytes. It also holds the grants the local pipelines' calls used and the metrics
 * their functions emitted, for the tests that run after them (least privilege, dashboard coverage).
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env[RUN_DIR_VARIABLE]) return async () => {};
  const runDir = await mkdtemp(join(tmpdir(), 'ipt-'));
  const grantsDir = join(runDir, 'grants');
  await mkdir(grantsDir);
  const metricsDir = join(runDir, 'metrics');
  await mkdir(metricsDir);
  process.env[RUN_DIR_VARIABLE] = runDir;
  process.env.TMPDIR = runDir;
  process.env[GRANT_USAGE_DIR_VARIABLE] = grantsDir;
  process.env[METRIC_USAGE_DIR_VARIABLE] = metricsDir;
  return async () => {
    await rm(runDir, { recursive: true, force: true });
  };
}
