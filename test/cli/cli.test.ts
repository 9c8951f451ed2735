import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flightPhotoStation } from '../../local/flight-photos';
import type { BatchState } from '../../src/batch-state/batch-state';
import { DEFAULT_PREFLIGHT_THRESHOLDS } from '../../src/preflight/preflight';
import { createS3Client } from '../../src/s3-client';
import { type DroppedFile, geotaggedPhotos, jpegBytes } from '../helpers/flights';
import {
  type CliLine,
  exitWithin,
  type FinishedCli,
  jsonLines,
  killStartedClis,
  PROJECT_ROOT,
  type RunningCli,
  startCli,
  waitForLine,
} from '../helpers/local-cli-process';
import { killOperatorCli, runOperatorCli, startOperatorCli, stopGracefully } from '../helpers/operator-cli-process';

/**
 * The operator CLI against `npm run local -- --serve`: the whole pipeline on this machine, reached only through
 * its S3 endpoint, as an operator would reach a deployed stack. Every command is a separate process.
 */

const MIB = 1024 * 1024;

interface Served {
  readonly s3Endpoint: string;
  readonly dropBucket: string;
  readonly workBucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

let serve: RunningCli;
let served: Served;
let s3: S3Client;
let env: NodeJS.ProcessEnv;
const temporaryFolders: string[] = [];

let serveTemp: string;

beforeAll(async () => {
  // Serve mode's own temporary folder goes under one of this file's, removed in afterAll whatever happens.
  serveTemp = await temporaryFolder();
  serve = startCli(['--serve', '--json', '--processing-seconds', '1'], { TMPDIR: serveTemp });
  served = (await waitForLine(serve, (line) => line.event === 'serving', 60_000)) as unknown as Served;
  s3 = createS3Client({
    endpoint: served.s3Endpoint,
    credentials: { accessKeyId: served.accessKeyId, secretAccessKey: served.secretAccessKey },
  });
  env = {
    AWS_ACCESS_KEY_ID: served.accessKeyId,
    AWS_SECRET_ACCESS_KEY: served.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // No profile of the machine running the tests is read.
    AWS_CONFIG_FILE: join(serveTemp, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(serveTemp, 'no-aws-credentials'),
  };
}, 90_000);

afterAll(async () => {
  s3?.destroy();
  // SIGTERM first, so that serve mode stops its batches and removes its temporary folder; SIGKILL only if needed.
  const stopped = serve ? await stopGracefully(serve, 30_000) : undefined;
  const leftByServe = serveTemp
    ? (await readdir(serveTemp)).filter((name) => name.startsWith('inspect-pipeline-local-'))
    : [];
  // Whatever a failed test left running (nothing, when they pass).
  killStartedClis();
  await Promise.all(temporaryFolders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
  expect(stopped?.signal ?? null, 'serve mode exited on SIGTERM by itself').toBeNull();
  expect(leftByServe, 'serve mode removed its temporary folder').toEqual([]);
}, 90_000);

/** The CLI with the local endpoint and its keys. */
function cli(args: readonly string[], limitMs = 90_000): Promise<FinishedCli> {
  return runOperatorCli([...args, '--endpoint', served.s3Endpoint], env, limitMs);
}

async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'inspect-cli-test-'));
  temporaryFolders.push(folder);
  return folder;
}

async function writeFiles(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [relativePath, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, relativePath)), { recursive: true });
    await writeFile(join(root, relativePath), body);
  }
}

function filesOf(dropped: readonly DroppedFile[]): Record<string, Buffer | string> {
  return Object.fromEntries(dropped.map((file) => [file.relativePath, file.body]));
}

async function listKeys(prefix: string): Promise<{ key: string; size: number }[]> {
  const objects: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: served.dropBucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) objects.push({ key: object.Key!, size: object.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

async function objectBytes(key: string): Promise<Buffer> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: served.dropBucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function linesOf(run: FinishedCli): CliLine[] {
  return jsonLines(run.stdout);
}

/**
 * The first flight: sub-folders, a name with a space, a junk file, and one file large enough for multipart; six
 * photos, as many as the pre-flight's minPhotos (serve mode runs with the stack's defaults).
 */
const FIRST = { asset: 'tower-cli', flight: 'flight-1', prefix: 'tower-cli/flight-1/' };
const FIRST_FILES: Record<string, Buffer | string> = {
  'DCIM/100MEDIA/DJI_0001.JPG': jpegBytes(4_096, 1),
  'DCIM/100MEDIA/DJI_0002.JPG': jpegBytes(4_096, 2),
  'DCIM/101MEDIA/DJI_0001.JPG': jpegBytes(4_096, 3),
  'DCIM/101MEDIA/DJI 0003.JPG': jpegBytes(4_096, 4),
  'DCIM/101MEDIA/DJI_0004.JPG': jpegBytes(20 * MIB, 5),
  'DCIM/101MEDIA/DJI_0005.JPG': jpegBytes(4_096, 6),
  'DCIM/notes.txt': 'flight notes, not a photo\n',
};
const FIRST_PHOTOS = Object.keys(FIRST_FILES).filter((path) => path.endsWith('.JPG')).length;
const FIRST_FILE_COUNT = Object.keys(FIRST_FILES).length;

let firstUpload: Promise<{ dir: string; run: FinishedCli }> | undefined;

/** The first flight's `upload --wait --json`, run once and shared by the tests that start from it. */
function uploadFirstFlight(): Promise<{ dir: string; run: FinishedCli }> {
  firstUpload ??= (async () => {
    const dir = await temporaryFolder();
    await writeFiles(dir, FIRST_FILES);
    const run = await cli(['upload', dir, '--asset', FIRST.asset, '--flight', FIRST.flight, '--wait', '--json']);
    return { dir, run };
  })();
  return firstUpload;
}

describe('the operator CLI against local serve mode', () => {
  it('upload --wait: uploads a flight with sub-folders, warns about the junk file, writes manifest.json last, ends completed (exit 0)', async () => {
    // Prepare: the flight's files (uploadFirstFlight writes them)

    // Act
    const { run } = await uploadFirstFlight();

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: DCIM/notes.txt will be skipped: unsupported extension (.txt)');
    const lines = linesOf(run);
    expect(lines[0]).toMatchObject({
      event: 'preflight',
      assessed: true,
      flight: { photos: FIRST_PHOTOS, geotagged: 0 },
      refusal: null,
      forced: false,
    });
    expect(lines[1]).toMatchObject({
      event: 'uploaded',
      files: FIRST_FILE_COUNT,
      uploaded: FIRST_FILE_COUNT,
      skipped: 0,
      manifest: { source: 'flags', action: 'write' },
    });
    const outcome = lines.at(-1)!;
    expect(outcome).toMatchObject({
      event: 'outcome',
      state: 'completed',
      prefix: FIRST.prefix,
      photos: { found: FIRST_FILE_COUNT, registered: FIRST_PHOTOS, skipped: 1 },
      inspection: { url: expect.stringMatching(/^https:\/\/.+\/project\/\d+\/$/) },
    });
    expect(outcome.batchId).toBe((lines[1]!.manifest as { runId: string }).runId);
    const keys = (await listKeys(FIRST.prefix)).map((object) => object.key.slice(FIRST.prefix.length)).sort();
    expect(keys).toEqual([...Object.keys(FIRST_FILES), 'manifest.json'].sort());
    expect(JSON.parse((await objectBytes(`${FIRST.prefix}manifest.json`)).toString('utf8'))).toEqual({
      asset: { name: FIRST.asset },
      inspection: { name: FIRST.flight },
    });
    const large = await s3.send(
      new HeadObjectCommand({ Bucket: served.dropBucket, Key: `${FIRST.prefix}DCIM/101MEDIA/DJI_0004.JPG` }),
    );
    // What resumability compares for multipart objects, whose ETag on S3 is not the file's MD5.
    expect(large.Metadata?.sha256).toBe(sha256(FIRST_FILES['DCIM/101MEDIA/DJI_0004.JPG'] as Buffer));
    expect(large.ContentLength).toBe(20 * MIB);
  }, 120_000);

  it('a second identical upload skips every file and leaves manifest.json as it is (nothing new to run)', async () => {
    // Prepare
    const { dir, run: first } = await uploadFirstFlight();
    expect(first.code, first.stderr).toBe(0);
    const before = await s3.send(
      new HeadObjectCommand({ Bucket: served.dropBucket, Key: `${FIRST.prefix}manifest.json` }),
    );

    // Act
    const run = await cli(['upload', dir, '--asset', FIRST.asset, '--flight', FIRST.flight, '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(linesOf(run)).toEqual([
      expect.objectContaining({ event: 'preflight', refusal: null }),
      expect.objectContaining({
        event: 'uploaded',
        files: FIRST_FILE_COUNT,
        uploaded: 0,
        skipped: FIRST_FILE_COUNT,
        bytesSent: 0,
        manifest: expect.objectContaining({ action: 'unchanged' }),
      }),
    ]);
    const after = await s3.send(
      new HeadObjectCommand({ Bucket: served.dropBucket, Key: `${FIRST.prefix}manifest.json` }),
    );
    expect(after.ETag).toBe(before.ETag);
    expect(after.LastModified).toEqual(before.LastModified);
  }, 120_000);

  it('an upload killed half-way is finished by the same command: complete files skipped, every object intact, manifest.json written', async () => {
    // Prepare: 60 files, four of them multipart
    const prefix = 'tower-cut/flight-1/';
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) files[`DCIM/100MEDIA/BIG_${i}.JPG`] = jpegBytes(20 * MIB, 100 + i);
    for (let i = 0; i < 56; i++)
      files[`DCIM/101MEDIA/DJI_${String(i).padStart(4, '0')}.JPG`] = jpegBytes(512 * 1024, 200 + i);
    const dir = await temporaryFolder();
    await writeFiles(dir, files);
    const args = [
      'upload',
      dir,
      '--asset',
      'tower-cut',
      '--flight',
      'flight-1',
      '--json',
      '--endpoint',
      served.s3Endpoint,
    ];

    // Act: kill it (SIGKILL, no clean-up) as soon as a file is in the bucket, then run the same command again
    const interrupted = startOperatorCli(args, env);
    let seen: { key: string; size: number }[] = [];
    while (seen.length === 0 && interrupted.child.exitCode === null) {
      seen = await listKeys(prefix);
      if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    killOperatorCli(interrupted);
    const killed = await exitWithin(interrupted, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const leftBehind = await listKeys(prefix);
    const completeBefore = leftBehind.filter(
      (object) => object.size === files[object.key.slice(prefix.length)]?.length,
    ).length;
    const rerun = await runOperatorCli(args, env);

    // Assess
    expect(killed.signal, 'the first upload was killed, not finished').toBe('SIGKILL');
    expect(
      leftBehind.some((object) => object.key.endsWith('manifest.json')),
      'no manifest.json after the interruption',
    ).toBe(false);
    expect(leftBehind.length, 'some files were up, not all').toBeLessThan(60);
    expect(completeBefore).toBeGreaterThan(0);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(linesOf(rerun).find((line) => line.event === 'uploaded')).toMatchObject({
      event: 'uploaded',
      files: 60,
      skipped: completeBefore,
      uploaded: 60 - completeBefore,
    });
    const after = await listKeys(prefix);
    expect(after.map((object) => object.key.slice(prefix.length)).sort()).toEqual(
      [...Object.keys(files), 'manifest.json'].sort(),
    );
    for (const [relativePath, body] of Object.entries(files)) {
      expect(sha256(await objectBytes(`${prefix}${relativePath}`)), relativePath).toBe(sha256(body));
    }
  }, 120_000);

  it('status --json lists the first batch as completed with its link; status prints it as a table', async () => {
    // Prepare
    const { run: first } = await uploadFirstFlight();
    expect(first.code, first.stderr).toBe(0);
    const outcome = linesOf(first).at(-1)!;

    // Act
    const json = await cli(['status', '--json']);
    const table = await cli(['status', '--asset', FIRST.asset]);

    // Assess
    expect(json.code, json.stderr).toBe(0);
    const records = JSON.parse(json.stdout) as (BatchState & { ageSeconds: number })[];
    expect(records.find((record) => record.batchId === outcome.batchId)).toMatchObject({
      prefix: FIRST.prefix,
      asset: FIRST.asset,
      flight: FIRST.flight,
      state: 'completed',
      inspection: { id: (outcome.inspection as { id: number }).id, url: (outcome.inspection as { url: string }).url },
      ageSeconds: expect.any(Number),
    });
    expect(records.every((record) => !(record.state === 'collecting' && record.closedInto))).toBe(true);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^BATCH\s+STATE\s+PHOTOS\s+AGE\s+LINK$/);
    expect(
      rows.some(
        (row) =>
          row.startsWith('tower-cli/flight-1 ') &&
          row.includes('completed') &&
          row.includes(`${FIRST_PHOTOS}/${FIRST_FILE_COUNT}, 1 skipped`) &&
          row.endsWith((outcome.inspection as { url: string }).url),
      ),
    ).toBe(true);
    expect(rows.every((row) => row.startsWith('tower-cli/'))).toBe(true);
  }, 120_000);

  it('retry --dry-run predicts the run and writes nothing; retry --wait (not on a terminal: no question) says what it does and runs the batch again into a second inspection', async () => {
    // Prepare
    const { run: first } = await uploadFirstFlight();
    expect(first.code, first.stderr).toBe(0);
    const firstOutcome = linesOf(first).at(-1)!;
    const manifestBefore = (await objectBytes(`${FIRST.prefix}manifest.json`)).toString('utf8');

    // Act
    const dryRun = await cli(['retry', `${FIRST.asset}/${FIRST.flight}`, '--dry-run', '--json']);
    const manifestAfterDryRun = (await objectBytes(`${FIRST.prefix}manifest.json`)).toString('utf8');
    const run = await cli(['retry', `${FIRST.asset}/${FIRST.flight}`, '--wait', '--json']);

    // Assess
    expect(dryRun.code, dryRun.stderr).toBe(0);
    const predicted = linesOf(dryRun);
    expect(predicted).toEqual([
      expect.objectContaining({ event: 'dry-run', command: 'retry', prefix: FIRST.prefix, generation: 2 }),
    ]);
    expect(manifestAfterDryRun).toBe(manifestBefore);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('[y/N]');
    expect(linesOf(run).find((line) => line.event === 'retry')?.runId).toBe(predicted[0]!.runId);
    expect(run.stderr).toContain(
      `Re-running ${FIRST.prefix}: uploading manifest.json again (new ETag), which starts a new inspection`,
    );
    const lines = linesOf(run);
    const outcome = lines.at(-1)!;
    expect(outcome).toMatchObject({ event: 'outcome', state: 'completed', prefix: FIRST.prefix });
    expect(outcome.batchId).not.toBe(firstOutcome.batchId);
    expect((outcome.inspection as { id: number }).id).not.toBe((firstOutcome.inspection as { id: number }).id);
    const manifestAfter = (await objectBytes(`${FIRST.prefix}manifest.json`)).toString('utf8');
    expect(manifestAfter).not.toBe(manifestBefore);
    expect(JSON.parse(manifestAfter)).toEqual(JSON.parse(manifestBefore));
    const status = await cli(['status', '--json', '--asset', FIRST.asset]);
    const completed = (JSON.parse(status.stdout) as BatchState[]).filter(
      (record) => record.prefix === FIRST.prefix && record.state === 'completed',
    );
    expect(new Set(completed.map((record) => record.batchId))).toEqual(
      new Set([firstOutcome.batchId, outcome.batchId]),
    );
  }, 120_000);

  it('upload --wait of a flight without any photo ends failed: exit 1, the stage and reason on stderr', async () => {
    // Prepare
    const dir = await temporaryFolder();
    await writeFiles(dir, { 'docs/readme.txt': 'no photos here\n' });

    // Act
    const run = await cli(['upload', dir, '--asset', 'tower-empty', '--flight', 'flight-1', '--wait']);

    // Assess
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('warning: none of the files is a photo the pipeline will process');
    expect(run.stderr).toMatch(/error: tower-empty\/flight-1\/ failed at stage prepare: .*readme\.txt/);
    expect(run.stdout).toMatch(/\d\d:\d\d:\d\d {2}failed at stage prepare/);
  }, 120_000);

  it('upload of a flight the pipeline would refuse (3 photos, minPhotos 6): exit 2, the pre-flight and one line naming the rule, nothing uploaded; with --force --wait it goes up and the pipeline refuses it at stage preflight in the same words', async () => {
    // Prepare
    const dir = await temporaryFolder();
    await writeFiles(dir, filesOf(geotaggedPhotos(3)));
    const args = ['upload', dir, '--asset', 'tower-few', '--flight', 'flight-1'];
    const refusal = '3 photos, fewer than minPhotos 6: DCIM/DJI_0001.JPG, DCIM/DJI_0002.JPG, DCIM/DJI_0003.JPG';

    // Act
    const refused = await cli(args);
    const keysAfterRefusal = await listKeys('tower-few/');
    const forced = await cli([...args, '--force', '--wait']);

    // Assess
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stdout).toContain(
      'Pre-flight of 3 photos; thresholds: the defaults (no --stack to read the deployed ones from):\n  geotagged   3 of 3 (100%)\n',
    );
    expect(refused.stdout).toContain('  verdict     refused: nothing is uploaded\n');
    expect(refused.stdout).not.toContain('Uploading');
    expect(refused.stderr).toBe(
      `inspect-pipeline: upload: the pre-flight refuses the flight, as the pipeline would: ${refusal}. ` +
        `Fix the flight, set "preflight" thresholds for it in a manifest.json (${join(dir, 'manifest.json')}, or --manifest FILE), or add --force to upload it anyway\n`,
    );
    expect(keysAfterRefusal).toEqual([]);
    expect(forced.code, forced.stderr).toBe(1);
    expect(forced.stdout).toContain('  verdict     refused, but --force uploads it anyway\n');
    expect(forced.stderr).toContain(
      `warning: the pre-flight refuses the flight (${refusal}); uploading it anyway (--force)`,
    );
    expect(forced.stderr).toMatch(
      new RegExp(`error: tower-few/flight-1/ failed at stage preflight: .*${refusal.replace(/[.]/g, '\\.')}`),
    );
    expect((await listKeys('tower-few/')).map((object) => object.key).sort()).toEqual([
      'tower-few/flight-1/DCIM/DJI_0001.JPG',
      'tower-few/flight-1/DCIM/DJI_0002.JPG',
      'tower-few/flight-1/DCIM/DJI_0003.JPG',
      'tower-few/flight-1/manifest.json',
    ]);
  }, 120_000);

  it('a manifest.json "preflight" lowering minPhotos lets a 4-photo flight pass in the CLI and in the pipeline; --json gives the pre-flight as one object (thresholds, flight, warnings)', async () => {
    // Prepare: two cameras, which the pre-flight warns about
    const dir = await temporaryFolder();
    await writeFiles(dir, {
      ...filesOf(geotaggedPhotos(4, { cameras: 'mixed' })),
      'manifest.json': JSON.stringify({ inspection: { name: 'four photos' }, preflight: { minPhotos: 4 } }),
    });
    const stations = [0, 1, 2, 3].map((index) => flightPhotoStation(index, { count: 4, cameras: 'mixed' }));
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

    // Act
    const run = await cli(['upload', dir, '--asset', 'tower-four', '--flight', 'flight-1', '--wait', '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const lines = linesOf(run);
    expect(lines[0]).toEqual({
      event: 'preflight',
      assessed: true,
      thresholds: { ...DEFAULT_PREFLIGHT_THRESHOLDS, minPhotos: 4 },
      thresholdsFrom: 'defaults',
      thresholdsSource: 'the defaults (no --stack to read the deployed ones from)',
      manifestPreflight: { minPhotos: 4 },
      flight: {
        photos: 4,
        geotagged: 4,
        capturedFrom: stations[0]!.capturedAt,
        capturedTo: stations[3]!.capturedAt,
        cameras: ['DJI FC3411', 'DJI FC6310'],
        centroid: {
          latitude: expect.closeTo(mean(stations.map((station) => station.latitude)), 6),
          longitude: expect.closeTo(mean(stations.map((station) => station.longitude)), 6),
        },
        altitude: { min: stations[0]!.altitude, max: stations[3]!.altitude },
      },
      warnings: ['photos from 2 cameras: DJI FC3411 (2), DJI FC6310 (2)'],
      refusal: null,
      forced: false,
    });
    expect(run.stderr).toContain('warning: pre-flight: photos from 2 cameras: DJI FC3411 (2), DJI FC6310 (2)\n');
    expect(lines[1]).toMatchObject({ event: 'uploaded', uploaded: 4, manifest: { source: 'folder', action: 'write' } });
    expect(lines.at(-1)).toMatchObject({
      event: 'outcome',
      state: 'completed',
      photos: { found: 4, registered: 4, skipped: 0 },
    });
  }, 120_000);

  it.each([
    { name: 'an unknown command', args: ['frobnicate'], named: 'frobnicate' },
    { name: 'a mistyped command', args: ['uplaod', '.'], named: 'did you mean "upload"?' },
    { name: 'a mistyped option', args: ['status', '--limt', '3'], named: 'did you mean --limit?' },
    { name: 'upload without --asset', args: ['upload', '.', '--flight', 'f'], named: '--asset' },
    {
      name: 'an unknown processing parameter',
      args: ['upload', '.', '--asset', 'a', '--flight', 'f', '--set', 'processing_parameters.colour=red'],
      named: 'processing_parameters.colour',
    },
    {
      name: 'a processing parameter of the wrong type',
      args: ['upload', '.', '--asset', 'a', '--flight', 'f', '--set', 'processing_parameters.clipping_radius=far'],
      named: 'processing_parameters.clipping_radius',
    },
    { name: 'an unknown option', args: ['status', '--bogus'], named: '--bogus' },
    {
      name: 'retry of a folder that holds nothing',
      args: ['retry', 'no-such-tower/flight-0'],
      named: 'no-such-tower/flight-0',
    },
  ])(
    'bad usage, $name: exit 2, one line that names $named',
    async ({ args, named }) => {
      // Prepare: the arguments

      // Act
      const run = await cli(args, 30_000);

      // Assess
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(named);
      expect(run.stderr).toMatch(/^inspect-pipeline: [^\n]+\n$/);
      expect(run.stdout).toBe('');
    },
    60_000,
  );

  it('the development launcher (bin/inspect-pipeline-cli.js) runs the CLI from source from any folder: --help, --version and help upload exit 0, an unknown command exits 2', async () => {
    // Prepare
    const bin = join(PROJECT_ROOT, 'bin', 'inspect-pipeline-cli.js');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [bin, ...args],
          { cwd: tmpdir(), env: { ...process.env, ...env } },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
        );
      });

    // Act
    const help = await run(['--help']);
    const version = await run(['--version']);
    const uploadHelp = await run(['help', 'upload']);
    const unknown = await run(['frobnicate']);

    // Assess
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: inspect-pipeline <command>/);
    expect(help.stdout).toContain('retry ASSET/FLIGHT');
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^inspect-pipeline \d+\.\d+\.\d+ \(Node\.js v\d+[^)]*\)\n$/);
    expect(uploadHelp.code, uploadHelp.stderr).toBe(0);
    expect(uploadHelp.stdout).toMatch(/^Usage: inspect-pipeline upload DIR/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'inspect-pipeline: unknown command "frobnicate" (one of upload, status, retry, help; inspect-pipeline --help lists them)\n',
    );
  }, 60_000);

  it('an invalid --manifest: exit 2 with the manifest problem named, and nothing uploaded', async () => {
    // Prepare
    const dir = await temporaryFolder();
    await writeFiles(dir, { 'photos/DJI_0001.JPG': jpegBytes(2_048, 9) });
    const manifest = join(await temporaryFolder(), 'manifest.json');
    await writeFile(manifest, JSON.stringify({ inspection: { name: 'x' }, colour: 'red' }));

    // Act
    const run = await cli(
      ['upload', dir, '--asset', 'tower-bad', '--flight', 'flight-1', '--manifest', manifest],
      30_000,
    );

    // Assess
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`--manifest ${manifest}: manifest.json is invalid: unknown field "colour"`);
    expect(await listKeys('tower-bad/')).toEqual([]);
  }, 60_000);

  it('--profile: credentials and region from that profile (not the keys in the environment); upload --dry-run writes nothing', async () => {
    // Prepare: a profile with the local keys and a region; wrong keys in the environment, which s3rver refuses
    const aws = await temporaryFolder();
    await writeFiles(aws, {
      config: '[profile local-ops]\nregion = eu-west-3\n\n[profile other]\nregion = us-west-2\n',
      credentials: `[local-ops]\naws_access_key_id = ${served.accessKeyId}\naws_secret_access_key = ${served.secretAccessKey}\n`,
    });
    const dir = await temporaryFolder();
    await writeFiles(dir, { 'DJI_0001.JPG': jpegBytes(2_048, 41), 'notes.txt': 'not a photo\n' });
    const profileEnv = {
      ...env,
      AWS_CONFIG_FILE: join(aws, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'),
      AWS_ACCESS_KEY_ID: 'AKIDWRONGWRONGWRONG0',
      AWS_SECRET_ACCESS_KEY: 'wrong',
    };
    // --force: one photo is fewer than the pre-flight's minPhotos, which is not what this test is about.
    const args = [
      'upload',
      dir,
      '--asset',
      'tower-profile',
      '--flight',
      'flight-1',
      '--dry-run',
      '--json',
      '--force',
      '--endpoint',
      served.s3Endpoint,
    ];

    // Act
    const withoutProfile = await runOperatorCli(args, profileEnv, 30_000);
    const withProfile = await runOperatorCli([...args, '--profile', 'local-ops'], profileEnv, 30_000);
    const regionFlag = await runOperatorCli(
      [...args, '--profile', 'local-ops', '--region', 'ap-south-1'],
      profileEnv,
      30_000,
    );

    // Assess
    expect(withoutProfile.code, withoutProfile.stderr).toBe(1);
    expect(withoutProfile.stderr).toMatch(
      /\ninspect-pipeline: InvalidAccessKeyId: [^\n]+ \(run with --debug for the stack trace\)\n$/,
    );
    expect(withoutProfile.stderr).not.toMatch(/^\s+at /m);
    expect(withProfile.code, withProfile.stderr).toBe(0);
    expect(withProfile.stderr).toContain(
      'note: using the credentials of --profile local-ops, not AWS_ACCESS_KEY_ID from the environment\n',
    );
    expect(withProfile.stderr).not.toContain('Multiple credential sources');
    const report = jsonLines(withProfile.stdout);
    expect(report).toEqual([
      expect.objectContaining({
        event: 'dry-run',
        command: 'upload',
        region: 'eu-west-3',
        files: [
          { path: 'DJI_0001.JPG', size: 2_048, action: 'upload' },
          { path: 'notes.txt', size: 12, action: 'upload', skipReason: 'unsupported extension (.txt)' },
        ],
        manifest: expect.objectContaining({ action: 'write', source: 'flags' }),
      }),
    ]);
    expect(jsonLines(regionFlag.stdout)[0]).toMatchObject({ region: 'ap-south-1' });
    expect(await listKeys('tower-profile/')).toEqual([]);
  }, 90_000);

  it('an unknown --profile: exit 2, one line naming it and the closest profile, before any request', async () => {
    // Prepare
    const aws = await temporaryFolder();
    await writeFiles(aws, { config: '[profile local-ops]\nregion = eu-west-3\n' });
    const profileEnv = {
      ...env,
      AWS_CONFIG_FILE: join(aws, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'),
    };

    // Act
    const run = await runOperatorCli(
      ['status', '--profile', 'local-opps', '--endpoint', served.s3Endpoint],
      profileEnv,
      30_000,
    );

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `inspect-pipeline: --profile local-opps: no such profile in ${join(aws, 'config')} or ${join(aws, 'credentials')}; did you mean --profile local-ops?\n`,
    );
    expect(run.stdout).toBe('');
  }, 60_000);
});
