import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/s3-client';
import { dropFlight, photos } from '../helpers/flights';
import {
  type CliLine,
  exitWithin,
  jsonLines,
  processesLeftInGroup,
  type RunningCli,
  startCli,
  startNpmLocal,
  stopStartedClis,
  waitForLine,
} from '../helpers/local-cli-process';

/**
 * Local mode stops like a server: the first SIGINT or SIGTERM stops new batches, prints those in flight and gives
 * them --grace-seconds before abandoning them; a second signal stops at once; a signal to npm reaches the CLI, and
 * the CLI stops when npm is gone. Whatever the way out, no process and no temporary file is left.
 *
 * Each CLI gets a fresh TMPDIR (and tsx no cache, which would live there), so that what the run leaves behind is
 * whatever that folder holds once it has exited.
 */

const temporaryFolders: string[] = [];

// A CLI a failed test left running gets SIGTERM (and removes its own files) before any SIGKILL; then the folders go.
afterAll(async () => {
  await stopStartedClis();
  await Promise.all(temporaryFolders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
}, 60_000);

async function freshTmpdir(): Promise<NodeJS.ProcessEnv> {
  const folder = await mkdtemp(join(tmpdir(), 'local-cli-stop-'));
  temporaryFolders.push(folder);
  return { TMPDIR: folder, TSX_DISABLE_CACHE: '1' };
}

/** Drops a flight into a `--serve --json` CLI once it serves, and resolves once its processing has started. */
async function dropAndStartProcessing(running: RunningCli, prefix: string): Promise<void> {
  const serving = await waitForLine(running, (line) => line.event === 'serving');
  const s3 = createS3Client({
    endpoint: serving.s3Endpoint as string,
    credentials: { accessKeyId: serving.accessKeyId as string, secretAccessKey: serving.secretAccessKey as string },
  });
  try {
    await dropFlight(s3, serving.dropBucket as string, prefix, photos(6), { inspection: { name: 'Stopped' } });
  } finally {
    s3.destroy();
  }
  await waitForProcessing(running);
}

function waitForProcessing(running: RunningCli): Promise<CliLine> {
  return waitForLine(running, (line) => line.event === 'stage' && line.state === 'Start processing');
}

/** Whatever the way out: no process of the CLI's group left, nothing in its temporary folder. */
async function expectNothingLeft(running: RunningCli, env: NodeJS.ProcessEnv): Promise<void> {
  expect(await processesLeftInGroup(running.child.pid!)).toEqual([]);
  expect(await readdir(env.TMPDIR!)).toEqual([]);
}

function linesOf(running: RunningCli, event: string): CliLine[] {
  return jsonLines(running.stdout()).filter((line) => line.event === event);
}

describe('stopping the local CLI', () => {
  it('--serve: SIGINT with a batch in flight prints it, abandons it after --grace-seconds, exits 130 leaving no process and no temporary file', async () => {
    // Prepare
    const env = await freshTmpdir();
    const running = startCli(['--serve', '--json', '--processing-outcome', 'never', '--grace-seconds', '1'], env);
    await dropAndStartProcessing(running, 'tower-stop/flight-1/');

    // Act
    const signalledAt = Date.now();
    running.child.kill('SIGINT');
    const exit = await exitWithin(running, 30_000);

    // Assess: the batch had its grace period (a lower bound, which load cannot break) before it was abandoned
    expect(exit, running.stderr().slice(-3_000)).toEqual({ code: 130, signal: null });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1_000);
    expect(linesOf(running, 'stopping')).toEqual([
      { event: 'stopping', cause: 'SIGINT', inFlight: 1, graceSeconds: 1 },
    ]);
    // The stage when it was abandoned: the batch may have moved on during the grace period.
    expect(linesOf(running, 'in-flight')).toEqual([
      { event: 'in-flight', batch: 'tower-stop/flight-1/', stage: expect.stringMatching(/processing/) },
    ]);
    expect(linesOf(running, 'abandoned')).toEqual([
      { event: 'abandoned', batch: 'tower-stop/flight-1/', stage: expect.stringMatching(/processing/) },
    ]);
    expect(jsonLines(running.stdout()).at(-1)).toEqual({ event: 'stopped', notifications: 0 });
    await expectNothingLeft(running, env);
  }, 120_000);

  it('one-shot: SIGINT mid-run abandons the flight, exits 130 and removes the temporary files', async () => {
    // Prepare
    const env = await freshTmpdir();
    const running = startCli(
      ['--generate', '6', '--json', '--processing-outcome', 'never', '--grace-seconds', '1'],
      env,
    );
    await waitForProcessing(running);

    // Act
    running.child.kill('SIGINT');
    const exit = await exitWithin(running, 30_000);

    // Assess
    expect(exit, running.stderr().slice(-3_000)).toEqual({ code: 130, signal: null });
    expect(linesOf(running, 'abandoned')).toEqual([
      { event: 'abandoned', batch: 'tower-001/flight-1/', stage: expect.stringMatching(/processing/) },
    ]);
    expect(jsonLines(running.stdout()).at(-1)).toMatchObject({
      event: 'finished',
      flights: 1,
      completed: 0,
      stoppedBy: 'SIGINT',
    });
    await expectNothingLeft(running, env);
  }, 120_000);

  it('--serve: a second SIGINT stops at once, whatever the grace period, and still removes the temporary files', async () => {
    // Prepare
    const env = await freshTmpdir();
    const running = startCli(['--serve', '--json', '--processing-outcome', 'never', '--grace-seconds', '3600'], env);
    await dropAndStartProcessing(running, 'tower-stop/flight-2/');
    running.child.kill('SIGINT');
    await waitForLine(running, (line) => line.event === 'stopping');
    // Past the window in which the same signal counts as the same request (npm passes Ctrl-C on).
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // Act
    running.child.kill('SIGINT');
    const exit = await exitWithin(running, 30_000);

    // Assess
    expect(exit, running.stderr().slice(-3_000)).toEqual({ code: 130, signal: null });
    expect(linesOf(running, 'stopping-now')).toEqual([{ event: 'stopping-now', cause: 'SIGINT' }]);
    expect(linesOf(running, 'abandoned')).toMatchObject([{ batch: 'tower-stop/flight-2/' }]);
    await expectNothingLeft(running, env);
  }, 120_000);

  it.each([
    ['SIGTERM to npm reaches the CLI, which stops cleanly (exit 0)', 'SIGTERM', 'SIGTERM'],
    ['npm killed with SIGKILL: the CLI notices its parent is gone and stops', 'SIGKILL', 'parent-exited'],
  ] as const)(
    'npm run local -- --serve: %s, leaving no process',
    async (_title, signal, cause) => {
      // Prepare
      const env = await freshTmpdir();
      const running = startNpmLocal(['--serve', '--json', '--grace-seconds', '1'], env);
      await waitForLine(running, (line) => line.event === 'serving');

      // Act
      running.child.kill(signal);
      // npm's stdout is the CLI's too: it closes when the CLI has exited.
      const exit = await exitWithin(running, 30_000);

      // Assess: after SIGTERM npm returns the CLI's exit code; after SIGKILL, npm's own is its death
      if (signal === 'SIGTERM') expect(exit, running.stderr().slice(-3_000)).toEqual({ code: 0, signal: null });
      expect(linesOf(running, 'stopping')).toEqual([{ event: 'stopping', cause, inFlight: 0, graceSeconds: 1 }]);
      expect(jsonLines(running.stdout()).at(-1)).toEqual({ event: 'stopped', notifications: 0 });
      await expectNothingLeft(running, env);
    },
    120_000,
  );
});
