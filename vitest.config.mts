import { defineConfig } from 'vitest/config';

/** Tests that judge what every other test's local runs recorded: the grants their calls used, the metrics they emitted. */
const AFTER_LOCAL_RUNS = ['test/local/least-privilege.test.ts', 'test/local/dashboard-coverage.test.ts'];

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most files wait on sockets, timers and child processes rather than compute: two workers on a 2-core machine
    // (the default would be one) cut the local tests from about 270 s to 195 s.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The handlers run in process: their info logs would drown the test report (local runs read their EMF lines).
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
    // They run after all of the others.
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: AFTER_LOCAL_RUNS, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'after-local-runs', include: AFTER_LOCAL_RUNS, sequence: { groupOrder: 1 } } },
    ],
  },
});
