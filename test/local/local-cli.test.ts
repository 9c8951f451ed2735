import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NotificationV1 } from '../../src/notify/notification';
import { createS3Client } from '../../src/s3-client';
import { dropFlight, jpegBytes, photos } from '../helpers/flights';
import {
  type CliLine,
  exitWithin,
  jsonLines,
  notificationsOf,
  runCli,
  startCli,
  stopStartedClis,
  waitForLine,
  waitForText,
} from '../helpers/local-cli-process';

/**
 * `npm run -s local -- [options]` as a person or a script runs it: `--json` gives clean JSON Lines with the
 * notifications last, the exit status tells the outcome, bad usage exits 2 naming the option, `--photos` keeps
 * sub-folders, and `--serve` processes what any S3 client drops until SIGTERM.
 */

const temporaryFolders: string[] = [];

afterAll(async () => {
  await stopStartedClis();
  await Promise.all(temporaryFolders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
}, 60_000);

/** The stages a batch goes through, as the human output names them, in order. */
const STAGES = [
  'Preparing the inspection',
  'Copying photos to Pix4Dinspect',
  'Registering photos',
  'Starting processing',
  'Waiting for processing',
  'Publishing the notification',
];

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
  it('--generate 6 --json: exit 0, only JSON Lines, the last an inspection.completed with 6 photos registered', async () => {
    // Prepare
    const args = ['--generate', '6', '--json'];

    // Act
    const run = await runCli(args);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    const lines = parseJsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ event: 'ready' });
    expect(lastNotification(lines)).toMatchObject({
      type: 'inspection.completed',
      batch: { prefix: 'tower-001/flight-1/' },
      images: { found: 6, copied: 6, registered: 6 },
    });
  }, 90_000);

  it('--processing-outcome failed: exit 1, the last line an inspection.failed', async () => {
    // Prepare
    const args = ['--processing-outcome', 'failed', '--generate', '6', '--json', '--processing-seconds', '1'];

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
  ])(
    'exits 2 on bad usage ($args), naming $option on stderr',
    async ({ args, option }) => {
      // Prepare
      const argv = [...args, '--json'];

      // Act
      const run = await runCli(argv, 30_000);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(option);
      expect(run.stdout).toBe('');
    },
    40_000,
  );

  it('--photos DIR uploads the folder with its sub-folders and its manifest.json last; copied + skipped files reach the total', async () => {
    // Prepare: same-named photos in two sub-folders, a file the pipeline skips, and the folder's own manifest
    const folder = await mkdtemp(join(tmpdir(), 'local-cli-photos-'));
    temporaryFolders.push(folder);
    const files = ['100', '101'].flatMap((folder) =>
      [1, 2, 3].map((photo) => `DCIM/${folder}MEDIA/DJI_000${photo}.JPG`),
    );
    for (const [index, path] of files.entries()) {
      await mkdir(dirname(join(folder, path)), { recursive: true });
      await writeFile(join(folder, path), jpegBytes(3_000, index + 1));
    }
    await writeFile(join(folder, 'notes.txt'), 'wind 4 m/s');
    await writeFile(join(folder, 'manifest.json'), JSON.stringify({ inspection: { name: 'From the folder' } }));

    // Act
    const run = await runCli(['--photos', folder, '--json', '--processing-seconds', '0.5']);

    // Assess: same-named photos do not collide; the folder's manifest names the inspection and is no file of the batch
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    const lines = parseJsonLines(run.stdout);
    expect(lines.find((line) => line.event === 'dropped')).toMatchObject({ files: 7 });
    expect(lastNotification(lines)).toMatchObject({
      type: 'inspection.completed',
      inspection: { name: 'From the folder' },
      images: { found: 7, copied: 6, registered: 6, skippedTotal: 1 },
    });
    // Assess: the progress never passes its total, and its last line adds up to it
    const progress = lines.filter((line) => line.event === 'copy-progress');
    for (const line of progress)
      expect((line.photosCopied as number) + (line.filesSkipped as number)).toBeLessThanOrEqual(7);
    expect(progress.at(-1)).toEqual({
      event: 'copy-progress',
      batch: 'tower-001/flight-1/',
      photosCopied: 6,
      filesSkipped: 1,
      filesTotal: 7,
    });
  }, 90_000);

  it('--flights 2: each flight is named after its own folder, flight-1-01 and flight-1-02', async () => {
    // Prepare
    const args = ['--flights', '2', '--generate', '6', '--json', '--processing-seconds', '0.5'];

    // Act
    const run = await runCli(args);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    const names = notificationsOf(parseJsonLines(run.stdout)).map((message) => [
      message.batch.prefix,
      message.inspection?.name,
    ]);
    expect(names.sort()).toEqual([
      ['tower-001/flight-1-01/', 'flight-1-01'],
      ['tower-001/flight-1-02/', 'flight-1-02'],
    ]);
  }, 90_000);

  it('--no-manifest --quiet-seconds 1: the batch closes after the quiet period and completes', async () => {
    // Prepare
    const args = ['--no-manifest', '--quiet-seconds', '1', '--generate', '6', '--json', '--processing-seconds', '1'];

    // Act
    const run = await runCli(args);

    // Assess
    expect(run.code, run.stderr.slice(-3_000)).toBe(0);
    expect(lastNotification(parseJsonLines(run.stdout))).toMatchObject({
      type: 'inspection.completed',
      images: { registered: 6 },
    });
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
      await dropFlight(s3, first.dropBucket as string, 'tower-serve/flight-1/', photos(6), {
        inspection: { name: 'Served' },
      });
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
      images: { found: 6, registered: 6 },
    });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(parseJsonLines(running.stdout()).at(-1)).toEqual({ event: 'stopped', notifications: 1 });
  }, 90_000);

  it('--serve --no-manifest: the banner says how batches close; a quiet-period batch prints its stages and a bar that reaches its total', async () => {
    // Prepare
    const running = startCli(['--serve', '--no-manifest', '--quiet-seconds', '1', '--processing-seconds', '0.5']);
    const banner = await waitForText(running, /npm run -s cli -- upload .*\n/);
    const endpoint = /S3 endpoint\s+(\S+)/.exec(banner)![1]!;
    const bucket = /Drop bucket\s+(\S+)/.exec(banner)![1]!;
    const s3 = createS3Client({ endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

    // Act: photos and a file the pipeline skips, no manifest
    try {
      await dropFlight(s3, bucket, 'tower-quiet/flight-1/', [
        ...photos(6),
        { relativePath: 'notes.txt', body: 'wind 4 m/s' },
      ]);
    } finally {
      s3.destroy();
    }
    await waitForText(running, /\[OK\] inspection\.completed {2}tower-quiet\/flight-1\/\n/);
    running.child.kill('SIGTERM');
    const exit = await exitWithin(running, 30_000);

    // Assess
    expect(exit, running.stderr().slice(-3_000)).toEqual({ code: 0, signal: null });
    expect(banner).toContain('closes 1 s after its last new object');
    expect(banner).toContain(
      'aws s3 cp examples/flight/ s3://inspect-drop/tower-001/flight-1/ --recursive --exclude manifest.json',
    );
    const printed = running.stdout().split('\n');
    expect(printed.filter((line) => line.startsWith('tower-quiet/flight-1/  '))).toEqual(
      STAGES.map((stage) => `tower-quiet/flight-1/  ${stage}`),
    );
    const bars = printed.filter((line) => line.includes(' copied'));
    expect(bars.at(-1)).toMatch(/\] 7\/7 files: 6 photos copied, 1 skipped$/);
    for (const bar of bars) expect(bar).toMatch(/\] [0-7]\/7 /);
  }, 90_000);
});
