import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../local/cli-options';
import type { BatchState } from '../../src/batch-state/batch-state';
import { parseManifest } from '../../src/batch/manifest';
import { describeState, pickRun } from '../../cli/follow';
import { main } from '../../cli/main';
import { buildManifest, generationOf, nextGeneration, parseSetFlag } from '../../cli/manifest-text';
import { formatBytes, formatDuration, formatProgressLine, UploadProgress } from '../../cli/progress';
import { parseBatchArgument } from '../../cli/retry';
import { formatAge, formatPhotos, statusTable, visibleRecords } from '../../cli/status';
import { LOCAL_DROP_BUCKET, LOCAL_WORK_BUCKET, requireDropBucket, requireWorkBucket, resolveTargets } from '../../cli/targets';
import { alreadyThere, compareWithRemote, planManifest, skipReasonOf } from '../../cli/upload';
import { jpegBytes } from '../helpers/flights';

/** The pure parts of the operator CLI: manifests from flags, --set, resumability, ages, progress lines, tables. */

const md5 = (text: string | Buffer) => createHash('md5').update(text).digest('hex');

function record(overrides: Partial<BatchState>): BatchState {
  return {
    batchId: 'm-tower-1-flight-1-aaaa',
    bucket: 'drop',
    prefix: 'tower-1/flight-1/',
    asset: 'tower-1',
    flight: 'flight-1',
    state: 'completed',
    updatedAt: '2026-11-28T10:00:00.000Z',
    ...overrides,
  };
}

describe('buildManifest', () => {
  it('names the asset and the inspection after the folders, and passes the pipeline parser', () => {
    // Prepare
    const flags = { asset: 'tower-1', flight: 'flight-1' };

    // Act
    const text = buildManifest(flags);

    // Assess
    expect(JSON.parse(text)).toEqual({ asset: { name: 'tower-1' }, inspection: { name: 'flight-1' } });
    expect(parseManifest(text)).toEqual({ asset: { name: 'tower-1' }, inspection: { name: 'flight-1' } });
    expect(buildManifest(flags)).toBe(text);
  });

  it('--asset-id gives asset {id}; --set flags give processing_parameters with booleans and numbers', () => {
    // Prepare
    const sets = ['processing_parameters.detect_antennas=false', 'processing_parameters.clipping_radius=12.5'].map(parseSetFlag);

    // Act
    const manifest = JSON.parse(buildManifest({ asset: 'tower-1', flight: 'flight-1', assetId: 915, sets }));

    // Assess
    expect(manifest).toEqual({
      asset: { id: 915 },
      inspection: { name: 'flight-1' },
      processing_parameters: { detect_antennas: false, clipping_radius: 12.5 },
    });
  });

  it('refuses the same parameter set twice, naming the flag', () => {
    // Prepare
    const sets = ['processing_parameters.is_video=true', 'processing_parameters.is_video=false'].map(parseSetFlag);

    // Act
    const build = () => buildManifest({ asset: 'a', flight: 'f', sets });

    // Assess
    expect(build).toThrow(UsageError);
    expect(build).toThrow(/--set processing_parameters\.is_video=false: .*set twice/);
  });
});

describe('parseSetFlag', () => {
  it.each([
    { flag: 'processing_parameters.is_video=true', key: 'is_video', value: true },
    { flag: 'processing_parameters.generate_point_cloud=false', key: 'generate_point_cloud', value: false },
    { flag: 'processing_parameters.clipping_radius=0', key: 'clipping_radius', value: 0 },
    { flag: 'processing_parameters.clipping_radius=2.5', key: 'clipping_radius', value: 2.5 },
  ])('$flag gives $key = $value', ({ flag, key, value }) => {
    // Prepare: the flag

    // Act
    const parsed = parseSetFlag(flag);

    // Assess
    expect(parsed).toEqual({ key, value, flag });
  });

  it.each([
    { flag: 'processing_parameters.colour=red', message: /--set processing_parameters\.colour=red: unknown processing parameter "colour" \(one of is_video, /u },
    { flag: 'processing_parameters.clipping_radius=far', message: /--set processing_parameters\.clipping_radius=far: processing_parameters\.clipping_radius: expected number/ },
    { flag: 'processing_parameters.clipping_radius=-1', message: /clipping_radius: must be >= 0/ },
    { flag: 'processing_parameters.detect_antennas=yes', message: /detect_antennas: expected boolean/ },
    { flag: 'detect_antennas=false', message: /--set detect_antennas=false: expected processing_parameters\.KEY=VALUE/ },
    { flag: 'processing_parameters.is_video', message: /expected processing_parameters\.KEY=VALUE/ },
  ])('refuses $flag with a UsageError naming it', ({ flag, message }) => {
    // Prepare: the flag

    // Act
    const parse = () => parseSetFlag(flag);

    // Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe('manifest generations', () => {
  it('nextGeneration keeps the JSON and changes the bytes (so the ETag) at every generation', () => {
    // Prepare
    const first = buildManifest({ asset: 'tower-1', flight: 'flight-1' });

    // Act
    const second = nextGeneration(first);
    const third = nextGeneration(second);
    const fromEmpty = nextGeneration('{}');

    // Assess
    expect(new Set([md5(first), md5(second), md5(third)]).size).toBe(3);
    expect([second, third].map((text) => JSON.parse(text))).toEqual([JSON.parse(first), JSON.parse(first)]);
    expect([generationOf(first), generationOf(second), generationOf(third)]).toEqual([1, 2, 3]);
    expect(fromEmpty).toBe('{}\n');
    expect(parseManifest(third)).toEqual(parseManifest(first));
  });

  it('planManifest: writes a new or different manifest, leaves an identical one when nothing was uploaded, else writes its next generation', () => {
    // Prepare
    const text = buildManifest({ asset: 'tower-1', flight: 'flight-1' });
    const reformatted = JSON.stringify(JSON.parse(text));
    const other = buildManifest({ asset: 'tower-1', flight: 'flight-2' });

    // Act
    const plans = {
      none: planManifest(text, undefined, 0),
      different: planManifest(text, other, 0),
      unchanged: planManifest(text, reformatted, 0),
      again: planManifest(text, text, 3),
    };

    // Assess
    expect(plans.none).toEqual({ action: 'write', text });
    expect(plans.different).toEqual({ action: 'write', text });
    expect(plans.unchanged).toEqual({ action: 'unchanged', text: reformatted });
    expect(plans.again.action).toBe('new-generation');
    expect(plans.again.text).not.toBe(text);
    expect(JSON.parse(plans.again.text)).toEqual(JSON.parse(text));
  });
});

describe('resumability', () => {
  const body = jpegBytes(1_000, 1);
  const local = { size: body.length, md5: md5(body), sha256: createHash('sha256').update(body).digest('hex') };

  it.each([
    { name: 'no object', remote: undefined, verdict: 'different' },
    { name: 'another size', remote: { size: 999, eTag: `"${local.md5}"` }, verdict: 'different' },
    { name: 'the same size and MD5 ETag (quoted)', remote: { size: 1_000, eTag: `"${local.md5}"` }, verdict: 'same' },
    { name: 'the same size, another MD5, metadata not read', remote: { size: 1_000, eTag: `"${md5('other')}"` }, verdict: 'unknown' },
    { name: 'a multipart ETag, metadata not read', remote: { size: 1_000, eTag: '"0123456789abcdef0123456789abcdef-3"' }, verdict: 'unknown' },
    { name: 'a multipart ETag and the same SHA-256', remote: { size: 1_000, eTag: '"0123-3"', sha256: local.sha256 }, verdict: 'same' },
    { name: 'a multipart ETag and another SHA-256', remote: { size: 1_000, eTag: '"0123-3"', sha256: 'f'.repeat(64) }, verdict: 'different' },
    { name: 'a multipart ETag and no SHA-256 metadata', remote: { size: 1_000, eTag: '"0123-3"', sha256: null }, verdict: 'different' },
  ])('compareWithRemote: $name -> $verdict', ({ remote, verdict }) => {
    // Prepare: the local digests and the listed object

    // Act
    const result = compareWithRemote(local, remote);

    // Assess
    expect(result).toBe(verdict);
  });

  it.each([
    { name: 'the same SHA-256 in the metadata', metadata: { sha256: local.sha256 }, same: true },
    { name: 'another SHA-256', metadata: { sha256: '0'.repeat(64) }, same: false },
    { name: 'no metadata', metadata: {}, same: false },
  ])('alreadyThere reads the metadata of a multipart object (HeadObject): $name', async ({ metadata, same }) => {
    // Prepare
    const sent: unknown[] = [];
    const s3 = {
      send: async (command: unknown) => {
        sent.push(command);
        return { ContentLength: 1_000, ETag: '"abc-2"', Metadata: metadata };
      },
    } as unknown as S3Client;

    // Act
    const result = await alreadyThere(s3, 'drop', 'tower-1/flight-1/BIG.JPG', local, { size: 1_000, eTag: '"abc-2"' });

    // Assess
    expect(result).toBe(same);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(HeadObjectCommand);
    expect((sent[0] as HeadObjectCommand).input).toEqual({ Bucket: 'drop', Key: 'tower-1/flight-1/BIG.JPG' });
  });

  it('alreadyThere sends nothing when the listing decides', async () => {
    // Prepare
    const s3 = { send: async () => expect.unreachable('no request expected') } as unknown as S3Client;

    // Act
    const results = [
      await alreadyThere(s3, 'drop', 'k', local, { size: 1_000, eTag: local.md5 }),
      await alreadyThere(s3, 'drop', 'k', local, { size: 5, eTag: local.md5 }),
      await alreadyThere(s3, 'drop', 'k', local, undefined),
    ];

    // Assess
    expect(results).toEqual([true, false, false]);
  });
});

describe('skipReasonOf (the warnings before uploading)', () => {
  it.each([
    { path: 'DCIM/notes.txt', size: 10, bytes: Buffer.from('notes'), manifest: {}, reason: 'unsupported extension (.txt)' },
    { path: 'DCIM/DJI_0001.JPG', size: 0, bytes: undefined, manifest: {}, reason: 'empty file (0 bytes)' },
    { path: 'DCIM/fake.jpg', size: 10, bytes: Buffer.from('not a jpeg'), manifest: {}, reason: 'content is not a JPEG image (named .jpg)' },
    { path: 'DCIM/clip.MP4', size: 10, bytes: undefined, manifest: {}, reason: 'video file but processing_parameters.is_video is false' },
    { path: 'DCIM/DJI_0002.JPG', size: 2_048, bytes: jpegBytes(16), manifest: { images: ['DCIM/DJI_0001.JPG'] }, reason: 'not listed in manifest.json images' },
    { path: 'DCIM/DJI_0001.JPG', size: 2_048, bytes: jpegBytes(16), manifest: {}, reason: undefined },
  ])('$path -> $reason', ({ path, size, bytes, manifest, reason }) => {
    // Prepare: the file and the manifest

    // Act
    const result = skipReasonOf({ relativePath: path, size }, bytes, manifest);

    // Assess
    expect(result).toBe(reason);
  });
});

describe('status', () => {
  it.each([
    { seconds: 0, age: '0s' },
    { seconds: 59.9, age: '59s' },
    { seconds: 180, age: '3m' },
    { seconds: 3_599, age: '59m' },
    { seconds: 7_300, age: '2h' },
    { seconds: 3 * 86_400 + 5, age: '3d' },
    { seconds: -4, age: '0s' },
  ])('formatAge($seconds) = $age', ({ seconds, age }) => {
    // Prepare: the seconds

    // Act
    const text = formatAge(seconds);

    // Assess
    expect(text).toBe(age);
  });

  it('visibleRecords hides closed waiter records and other assets, keeps the newest `limit`, adds ageSeconds', () => {
    // Prepare
    const now = Date.parse('2026-11-28T10:10:00.000Z');
    const records = [
      record({ batchId: 'old', updatedAt: '2026-11-28T10:00:00.000Z' }),
      record({ batchId: 'waiter-closed', state: 'collecting', closedInto: 'q-x', updatedAt: '2026-11-28T10:09:00.000Z' }),
      record({ batchId: 'waiter-live', state: 'collecting', photos: { found: 4, skipped: 0 }, updatedAt: '2026-11-28T10:08:00.000Z' }),
      record({ batchId: 'new', updatedAt: '2026-11-28T10:05:00.000Z' }),
      record({ batchId: 'other', asset: 'tower-2', prefix: 'tower-2/flight-1/', updatedAt: '2026-11-28T10:09:30.000Z' }),
    ];

    // Act
    const all = visibleRecords(records, { limit: 10 }, now);
    const limited = visibleRecords(records, { asset: 'tower-1', limit: 2 }, now);

    // Assess
    expect(all.map((entry) => entry.batchId)).toEqual(['other', 'waiter-live', 'new', 'old']);
    expect(limited.map((entry) => [entry.batchId, entry.ageSeconds])).toEqual([
      ['waiter-live', 120],
      ['new', 300],
    ]);
  });

  it('statusTable: aligned columns, "timed out", photo counts, the link, and the error line under a failed batch', () => {
    // Prepare
    const rows = [
      { ...record({ photos: { found: 120, copied: 118, registered: 118, skipped: 2 }, inspection: { id: 1417, url: 'https://inspect.pix4d.com/project/745411/' } }), ageSeconds: 180 },
      { ...record({ prefix: 'tower-22/flight-3/', state: 'failed', photos: { found: 3, skipped: 0 }, error: { stage: 'copy', message: 'AccessDenied' } }), ageSeconds: 7_200 },
      { ...record({ prefix: 'tower-3/f/', state: 'timed_out' }), ageSeconds: 5 },
    ];

    // Act
    const lines = statusTable(rows);

    // Assess
    expect(lines).toEqual([
      'BATCH              STATE      PHOTOS              AGE  LINK',
      'tower-1/flight-1   completed  118/120, 2 skipped  3m   https://inspect.pix4d.com/project/745411/',
      'tower-22/flight-3  failed     -/3                 2h   -',
      '  error at copy: AccessDenied',
      'tower-3/f          timed out  -                   5s   -',
    ]);
  });

  it('formatPhotos while collecting counts what arrived', () => {
    // Prepare
    const collecting = record({ state: 'collecting', photos: { found: 24, skipped: 0 } });

    // Act
    const text = formatPhotos(collecting);

    // Assess
    expect(text).toBe('24 so far');
  });
});

describe('progress', () => {
  it('formatProgressLine in flight: files, bytes, rate, time left, files already there', () => {
    // Prepare
    const snapshot = { doneFiles: 12, totalFiles: 62, doneBytes: 40 * 1024 ** 2, totalBytes: 80 * 1024 ** 2, skippedFiles: 3, sentBytes: 20 * 1024 ** 2, elapsedSeconds: 2 };

    // Act
    const line = formatProgressLine(snapshot);

    // Assess
    expect(line).toBe('[############............]  12/62 files  40.0 MiB/80.0 MiB  10.0 MiB/s  ETA 4.0s  (3 already there)');
  });

  it('formatProgressLine at the end, before a rate can be judged, and when every file was already there', () => {
    // Prepare
    const done = { doneFiles: 5, totalFiles: 5, doneBytes: 5_000, totalBytes: 5_000, skippedFiles: 0, sentBytes: 5_000, elapsedSeconds: 125 };
    const early = { ...done, doneFiles: 1, doneBytes: 1_000, sentBytes: 1_000, elapsedSeconds: 0.1 };
    const allThere = { ...done, skippedFiles: 5, sentBytes: 0, elapsedSeconds: 2 };

    // Act
    const lines = [formatProgressLine(done), formatProgressLine(early), formatProgressLine(allThere)];

    // Assess
    expect(lines).toEqual([
      '[########################]  5/5 files  4.9 KiB/4.9 KiB  40 B/s  in 2m05s',
      '[####....................]  1/5 files  1000 B/4.9 KiB  -- /s  ETA --',
      '[########################]  5/5 files  4.9 KiB/4.9 KiB  in 2.0s  (5 already there)',
    ]);
  });

  it.each([
    { bytes: 512, text: '512 B' },
    { bytes: 3_482, text: '3.4 KiB' },
    { bytes: 81.2 * 1024 ** 2, text: '81.2 MiB' },
    { bytes: 1.5 * 1024 ** 3, text: '1.50 GiB' },
  ])('formatBytes($bytes) = $text', ({ bytes, text }) => {
    // Prepare: the bytes

    // Act
    const formatted = formatBytes(bytes);

    // Assess
    expect(formatted).toBe(text);
  });

  it.each([
    { seconds: 0.44, text: '0.4s' },
    { seconds: 12.4, text: '12s' },
    { seconds: 185, text: '3m05s' },
    { seconds: 7_800, text: '2h10m' },
    { seconds: Number.POSITIVE_INFINITY, text: '--' },
  ])('formatDuration($seconds) = $text', ({ seconds, text }) => {
    // Prepare: the seconds

    // Act
    const formatted = formatDuration(seconds);

    // Assess
    expect(formatted).toBe(text);
  });

  it('UploadProgress, not a terminal: a plain line per tenth of the way, the last one at the end only', () => {
    // Prepare
    const written: string[] = [];
    let clock = 0;
    const progress = new UploadProgress((text) => written.push(text), false, 20, 20_000, () => clock);

    // Act
    for (let file = 0; file < 20; file++) {
      clock += 100;
      if (file < 5) progress.skipped(1_000);
      else {
        progress.sent(1_000);
        progress.uploaded();
      }
    }
    progress.finish();

    // Assess
    expect(written).toHaveLength(10);
    expect(written.every((line) => line.endsWith('\n') && !line.includes('\r'))).toBe(true);
    expect(written[0]).toContain(' 2/20 files');
    expect(written.at(-1)).toBe('[########################]  20/20 files  19.5 KiB/19.5 KiB  7.3 KiB/s  in 2.0s  (5 already there)\n');
  });

  it('UploadProgress on a terminal: redraws one line with \\r, ends it with a newline', () => {
    // Prepare
    const written: string[] = [];
    let clock = 0;
    const progress = new UploadProgress((text) => written.push(text), true, 3, 3_000, () => clock);

    // Act
    for (let file = 0; file < 3; file++) {
      clock += 200;
      progress.sent(1_000);
      progress.uploaded();
    }
    progress.finish();

    // Assess
    expect(written.length).toBeGreaterThan(1);
    expect(written.every((text) => text.startsWith('\r'))).toBe(true);
    expect(written.slice(0, -1).every((text) => !text.includes('\n'))).toBe(true);
    expect(written.at(-1)).toMatch(/^\r\[#{24}\]  3\/3 files .*\n$/);
  });
});

describe('following a batch', () => {
  it('pickRun takes the run named after the manifest; else the newest live record of the folder since the manifest', () => {
    // Prepare
    const since = new Date('2026-11-28T10:00:00.000Z');
    const records = [
      record({ batchId: 'earlier-run', updatedAt: '2026-11-28T09:59:00.000Z' }),
      record({ batchId: 'waiter', state: 'collecting', closedInto: 'closed-by-manifest', updatedAt: '2026-11-28T10:00:05.000Z' }),
      record({ batchId: 'this-run', state: 'copying', updatedAt: '2026-11-28T10:00:02.000Z' }),
      record({ batchId: 'other-folder', prefix: 'tower-2/flight-1/', updatedAt: '2026-11-28T10:00:09.000Z' }),
    ];

    // Act
    const byId = pickRun(records, 'tower-1/flight-1/', 'earlier-run', since);
    const byTime = pickRun(records, 'tower-1/flight-1/', 'not-recorded', since);
    const none = pickRun(records.slice(0, 2), 'tower-1/flight-1/', undefined, since);

    // Assess
    expect(byId?.batchId).toBe('earlier-run');
    expect(byTime?.batchId).toBe('this-run');
    expect(none).toBeUndefined();
  });

  it('describeState says each stage for people', () => {
    // Prepare
    const states = [
      record({ state: 'copying', photos: { found: 14, skipped: 1 }, inspection: { id: 7, url: null } }),
      record({ state: 'completed', photos: { found: 14, copied: 13, registered: 13, skipped: 1 } }),
      record({ state: 'failed', error: { stage: 'copy', message: 'AccessDenied' } }),
    ];

    // Act
    const lines = states.map(describeState);

    // Assess
    expect(lines).toEqual([
      'copying 13 photos to Pix4Dinspect, 1 skipped (inspection 7)',
      'completed: 13/14 photos registered, 1 skipped',
      'failed at stage copy: AccessDenied',
    ]);
  });
});

describe('arguments and targets', () => {
  it.each([
    { text: 'tower-1/flight-1', prefix: 'tower-1/flight-1/' },
    { text: 'tower-1/flight-1/', prefix: 'tower-1/flight-1/' },
  ])('parseBatchArgument($text)', ({ text, prefix }) => {
    // Prepare: the argument

    // Act
    const parsed = parseBatchArgument(text);

    // Assess
    expect(parsed).toEqual({ asset: 'tower-1', flight: 'flight-1', prefix });
  });

  it.each(['tower-1', 'a/b/c', '/flight-1', ''])('parseBatchArgument refuses "%s"', (text) => {
    // Prepare: the argument

    // Act
    const parse = () => parseBatchArgument(text);

    // Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(/ASSET\/FLIGHT/);
  });

  it('--endpoint alone means the local mode buckets; --stack reads the outputs; explicit names win', async () => {
    // Prepare
    const stacks: string[] = [];
    const readStack = async (stack: string, region: string) => {
      stacks.push(`${stack}@${region}`);
      return { dropBucket: 'stack-drop', workBucket: 'stack-work' };
    };

    // Act
    const local = await resolveTargets({ endpoint: 'http://127.0.0.1:4569' }, readStack, {});
    const stack = await resolveTargets({ stack: 'inspect-pipeline', region: 'eu-west-1' }, readStack, {});
    const explicit = await resolveTargets({ stack: 'inspect-pipeline', bucket: 'mine' }, readStack, { AWS_REGION: 'eu-central-1' });
    const bare = await resolveTargets({}, readStack, {});

    // Assess
    expect([local.dropBucket, local.workBucket, local.region]).toEqual([LOCAL_DROP_BUCKET, LOCAL_WORK_BUCKET, 'us-east-1']);
    expect([stack.dropBucket, stack.workBucket, stack.region]).toEqual(['stack-drop', 'stack-work', 'eu-west-1']);
    expect([explicit.dropBucket, explicit.workBucket]).toEqual(['mine', 'stack-work']);
    expect(stacks).toEqual(['inspect-pipeline@eu-west-1', 'inspect-pipeline@eu-central-1']);
    expect(() => requireDropBucket(bare)).toThrow(/--bucket BUCKET, --stack STACK .* or --endpoint URL/);
    expect(() => requireWorkBucket(bare, 'status')).toThrow(/status needs the work bucket.*--stack STACK or --work-bucket BUCKET/);
    for (const targets of [local, stack, explicit, bare]) targets.s3.destroy();
  });

  it('refuses an --endpoint that is not a URL', async () => {
    // Prepare
    const options = { endpoint: '127.0.0.1:4569' };

    // Act
    const resolving = resolveTargets(options, async () => expect.unreachable('no stack'), {});

    // Assess
    await expect(resolving).rejects.toThrow(/--endpoint must be an http\(s\) URL/);
  });

  it.each([
    { args: ['frobnicate'], named: 'unknown command "frobnicate"' },
    { args: ['upload', 'dir', '--flight', 'f'], named: '--asset NAME is required' },
    { args: ['upload', 'dir', '--asset', 'a/b', '--flight', 'f'], named: '--asset must be one folder name' },
    { args: ['upload', '--asset', 'a', '--flight', 'f'], named: 'DIR' },
    { args: ['upload', 'dir', '--asset', 'a', '--flight', 'f', '--asset-id', '1.5'], named: '--asset-id' },
    { args: ['upload', 'dir', '--asset', 'a', '--flight', 'f', '--timeout', '0'], named: '--timeout' },
    { args: ['status', '--limit', 'many'], named: '--limit' },
    { args: ['status', '--unknown'], named: '--unknown' },
    { args: ['retry'], named: 'ASSET/FLIGHT' },
  ])('main $args: exit 2, "$named" on stderr, nothing on stdout', async ({ args, named }) => {
    // Prepare
    const out: string[] = [];
    const err: string[] = [];
    const streams = { stdout: (text: string) => void out.push(text), stderr: (text: string) => void err.push(text), stdoutIsTerminal: false, stderrIsTerminal: false };

    // Act
    const code = await main(args, streams, async () => expect.unreachable('no targets for bad usage'));

    // Assess
    expect(code).toBe(2);
    expect(err.join('')).toContain(named);
    expect(out).toEqual([]);
  });
});
