import { defineConfig } from 'vitest/config';

const LEAST_PRIVILEGE = 'test/local/least-privilege.test.ts';

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
      // The handlers run in process: their EMF metrics and info logs would drown the test report.
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
    // The least-privilege test judges the grants the other tests' local runs used, so it runs after all of them.
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [LEAST_PRIVILEGE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'least-privilege', include: [LEAST_PRIVILEGE], sequence: { groupOrder: 1 } } },
    ],
  },
});
