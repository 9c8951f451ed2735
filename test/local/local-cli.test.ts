import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/s3-client';
import type { NotificationV1 } from '../../src/notify/notification';
import { dropFlight, jpegBytes, photos } from '../helpers/flights';
import { CliLine, exitWithin, jsonLines, killStartedClis, runCli, startCli, waitForLine } from '../helpers/local-cli-process';

/**
 * `npm run -s local -- [options]` as a person or a script runs it: `--json` gives clean JSON Lines with the
 * notifications last, the exit status tells the outcome, bad usage exits 2 naming the option, `--photos` keeps
 * sub-folders, and `--serve` processes what any S3 client drops until SIGTERM.
 */

const temporaryFolders: string[] = [];

afterEach(async () => {
  killStartedClis();
  await Promise.all(temporaryFolders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** The stdout of a `--json` run as JSON Lines: fails on any line that is not JSON, or on a missing final newline. */
function parseJsonLines(stdout: string): CliLine[] {
  expect(stdout.endsWith('\n'), 'stdout ends with a newline').toBe(true);
  const lines = jsonLines(stdout);
  expect(lines.length).toBeGreaterThan(0);
  return lines;
}

function lastNotification(lines: readonly CliLine[]): NotificationV1 {
  const last = lines.at(-1)!;
  expect(last.event).toBe('notification');
  return last.message as NotificationV1;
}

describe('the local CLI', () => {
  it('--generate 3 --json: exit 0, only JSON Lines, the last an inspection.completed with 3 photos registered', async () => {
    // Prepare
    const args = ['--generate', '3', '--json'];

    // Act
    const run = await runCli(args);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    const lines = parseJsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ event: 'ready' });
    expect(lastNotification(lines)).toMatchObject({
      type: 'inspection.completed',
      batch: { prefix: 'tower-001/flight-1/' },
      images: { found: 3, copied: 3, registered: 3 },
    });
  }, 90_000);

  it('--processing-outcome failed: exit 1, the last line an inspection.failed', async () => {
    // Prepare
    const args = ['--processing-outcome', 'failed', '--generate', '2', '--json', '--processing-seconds', '1'];

    // Act
    const run = await runCli(args);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(1);
    expect(lastNotification(parseJsonLines(run.stdout)).type).toBe('inspection.failed');
  }, 90_000);

  it.each([
    { args: ['--generate', 'zero'], option: '--generate' },
    { args: ['--bogus'], option: '--bogus' },
    { args: ['--lost-answer-rate', '1.5'], option: '--lost-answer-rate' },
    { args: ['--photos', 'a', '--generate', '2'], option: '--photos' },
    { args: ['--serve', '--grace-seconds', '-1'], option: '--grace-seconds' },
  ])('exits 2 on bad usage ($args), naming $option on stderr', async ({ args, option }) => {
    // Prepare
    const argv = [...args, '--json'];

    // Act
    const run = await runCli(argv, 30_000);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(option);
    expect(run.stdout).toBe('');
  }, 40_000);

  it('--photos DIR uploads the folder with its sub-folders: same-named photos do not collide', async () => {
    // Prepare
    const folder = await mkdtemp(join(tmpdir(), 'local-cli-photos-'));
    temporaryFolders.push(folder);
    const files = ['DCIM/100MEDIA/DJI_0001.JPG', 'DCIM/100MEDIA/DJI_0002.JPG', 'DCIM/101MEDIA/DJI_0001.JPG', 'DCIM/101MEDIA/DJI_0002.JPG'];
    for (const [index, path] of files.entries()) {
      await mkdir(dirname(join(folder, path)), { recursive: true });
      await writeFile(join(folder, path), jpegBytes(3_000, index + 1));
    }

    // Act
    const run = await runCli(['--photos', folder, '--json', '--processing-seconds', '1']);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    const lines = parseJsonLines(run.stdout);
    expect(lines.find((line) => line.event === 'dropped')).toMatchObject({ files: 4 });
    expect(lastNotification(lines)).toMatchObject({
      type: 'inspection.completed',
      images: { found: 4, copied: 4, registered: 4, skippedTotal: 0 },
    });
  }, 90_000);

  it('--no-manifest --quiet-seconds 1: the batch closes after the quiet period and completes', async () => {
    // Prepare
    const args = ['--no-manifest', '--quiet-seconds', '1', '--generate', '3', '--json', '--processing-seconds', '1'];

    // Act
    const run = await runCli(args);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    expect(lastNotification(parseJsonLines(run.stdout))).toMatchObject({ type: 'inspection.completed', images: { registered: 3 } });
  }, 90_000);

  it('--serve --json: prints the S3 endpoint and keys, processes a flight any S3 client drops, exits 0 on SIGTERM', async () => {
    // Prepare
    const running = startCli(['--serve', '--json', '--processing-seconds', '1']);
    await waitForLine(running, () => true);
    const first = JSON.parse(running.stdout().split('\n')[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({
      s3Endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      dropBucket: expect.any(String),
      accessKeyId: expect.any(String),
      secretAccessKey: expect.any(String),
    });
    const s3 = createS3Client({
      endpoint: first.s3Endpoint as string,
      credentials: { accessKeyId: first.accessKeyId as string, secretAccessKey: first.secretAccessKey as string },
    });

    // Act
    try {
      await dropFlight(s3, first.dropBucket as string, 'tower-serve/flight-1/', photos(3), { inspection: { name: 'Served' } });
    } finally {
      s3.destroy();
    }
    const notification = await waitForLine(running, (line) => line.event === 'notification');
    running.child.kill('SIGTERM');
    const exit = await exitWithin(running, 30_000);

    // Assess
    expect(notification.message).toMatchObject({
      type: 'inspection.completed',
      batch: { prefix: 'tower-serve/flight-1/' },
      inspection: { name: 'Served' },
      images: { found: 3, registered: 3 },
    });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(parseJsonLines(running.stdout()).at(-1)).toEqual({ event: 'stopped', notifications: 1 });
  }, 90_000);
});
