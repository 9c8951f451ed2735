import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import type { Targets } from '../../cli/targets';
import { EMBEDDED_S3_REGION, type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { ASSUMED_MAX_INSPECT_PREFIX_BYTES } from '../../src/batch/limits';
import { jpegBytes } from '../helpers/flights';
import { relativePathOfBytes } from '../helpers/long-paths';

/**
 * The operator CLI's pre-check (`upload`) applies the workflow's limits before the first byte goes up: the same
 * manifests are refused with the same messages, and a photo whose key in Inspect's bucket would pass 1,024 bytes is
 * named before it is uploaded. The CLI runs in this process (`main`), against the embedded S3 server.
 */

const DROP_BUCKET = 'drop-cli-limits';
const FIXTURES = join(__dirname, '..', 'fixtures', 'manifest-limits');

let embedded: EmbeddedS3;
let s3: S3Client;
const folders: string[] = [];

beforeAll(async () => {
  embedded = await startEmbeddedS3({ buckets: [DROP_BUCKET] });
  s3 = embedded.client();
});

afterAll(async () => {
  await embedded.close();
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A new folder holding `files`. */
async function folderWith(files: Record<string, Buffer | string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'inspect-cli-limits-'));
  folders.push(root);
  for (const [relativePath, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, relativePath)), { recursive: true });
    await writeFile(join(root, relativePath), body);
  }
  return root;
}

/** Runs the CLI with the embedded S3 server as its target; stdout and stderr collected. */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const streams = {
    stdout: (text: string) => void out.push(text),
    stderr: (text: string) => void err.push(text),
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
  };
  const targets: Targets = {
    s3,
    region: EMBEDDED_S3_REGION,
    dropBucket: DROP_BUCKET,
    workBucket: undefined,
    source: embedded.endpoint,
  };
  const code = await main(args, streams, async () => targets);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: DROP_BUCKET, Prefix: prefix }));
  return (listing.Contents ?? []).map((object) => object.Key!).sort();
}

describe('upload refuses what the workflow would refuse, before uploading anything', () => {
  it("a --manifest with a 300-character inspection.name: exit 2 with the workflow's message, nothing uploaded", async () => {
    // Prepare: the same file the workflow tests refuse
    const dir = await folderWith({ 'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1) });
    const manifest = join(FIXTURES, 'inspection-name-300.json');

    // Act
    const run = await cli(['upload', dir, '--asset', 'tower-cli-name', '--flight', 'flight-1', '--manifest', manifest]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `--manifest ${manifest}: manifest.json is invalid: inspection.name: 300 characters, over the limit of 255`,
    );
    expect(await keysUnder('tower-cli-name/')).toEqual([]);
  });

  it('a manifest.json in DIR saved as UTF-16: exit 2, "must be UTF-8 (found UTF-16)", nothing uploaded', async () => {
    // Prepare
    const dir = await folderWith({ 'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1) });
    await copyFile(join(FIXTURES, 'utf16le-bom.json'), join(dir, 'manifest.json'));

    // Act
    const run = await cli(['upload', dir, '--asset', 'tower-cli-utf16', '--flight', 'flight-1']);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(dir, 'manifest.json')}: manifest.json must be UTF-8 (found UTF-16)`);
    expect(await keysUnder('tower-cli-utf16/')).toEqual([]);
  });

  it('a --flight of 300 characters that would name the inspection (the manifest gives no inspection.name): exit 2, nothing uploaded', async () => {
    // Prepare
    const dir = await folderWith({ 'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1) });
    const manifest = join(await folderWith({}), 'manifest.json');
    await writeFile(manifest, JSON.stringify({ asset: { name: 'Tower 1' } }));

    // Act
    const run = await cli([
      'upload',
      dir,
      '--asset',
      'tower-cli-flight',
      '--flight',
      'f'.repeat(300),
      '--manifest',
      manifest,
    ]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'used as inspection.name: 300 characters, over the limit of 255 (set inspection.name in manifest.json)',
    );
    expect(await keysUnder('tower-cli-flight/')).toEqual([]);
  });

  it('a file whose key in the drop bucket would pass 1,024 bytes: exit 2 naming its size, nothing uploaded', async () => {
    // Prepare: "tower-cli-drop/flight-1/" is 24 bytes
    const dir = await folderWith({
      'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1),
      [relativePathOfBytes(1_001, 'DJI_0002.JPG')]: jpegBytes(2_048, 2),
    });

    // Act
    const run = await cli(['upload', dir, '--asset', 'tower-cli-drop', '--flight', 'flight-1']);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /DJI_0002\.JPG: its key in the drop bucket would be 1,025 bytes, over S3's limit of 1,024/,
    );
    expect(await keysUnder('tower-cli-drop/')).toEqual([]);
  });
});

describe("upload warns about a photo whose key in Inspect's bucket would pass 1,024 bytes", () => {
  it('names it with the estimated size (the longest prefix assumed) before uploading, and still uploads it', async () => {
    // Prepare: with the assumed 60-byte prefix and "/", a 980-byte path gives about 1,041 bytes; 963 bytes just fit
    const longPath = relativePathOfBytes(980, 'DJI_0002.JPG', 'a');
    const fitting = relativePathOfBytes(1_024 - ASSUMED_MAX_INSPECT_PREFIX_BYTES - 1, 'DJI_0003.JPG', 'b');
    const dir = await folderWith({
      'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1),
      [longPath]: jpegBytes(2_048, 2),
      [fitting]: jpegBytes(2_048, 3),
    });

    // Act: --force, since three photos are fewer than the pre-flight's minPhotos (not what this test is about)
    const run = await cli(['upload', dir, '--asset', 'tower-cli-keys', '--flight', 'flight-1', '--json', '--force']);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const reason = "key too long for Inspect's bucket: about 1,041 bytes with Inspect's prefix (limit 1,024)";
    expect(run.stderr).toContain(`warning: ${longPath} will be skipped: ${reason}\n`);
    expect(run.stderr).not.toContain('DJI_0003.JPG will be skipped');
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; warnings: unknown[]; uploaded: number });
    const summary = lines.find((line) => line.event === 'uploaded')!;
    expect(summary.warnings).toEqual([{ path: longPath, reason }]);
    expect(summary.uploaded).toBe(3);
    expect(await keysUnder('tower-cli-keys/')).toHaveLength(4);
    const written = await s3.send(
      new GetObjectCommand({ Bucket: DROP_BUCKET, Key: 'tower-cli-keys/flight-1/manifest.json' }),
    );
    expect(JSON.parse(await written.Body!.transformToString())).toMatchObject({ inspection: { name: 'flight-1' } });
  });

  it('with --skip-unsupported, does not upload it', async () => {
    // Prepare
    const longPath = relativePathOfBytes(980, 'DJI_0002.JPG', 'c');
    const dir = await folderWith({ 'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1), [longPath]: jpegBytes(2_048, 2) });

    // Act: --force, since one photo is fewer than the pre-flight's minPhotos (not what this test is about)
    const run = await cli([
      'upload',
      dir,
      '--asset',
      'tower-cli-skip',
      '--flight',
      'flight-1',
      '--skip-unsupported',
      '--force',
    ]);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      `${longPath} will be skipped: key too long for Inspect's bucket: about 1,041 bytes with Inspect's prefix (limit 1,024) (not uploaded: --skip-unsupported)`,
    );
    expect(await keysUnder('tower-cli-skip/')).toEqual([
      'tower-cli-skip/flight-1/DCIM/DJI_0001.JPG',
      'tower-cli-skip/flight-1/manifest.json',
    ]);
  });
});
