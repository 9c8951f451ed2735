import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ProfileFiles, requireProfile } from '../../cli/aws-profile';
import { describeState, manifestRunId, pickRun } from '../../cli/follow';
import { interruptedMessage, main } from '../../cli/main';
import { buildManifest, generationOf, nextGeneration, parseSetFlag } from '../../cli/manifest-text';
import { isYes, type Streams } from '../../cli/output';
import { formatBytes, formatDuration, formatProgressLine, UploadProgress } from '../../cli/progress';
import { confirmationQuestion, parseBatchArgument } from '../../cli/retry';
import { formatAge, formatPhotos, statusTable, visibleRecords } from '../../cli/status';
import {
  parsePreflightThresholds,
  pickPipelineOutputs,
  regionOf,
  requireDropBucket,
  requireWorkBucket,
  resolveTargets,
  type Targets,
} from '../../cli/targets';
import { alreadyThere, compareWithRemote, planManifest, skipReasonOf } from '../../cli/upload';
import { type PipelineOutputSources, pipelineOutputValues } from '../../lib/pipeline-outputs';
import { UsageError } from '../../local/cli-options';
import { LOCAL_BUCKETS } from '../../local/pipeline/local-buckets';
import { EMBEDDED_S3_REGION, type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { ManifestError, parseManifest, parseManifestBytes } from '../../src/batch/manifest';
import { type BatchState, BatchStateStore } from '../../src/batch-state/batch-state';
import { DEFAULT_PREFLIGHT_THRESHOLDS } from '../../src/preflight/preflight';
import { type DroppedFile, geotaggedPhotos, jpegBytes } from '../helpers/flights';

/**
 * The parts of the operator CLI, in this process: manifests from flags, --set, resumability, ages, progress lines,
 * tables, the command-line conventions, profiles and regions, stack outputs (CloudFormation mocked: there is no
 * local CloudFormation), and `main` against the embedded S3 server for dry runs and retry's confirmation.
 */

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
    const sets = ['processing_parameters.detect_antennas=false', 'processing_parameters.clipping_radius=12.5'].map(
      parseSetFlag,
    );

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
    {
      flag: 'processing_parameters.colour=red',
      message: /--set processing_parameters\.colour=red: unknown processing parameter "colour" \(one of is_video, /u,
    },
    {
      flag: 'processing_parameters.clipping_radius=far',
      message:
        /--set processing_parameters\.clipping_radius=far: processing_parameters\.clipping_radius: expected number/,
    },
    { flag: 'processing_parameters.clipping_radius=-1', message: /clipping_radius: must be >= 0/ },
    { flag: 'processing_parameters.detect_antennas=yes', message: /detect_antennas: expected boolean/ },
    {
      flag: 'detect_antennas=false',
      message: /--set detect_antennas=false: expected processing_parameters\.KEY=VALUE/,
    },
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
    {
      name: 'the same size, another MD5, metadata not read',
      remote: { size: 1_000, eTag: `"${md5('other')}"` },
      verdict: 'unknown',
    },
    {
      name: 'a multipart ETag, metadata not read',
      remote: { size: 1_000, eTag: '"0123456789abcdef0123456789abcdef-3"' },
      verdict: 'unknown',
    },
    {
      name: 'a multipart ETag and the same SHA-256',
      remote: { size: 1_000, eTag: '"0123-3"', sha256: local.sha256 },
      verdict: 'same',
    },
    {
      name: 'a multipart ETag and another SHA-256',
      remote: { size: 1_000, eTag: '"0123-3"', sha256: 'f'.repeat(64) },
      verdict: 'different',
    },
    {
      name: 'a multipart ETag and no SHA-256 metadata',
      remote: { size: 1_000, eTag: '"0123-3"', sha256: null },
      verdict: 'different',
    },
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
    {
      path: 'DCIM/notes.txt',
      size: 10,
      bytes: Buffer.from('notes'),
      manifest: {},
      reason: 'unsupported extension (.txt)',
    },
    { path: 'DCIM/DJI_0001.JPG', size: 0, bytes: undefined, manifest: {}, reason: 'empty file (0 bytes)' },
    {
      path: 'DCIM/fake.jpg',
      size: 10,
      bytes: Buffer.from('not a jpeg'),
      manifest: {},
      reason: 'content is not a JPEG image (named .jpg)',
    },
    {
      path: 'DCIM/clip.MP4',
      size: 10,
      bytes: undefined,
      manifest: {},
      reason: 'video file but processing_parameters.is_video is false',
    },
    {
      path: 'DCIM/DJI_0002.JPG',
      size: 2_048,
      bytes: jpegBytes(16),
      manifest: { images: ['DCIM/DJI_0001.JPG'] },
      reason: 'not listed in manifest.json images',
    },
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
      record({
        batchId: 'waiter-closed',
        state: 'collecting',
        closedInto: 'q-x',
        updatedAt: '2026-11-28T10:09:00.000Z',
      }),
      record({
        batchId: 'waiter-live',
        state: 'collecting',
        photos: { found: 4, skipped: 0 },
        updatedAt: '2026-11-28T10:08:00.000Z',
      }),
      record({ batchId: 'new', updatedAt: '2026-11-28T10:05:00.000Z' }),
      record({
        batchId: 'other',
        asset: 'tower-2',
        prefix: 'tower-2/flight-1/',
        updatedAt: '2026-11-28T10:09:30.000Z',
      }),
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
      {
        ...record({
          photos: { found: 120, copied: 118, registered: 118, skipped: 2 },
          inspection: { id: 1417, url: 'https://inspect.pix4d.com/project/745411/' },
        }),
        ageSeconds: 180,
      },
      {
        ...record({
          prefix: 'tower-22/flight-3/',
          state: 'failed',
          photos: { found: 3, skipped: 0 },
          error: { stage: 'copy', message: 'AccessDenied' },
        }),
        ageSeconds: 7_200,
      },
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
    const snapshot = {
      doneFiles: 12,
      totalFiles: 62,
      doneBytes: 40 * 1024 ** 2,
      totalBytes: 80 * 1024 ** 2,
      skippedFiles: 3,
      sentBytes: 20 * 1024 ** 2,
      elapsedSeconds: 2,
    };

    // Act
    const line = formatProgressLine(snapshot);

    // Assess
    expect(line).toBe(
      '[############............]  12/62 files  40.0 MiB/80.0 MiB  10.0 MiB/s  ETA 4.0s  (3 already there)',
    );
  });

  it('formatProgressLine at the end, before a rate can be judged, and when every file was already there', () => {
    // Prepare
    const done = {
      doneFiles: 5,
      totalFiles: 5,
      doneBytes: 5_000,
      totalBytes: 5_000,
      skippedFiles: 0,
      sentBytes: 5_000,
      elapsedSeconds: 125,
    };
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
    const progress = new UploadProgress(
      (text) => written.push(text),
      false,
      20,
      20_000,
      () => clock,
    );

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
    expect(written.at(-1)).toBe(
      '[########################]  20/20 files  19.5 KiB/19.5 KiB  7.3 KiB/s  in 2.0s  (5 already there)\n',
    );
  });

  it('UploadProgress on a terminal: redraws one line with \\r, ends it with a newline', () => {
    // Prepare
    const written: string[] = [];
    let clock = 0;
    const progress = new UploadProgress(
      (text) => written.push(text),
      true,
      3,
      3_000,
      () => clock,
    );

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
    expect(written.at(-1)).toMatch(/^\r\[#{24}\] {2}3\/3 files .*\n$/);
  });
});

describe('progress that adds up', () => {
  it('UploadProgress: files left out (--skip-unsupported) count as done, so that the bar ends at every file of DIR', () => {
    // Prepare: 13 files, 5 left out, 2 of the 8 sent already there
    const written: string[] = [];
    let clock = 0;
    const progress = new UploadProgress(
      (text) => written.push(text),
      false,
      13,
      8_000,
      () => clock,
    );

    // Act
    progress.leftOut(5);
    for (let file = 0; file < 8; file++) {
      clock += 250;
      if (file < 2) progress.skipped(1_000);
      else {
        progress.sent(1_000);
        progress.uploaded();
      }
    }
    progress.finish();

    // Assess
    expect(progress.snapshot()).toMatchObject({
      doneFiles: 13,
      totalFiles: 13,
      doneBytes: 8_000,
      totalBytes: 8_000,
      skippedFiles: 2,
      leftOutFiles: 5,
    });
    expect(written.at(-1)).toBe(
      '[########################]  13/13 files  7.8 KiB/7.8 KiB  2.9 KiB/s  in 2.0s  (2 already there, 5 left out)\n',
    );
  });

  it('formatProgressLine names the files left out beside those already there', () => {
    // Prepare
    const snapshot = {
      doneFiles: 9,
      totalFiles: 13,
      doneBytes: 4_000,
      totalBytes: 8_000,
      skippedFiles: 0,
      leftOutFiles: 5,
      sentBytes: 4_000,
      elapsedSeconds: 1,
    };

    // Act
    const line = formatProgressLine(snapshot);

    // Assess
    expect(line).toBe('[############............]  9/13 files  3.9 KiB/7.8 KiB  3.9 KiB/s  ETA 1.0s  (5 left out)');
  });

  it('describeState and formatPhotos: registered, skipped and not registered add up to the photos found', () => {
    // Prepare
    const whole = record({ photos: { found: 14, copied: 13, registered: 13, skipped: 1 } });
    const short = record({ photos: { found: 14, copied: 13, registered: 11, skipped: 1 } });

    // Act
    const lines = [describeState(whole), describeState(short), formatPhotos(whole), formatPhotos(short)];

    // Assess
    expect(lines).toEqual([
      'completed: 13/14 photos registered, 1 skipped',
      'completed: 11/14 photos registered, 1 skipped, 2 not registered',
      '13/14, 1 skipped',
      '11/14, 1 skipped, 2 not registered',
    ]);
  });
});

describe('following a batch', () => {
  it('pickRun takes the run named after the manifest; else the newest live record of the folder since the manifest', () => {
    // Prepare
    const since = new Date('2026-11-28T10:00:00.000Z');
    const records = [
      record({ batchId: 'earlier-run', updatedAt: '2026-11-28T09:59:00.000Z' }),
      record({
        batchId: 'waiter',
        state: 'collecting',
        closedInto: 'closed-by-manifest',
        updatedAt: '2026-11-28T10:00:05.000Z',
      }),
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
    const readStack = async ({ stack, region }: { stack: string; region: string }) => {
      stacks.push(`${stack}@${region}`);
      return { dropBucket: 'stack-drop', workBucket: 'stack-work' };
    };
    const profiles = async () => NO_PROFILES;

    // Act
    const local = await resolveTargets({ endpoint: 'http://127.0.0.1:4569' }, { readStack, env: {}, profiles });
    const stack = await resolveTargets(
      { stack: 'inspect-pipeline', region: 'eu-west-1' },
      { readStack, env: {}, profiles },
    );
    const explicit = await resolveTargets(
      { stack: 'inspect-pipeline', bucket: 'mine' },
      { readStack, env: { AWS_REGION: 'eu-central-1' }, profiles },
    );
    const bare = await resolveTargets({}, { readStack, env: {}, profiles });

    // Assess
    expect([local.dropBucket, local.workBucket, local.region]).toEqual([
      LOCAL_BUCKETS.drop,
      LOCAL_BUCKETS.work,
      'us-east-1',
    ]);
    expect([stack.dropBucket, stack.workBucket, stack.region]).toEqual(['stack-drop', 'stack-work', 'eu-west-1']);
    expect([explicit.dropBucket, explicit.workBucket]).toEqual(['mine', 'stack-work']);
    expect(stacks).toEqual(['inspect-pipeline@eu-west-1', 'inspect-pipeline@eu-central-1']);
    expect(() => requireDropBucket(bare)).toThrow(/--bucket BUCKET, --stack STACK .* or --endpoint URL/);
    expect(() => requireWorkBucket(bare, 'status')).toThrow(
      /status needs the work bucket.*--stack STACK or --work-bucket BUCKET/,
    );
    for (const targets of [local, stack, explicit, bare]) targets.s3.destroy();
  });

  it('refuses an --endpoint that is not a URL', async () => {
    // Prepare
    const options = { endpoint: '127.0.0.1:4569' };

    // Act
    const resolving = resolveTargets(options, {
      readStack: async () => expect.unreachable('no stack'),
      env: {},
      profiles: async () => NO_PROFILES,
    });

    // Assess
    await expect(resolving).rejects.toThrow(/--endpoint must be an http\(s\) URL/);
  });

  it.each([
    { args: ['frobnicate'], named: 'unknown command "frobnicate"' },
    { args: ['uplaod', 'dir'], named: 'unknown command "uplaod"; did you mean "upload"?' },
    { args: ['help', 'stauts'], named: 'unknown command "stauts"; did you mean "status"?' },
    { args: [], named: 'no command given' },
    { args: ['--endpoint', 'http://x', 'status'], named: '--endpoint before the command' },
    { args: ['upload', 'dir', '--flight', 'f'], named: '--asset NAME is required' },
    { args: ['upload', 'dir', '--asset', 'a/b', '--flight', 'f'], named: '--asset must be one folder name' },
    { args: ['upload', '--asset', 'a', '--flight', 'f'], named: 'DIR' },
    { args: ['upload', 'dir', '--asset', 'a', '--flight', 'f', '--asset-id', '1.5'], named: '--asset-id' },
    { args: ['upload', 'dir', '--asset', 'a', '--flight', 'f', '--timeout', '0'], named: '--timeout' },
    {
      args: ['upload', 'dir', '--asset', 'a', '--flight', 'f', '--dryrun'],
      named: 'unknown option --dryrun; did you mean --dry-run?',
    },
    {
      args: ['upload', 'dir', '--asset', 'a', '--flight', 'f', '--pipeline', 'Photos'],
      named: '--pipeline ID needs --stack STACK',
    },
    { args: ['status', '--limit', 'many'], named: '--limit' },
    { args: ['status', '--unknown'], named: '--unknown' },
    { args: ['status', '--profil', 'ops'], named: 'did you mean --profile?' },
    { args: ['status', '--profile'], named: '--profile needs a value' },
    { args: ['status', '--profile', '-ops'], named: 'a value starting with "-" is written --profile=-…' },
    { args: ['retry'], named: 'ASSET/FLIGHT' },
    { args: ['retry', 'a/b', '--yse'], named: 'did you mean --yes?' },
  ])('main $args: exit 2, one line "$named" on stderr, nothing on stdout', async ({ args, named }) => {
    // Prepare
    const { streams, out, err } = collectingStreams();

    // Act
    const code = await main(args, streams, async () => expect.unreachable('no targets for bad usage'));

    // Assess
    expect(code).toBe(2);
    expect(err.join('')).toContain(named);
    expect(err.join('')).toMatch(/^inspect-pipeline: [^\n]+\n$/);
    expect(out).toEqual([]);
  });
});

/** Streams that collect what is written; a terminal, with a prompt answering `answers` in turn, when given. */
function collectingStreams(terminal?: { answers: (string | undefined)[] }) {
  const out: string[] = [];
  const err: string[] = [];
  const questions: string[] = [];
  const streams: Streams = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    stdoutIsTerminal: terminal !== undefined,
    stderrIsTerminal: terminal !== undefined,
    stdinIsTerminal: terminal !== undefined,
    prompt: async (question) => {
      questions.push(question);
      return terminal?.answers.shift();
    },
  };
  return { streams, out, err, questions };
}

describe('command-line conventions', () => {
  it.each([
    { args: ['--version'], starts: /^inspect-pipeline \d+\.\d+\.\d+ \(Node\.js v\d+/ },
    { args: ['upload', '--version'], starts: /^inspect-pipeline \d+\.\d+\.\d+ / },
    { args: ['-h'], starts: /^Usage: inspect-pipeline <command>/ },
    { args: ['--help'], starts: /^Usage: inspect-pipeline <command>/ },
    { args: ['help'], starts: /^Usage: inspect-pipeline <command>/ },
    { args: ['help', 'upload'], starts: /^Usage: inspect-pipeline upload DIR/ },
    { args: ['help', 'status'], starts: /^Usage: inspect-pipeline status/ },
    { args: ['help', 'retry'], starts: /^Usage: inspect-pipeline retry ASSET\/FLIGHT/ },
    { args: ['upload', '-h'], starts: /^Usage: inspect-pipeline upload DIR/ },
    { args: ['status', '--help'], starts: /^Usage: inspect-pipeline status/ },
    { args: ['retry', '-h'], starts: /^Usage: inspect-pipeline retry ASSET\/FLIGHT/ },
  ])('$args prints on stdout and exits 0', async ({ args, starts }) => {
    // Prepare
    const { streams, out, err } = collectingStreams();

    // Act
    const code = await main(args, streams, async () => expect.unreachable('help needs no targets'));

    // Assess
    expect(code, err.join('')).toBe(0);
    expect(out.join('')).toMatch(starts);
    expect(err).toEqual([]);
  });

  it('every command help names --profile, --pipeline and --debug; upload and retry name --dry-run; retry names --yes', async () => {
    // Prepare
    const help = async (command: string) => {
      const { streams, out } = collectingStreams();
      await main(['help', command], streams);
      return out.join('');
    };

    // Act
    const texts = { upload: await help('upload'), status: await help('status'), retry: await help('retry') };

    // Assess
    for (const text of Object.values(texts))
      expect(text).toMatch(/--profile NAME[\s\S]*--pipeline ID|--pipeline ID[\s\S]*--profile NAME/);
    for (const text of Object.values(texts)) expect(text).toContain('--debug');
    expect(texts.upload).toContain('--dry-run');
    expect(texts.retry).toContain('--dry-run');
    expect(texts.retry).toContain('-y, --yes');
  });

  it('an error that is not a usage error: one line and exit 1, the stack trace only with --debug', async () => {
    // Prepare
    const failing = async () => {
      throw new Error('AccessDenied: not allowed\n    at somewhere (file.ts:1:1)');
    };
    const plain = collectingStreams();
    const debug = collectingStreams();

    // Act
    const plainCode = await main(['status', '--bucket', 'b', '--work-bucket', 'w'], plain.streams, failing);
    const debugCode = await main(['status', '--bucket', 'b', '--work-bucket', 'w', '--debug'], debug.streams, failing);

    // Assess
    expect(plainCode).toBe(1);
    expect(plain.err.join('')).toBe(
      'inspect-pipeline: AccessDenied: not allowed (run with --debug for the stack trace)\n',
    );
    expect(debugCode).toBe(1);
    expect(debug.err.join('')).toMatch(/^inspect-pipeline: Error: AccessDenied[\s\S]*\n\s+at /);
  });

  it('a usage error hides its stack trace even with --debug: it is one line naming the fix', async () => {
    // Prepare
    const { streams, err } = collectingStreams();

    // Act
    const code = await main(['--debug', 'status', '--limit', '0'], streams);

    // Assess
    expect(code).toBe(2);
    expect(err.join('')).toBe('inspect-pipeline: --limit must be a number between 1 and 1000 (got "0")\n');
  });

  it.each([
    {
      command: 'upload',
      message: 'interrupted: run the same command again to finish (what is already in the bucket is skipped).',
    },
    { command: 'retry', message: /running retry again starts another inspection/ },
    { command: 'status', message: 'interrupted.' },
  ])('Ctrl-C during $command says what to do next', ({ command, message }) => {
    // Prepare: the command

    // Act
    const text = interruptedMessage(command);

    // Assess
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
  });
});

const NO_PROFILES: ProfileFiles = { configFile: {}, credentialsFile: {} };
const PROFILES: ProfileFiles = {
  configFile: {
    default: { region: 'ap-south-1' },
    ops: { region: 'eu-west-3' },
    'no-region': { output: 'json' },
    other: { region: 'ca-central-1' },
  },
  credentialsFile: {
    ops: { aws_access_key_id: 'AKIDOPS', aws_secret_access_key: 'x' },
    keys: { aws_access_key_id: 'AKIDKEYS', aws_secret_access_key: 'y', region: 'sa-east-1' },
  },
};

describe('--profile and the region', () => {
  it.each([
    {
      name: '--region first',
      options: { region: 'eu-north-1', profile: 'ops' },
      env: { AWS_REGION: 'us-west-2' },
      region: 'eu-north-1',
      source: '--region',
    },
    {
      name: 'then the region of --profile, before AWS_REGION',
      options: { profile: 'ops' },
      env: { AWS_REGION: 'us-west-2' },
      region: 'eu-west-3',
      source: 'profile ops',
    },
    {
      name: 'a region in the credentials file counts too',
      options: { profile: 'keys' },
      env: {},
      region: 'sa-east-1',
      source: 'profile keys',
    },
    {
      name: 'a --profile without a region: AWS_REGION',
      options: { profile: 'no-region' },
      env: { AWS_REGION: 'us-west-2' },
      region: 'us-west-2',
      source: 'AWS_REGION',
    },
    {
      name: 'AWS_DEFAULT_REGION after AWS_REGION',
      options: {},
      env: { AWS_DEFAULT_REGION: 'us-east-2' },
      region: 'us-east-2',
      source: 'AWS_DEFAULT_REGION',
    },
    {
      name: 'no --profile: AWS_REGION before the region of the default profile',
      options: {},
      env: { AWS_REGION: 'us-west-2' },
      region: 'us-west-2',
      source: 'AWS_REGION',
    },
    {
      name: 'no --profile nor AWS_REGION: the default profile',
      options: {},
      env: {},
      region: 'ap-south-1',
      source: 'profile default',
    },
    {
      name: 'no --profile nor AWS_REGION: the profile of AWS_PROFILE',
      options: {},
      env: { AWS_PROFILE: 'other' },
      region: 'ca-central-1',
      source: 'profile other',
    },
    {
      name: 'a --profile without a region and no AWS_REGION: us-east-1, not the default profile',
      options: { profile: 'no-region' },
      env: {},
      region: 'us-east-1',
      source: 'default',
    },
  ])('regionOf: $name', ({ options, env, region, source }) => {
    // Prepare: the options, the environment and PROFILES

    // Act
    const choice = regionOf(options, env, PROFILES);

    // Assess
    expect(choice).toEqual({ region, source });
  });

  it('without any profile files: --region, AWS_REGION, else us-east-1', () => {
    // Prepare: no files

    // Act
    const choices = [
      regionOf({ region: 'eu-west-1' }, {}, NO_PROFILES),
      regionOf({}, { AWS_REGION: 'eu-west-2' }, NO_PROFILES),
      regionOf({}, {}, NO_PROFILES),
    ];

    // Assess
    expect(choices.map((choice) => choice.region)).toEqual(['eu-west-1', 'eu-west-2', 'us-east-1']);
  });

  it('an unknown --profile is a usage error naming it, with the closest profile or the list', () => {
    // Prepare
    const env = { AWS_CONFIG_FILE: '/etc/aws/config' };

    // Act
    const typo = () => requireProfile(PROFILES, 'opps', env);
    const unknown = () => requireProfile(PROFILES, 'production', env);
    const none = () => requireProfile(NO_PROFILES, 'ops', {});

    // Assess
    expect(typo).toThrow(UsageError);
    expect(typo).toThrow(
      '--profile opps: no such profile in /etc/aws/config or ~/.aws/credentials; did you mean --profile ops?',
    );
    expect(unknown).toThrow(
      '; profiles there: default, keys, no-region, ops, other; `aws configure --profile production` creates it',
    );
    expect(none).toThrow(
      '--profile ops: no such profile in ~/.aws/config or ~/.aws/credentials; `aws configure --profile ops` creates it',
    );
  });

  it('resolveTargets with --profile: the region of the profile, the profile given to the SDK client, one note about environment keys', async () => {
    // Prepare
    const notes: string[] = [];
    const env = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'z', AWS_REGION: 'us-west-2' };

    // Act
    const targets = await resolveTargets(
      { profile: 'ops', bucket: 'drop' },
      { env, profiles: async () => PROFILES, note: (text) => notes.push(text) },
    );

    // Assess
    expect([targets.region, targets.regionSource, targets.profile, targets.source]).toEqual([
      'eu-west-3',
      'profile ops',
      'ops',
      'S3 (eu-west-3, profile ops)',
    ]);
    expect(targets.s3.config.profile).toBe('ops');
    expect(await targets.s3.config.region()).toBe('eu-west-3');
    expect(notes).toEqual(['note: using the credentials of --profile ops, not AWS_ACCESS_KEY_ID from the environment']);
    targets.s3.destroy();
  });

  it('resolveTargets refuses an unknown --profile before any AWS call', async () => {
    // Prepare
    const readStack = async () => expect.unreachable('no stack read with an unknown profile');

    // Act
    const resolving = resolveTargets(
      { profile: 'prod', stack: 'InspectPipeline' },
      { readStack, env: {}, profiles: async () => PROFILES },
    );

    // Assess
    await expect(resolving).rejects.toThrow(UsageError);
    await expect(resolving).rejects.toThrow(
      /^--profile prod: no such profile in ~\/\.aws\/config or ~\/\.aws\/credentials/,
    );
  });
});

describe('--stack outputs (CloudFormation DescribeStacks, mocked)', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  const outputs = (entries: Record<string, string>) => ({
    Stacks: [
      {
        StackName: 's',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: Object.entries(entries).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  const resolveStack = (options: { stack: string; pipeline?: string; region?: string; profile?: string }) =>
    resolveTargets(options, { env: {}, profiles: async () => PROFILES });

  beforeEach(() => cloudFormation.reset());
  afterAll(() => cloudFormation.restore());

  it('the ready stack: the exact DropBucketName and WorkBucketName keys, even beside an embedded pipeline', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: 'InspectPipeline' }).resolves(
      outputs({
        DropBucketName: 'ready-drop',
        WorkBucketName: 'ready-work',
        PhotosDropBucketName1A2B3C4D: 'photos-drop',
        Other: 'x',
      }),
    );

    // Act
    const targets = await resolveStack({ stack: 'InspectPipeline', region: 'eu-west-1' });

    // Assess
    expect([targets.dropBucket, targets.workBucket, targets.source]).toEqual([
      'ready-drop',
      'ready-work',
      'stack InspectPipeline (eu-west-1)',
    ]);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    targets.s3.destroy();
  });

  it('one embedded pipeline: the keys <id>DropBucketName<hash> and <id>WorkBucketName<hash>, found without --pipeline', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).resolves(
      outputs({
        PhotosDropBucketName1A2B3C4D: 'photos-drop',
        PhotosWorkBucketNameDEADBEEF: 'photos-work',
        ApiUrl: 'https://x',
      }),
    );

    // Act
    const targets = await resolveStack({ stack: 'MyApp', region: 'eu-west-1' });

    // Assess
    expect([targets.dropBucket, targets.workBucket, targets.source]).toEqual([
      'photos-drop',
      'photos-work',
      'stack MyApp pipeline Photos (eu-west-1)',
    ]);
    targets.s3.destroy();
  });

  it('several pipelines: --pipeline ID picks one; without it, or with an unknown one, a usage error lists them', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).resolves(
      outputs({
        PhotosDropBucketName1A2B3C4D: 'photos-drop',
        PhotosWorkBucketName0F0F0F0F: 'photos-work',
        VideosDropBucketNameABCDEF01: 'videos-drop',
        VideosWorkBucketName12345678: 'videos-work',
        // Not CDK's hash (lower case, 7 characters): not a pipeline output.
        StrayDropBucketNameabcdef0: 'stray',
      }),
    );

    // Act
    const videos = await resolveStack({ stack: 'MyApp', pipeline: 'Videos' });
    const withoutId = resolveStack({ stack: 'MyApp' });
    const typo = resolveStack({ stack: 'MyApp', pipeline: 'Vidoes' });

    // Assess
    expect([videos.dropBucket, videos.workBucket]).toEqual(['videos-drop', 'videos-work']);
    await expect(withoutId).rejects.toThrow(UsageError);
    await expect(withoutId).rejects.toThrow('stack MyApp holds 2 pipelines: add --pipeline ID, one of Photos, Videos');
    await expect(typo).rejects.toThrow(
      '--pipeline Vidoes: stack MyApp has no such pipeline; did you mean --pipeline Videos? (its pipelines: Photos, Videos)',
    );
    videos.s3.destroy();
  });

  it('pickPipelineOutputs: a construct path with separators, and --pipeline where the stack embeds none', () => {
    // Prepare
    const nested = [{ OutputKey: 'StagePhotosDropBucketName1A2B3C4D', OutputValue: 'nested-drop' }];
    const ready = [{ OutputKey: 'DropBucketName', OutputValue: 'ready-drop' }];

    // Act
    const byPath = pickPipelineOutputs(nested, 'MyApp', 'Stage/Photos');
    const byTail = pickPipelineOutputs(nested, 'MyApp', 'Photos');
    const refused = () => pickPipelineOutputs(ready, 'InspectPipeline', 'Photos');

    // Assess
    expect(byPath).toEqual({ dropBucket: 'nested-drop', workBucket: undefined, pipeline: 'StagePhotos' });
    expect(byTail.dropBucket).toBe('nested-drop');
    expect(refused).toThrow('--pipeline Photos: stack InspectPipeline holds no embedded pipeline');
  });

  it("the PreflightThresholds output: the stack's thresholds in the targets; a stack deployed before it has none and the targets say why", async () => {
    // Prepare
    const stackThresholds = { ...DEFAULT_PREFLIGHT_THRESHOLDS, minPhotos: 2, maxPhotos: 500 };
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'InspectPipeline' })
      .resolves(
        outputs({ DropBucketName: 'd', WorkBucketName: 'w', PreflightThresholds: JSON.stringify(stackThresholds) }),
      );
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'OldPipeline' })
      .resolves(outputs({ DropBucketName: 'd', WorkBucketName: 'w' }));

    // Act
    const current = await resolveStack({ stack: 'InspectPipeline', region: 'eu-west-1' });
    const old = await resolveStack({ stack: 'OldPipeline', region: 'eu-west-1' });

    // Assess
    expect(current.preflightThresholds).toEqual(stackThresholds);
    expect(current.preflightThresholdsProblem).toBeUndefined();
    expect(old.preflightThresholds).toBeUndefined();
    expect(old.preflightThresholdsProblem).toBe(
      'it has no PreflightThresholds output (deployed before the pre-flight)',
    );
    for (const targets of [current, old]) targets.s3.destroy();
  });

  it("pickPipelineOutputs: the output the stack writes, an embedded pipeline's <id>PreflightThresholds<hash> over the defaults, and one this CLI cannot read", () => {
    // Prepare: the value as lib/pipeline-outputs.ts writes it, for thresholds set as stack context
    const contextThresholds = { ...DEFAULT_PREFLIGHT_THRESHOLDS, minPhotos: 10, minGeotaggedShare: 0.9 };
    const written = pipelineOutputValues({
      dropBucket: { bucketName: 'ready-drop' },
      workBucket: { bucketName: 'ready-work' },
      topic: { topicArn: 't' },
      alarmTopic: { topicArn: 'a' },
      stateMachine: { stateMachineArn: 's' },
      batchWaiter: { stateMachineArn: 'w' },
      secret: { secretArn: 'x' },
      preflightThresholds: contextThresholds,
    } as unknown as PipelineOutputSources).PreflightThresholds.value;
    const ready = [
      { OutputKey: 'DropBucketName', OutputValue: 'ready-drop' },
      { OutputKey: 'PreflightThresholds', OutputValue: written },
    ];
    const embedded = [
      { OutputKey: 'PhotosDropBucketName1A2B3C4D', OutputValue: 'photos-drop' },
      { OutputKey: 'PhotosPreflightThresholds0A1B2C3D', OutputValue: '{"minPhotos": 3}' },
    ];
    const unreadable = [
      { OutputKey: 'DropBucketName', OutputValue: 'd' },
      { OutputKey: 'PreflightThresholds', OutputValue: '{"minPhotos": 3, "maxBatteries": 2}' },
    ];

    // Act
    const fromReady = pickPipelineOutputs(ready, 'InspectPipeline');
    const fromEmbedded = pickPipelineOutputs(embedded, 'MyApp');
    const fromUnreadable = pickPipelineOutputs(unreadable, 'InspectPipeline');

    // Assess
    expect(fromReady).toEqual({
      dropBucket: 'ready-drop',
      workBucket: undefined,
      preflightThresholds: contextThresholds,
    });
    expect(fromEmbedded).toEqual({
      dropBucket: 'photos-drop',
      workBucket: undefined,
      pipeline: 'Photos',
      preflightThresholds: { ...DEFAULT_PREFLIGHT_THRESHOLDS, minPhotos: 3 },
    });
    expect(fromUnreadable.preflightThresholds).toBeUndefined();
    expect(fromUnreadable.preflightThresholdsProblem).toBe(
      'its PreflightThresholds output is not one this CLI reads (Unrecognized key: "maxBatteries"): deployed by another version?',
    );
    expect(parsePreflightThresholds('not json')).toEqual({ problem: 'its PreflightThresholds output is not JSON' });
  });

  it('a stack without pipeline outputs, and a stack that does not exist, are usage errors naming the stack and region', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Website' }).resolves(outputs({ Url: 'https://x' }));
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'Nope' })
      .rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));

    // Act
    const website = resolveStack({ stack: 'Website', region: 'eu-west-1' });
    const nope = resolveStack({ stack: 'Nope', region: 'eu-west-1' });

    // Assess
    await expect(website).rejects.toThrow(
      '--stack Website has no DropBucketName output: is it an inspect-pipeline stack? (region eu-west-1)',
    );
    await expect(nope).rejects.toThrow(UsageError);
    await expect(nope).rejects.toThrow('--stack Nope: Stack with id Nope does not exist (region eu-west-1)');
  });

  it('the CloudFormation client gets the region and the profile', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).resolves(outputs({ DropBucketName: 'd', WorkBucketName: 'w' }));

    // Act
    const targets = await resolveStack({ stack: 'InspectPipeline', profile: 'ops' });

    // Assess
    const client = cloudFormation.send.getCall(0).thisValue as CloudFormationClient;
    expect(await client.config.region()).toBe('eu-west-3');
    expect(client.config.profile).toBe('ops');
    expect(targets.source).toBe('stack InspectPipeline (eu-west-3, profile ops)');
    targets.s3.destroy();
  });
});

describe("main against the embedded S3 server: dry runs, retry's confirmation, the manifest retry reads", () => {
  const DROP = 'drop-cli-units';
  const WORK = 'work-cli-units';
  let embedded: EmbeddedS3;
  let s3: S3Client;
  const folders: string[] = [];

  beforeAll(async () => {
    embedded = await startEmbeddedS3({ buckets: [DROP, WORK] });
    s3 = embedded.client();
  });

  afterAll(async () => {
    await embedded?.close();
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  const targets = (): Targets => ({
    s3,
    region: EMBEDDED_S3_REGION,
    dropBucket: DROP,
    workBucket: WORK,
    source: embedded.endpoint,
  });

  /** `main` with the embedded server as target; on a terminal (whose answers are given) or not. */
  async function run(
    args: readonly string[],
    terminal?: { answers: (string | undefined)[] },
    target: Targets = targets(),
  ) {
    const collected = collectingStreams(terminal);
    const code = await main(args, collected.streams, async () => target);
    return { code, stdout: collected.out.join(''), stderr: collected.err.join(''), questions: collected.questions };
  }

  function filesOf(dropped: readonly DroppedFile[]): Record<string, Buffer | string> {
    return Object.fromEntries(dropped.map((file) => [file.relativePath, file.body]));
  }

  const jsonLinesOf = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  /** A closed batch: one photo and its manifest.json (bytes as given). */
  async function closedBatch(prefix: string, manifest: string | Buffer = '{}\n'): Promise<string | undefined> {
    await s3.send(new PutObjectCommand({ Bucket: DROP, Key: `${prefix}DJI_0001.JPG`, Body: jpegBytes(2_048, 1) }));
    await s3.send(new PutObjectCommand({ Bucket: DROP, Key: `${prefix}manifest.json`, Body: manifest }));
    return manifestETag(prefix);
  }

  async function manifestETag(prefix: string): Promise<string | undefined> {
    try {
      return (await s3.send(new HeadObjectCommand({ Bucket: DROP, Key: `${prefix}manifest.json` }))).ETag?.replace(
        /"/g,
        '',
      );
    } catch {
      return undefined;
    }
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: DROP, Prefix: prefix }));
    return (listing.Contents ?? []).map((object) => object.Key!).sort();
  }

  async function folderWith(files: Record<string, Buffer | string>): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'inspect-cli-units-'));
    folders.push(root);
    for (const [relativePath, body] of Object.entries(files)) {
      await mkdir(dirname(join(root, relativePath)), { recursive: true });
      await writeFile(join(root, relativePath), body);
    }
    return root;
  }

  it('retry on a terminal asks first; answering n (or nothing) writes nothing and exits 1', async () => {
    // Prepare
    const prefix = 'tower-ask/flight-n/';
    const before = await closedBatch(prefix);

    // Act
    const no = await run(['retry', prefix], { answers: ['n'] });
    const endOfInput = await run(['retry', prefix], { answers: [undefined] });

    // Assess
    expect(no.questions).toEqual([
      'Run tower-ask/flight-n/ again? This creates a new inspection and uses processing allowance. [y/N] ',
    ]);
    expect(no.questions[0]).toBe(confirmationQuestion(prefix));
    for (const declined of [no, endOfInput]) {
      expect(declined.code).toBe(1);
      expect(declined.stderr).toBe('not confirmed; nothing written.\n');
      expect(declined.stdout).toBe('');
    }
    expect(await manifestETag(prefix)).toBe(before);
  });

  it.each([
    { name: 'y on a terminal', args: [], terminal: { answers: ['y'] }, asked: true },
    { name: 'YES on a terminal', args: [], terminal: { answers: [' YES '] }, asked: true },
    { name: '--yes on a terminal', args: ['--yes'], terminal: { answers: [] }, asked: false },
    { name: '-y on a terminal', args: ['-y'], terminal: { answers: [] }, asked: false },
    { name: '--json on a terminal', args: ['--json'], terminal: { answers: [] }, asked: false },
    { name: 'not a terminal (a script)', args: [], terminal: undefined, asked: false },
  ])('retry writes the next generation: $name (asked: $asked)', async ({ name, args, terminal, asked }) => {
    // Prepare
    const prefix = `tower-ask/${name.replace(/[^a-z]+/gi, '-')}/`;
    const before = await closedBatch(prefix);

    // Act
    const result = await run(['retry', prefix, ...args], terminal && { answers: [...terminal.answers] });

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.questions).toHaveLength(asked ? 1 : 0);
    const after = await manifestETag(prefix);
    expect(after).not.toBe(before);
    expect(after).toBe(createHash('md5').update('{}\n\n').digest('hex'));
  });

  it('isYes: only y and yes, in any case', () => {
    // Prepare
    const answers = ['y', 'Y', 'yes', 'Yes ', '', 'n', 'no', 'yep', undefined];

    // Act
    const verdicts = answers.map(isYes);

    // Assess
    expect(verdicts).toEqual([true, true, true, true, false, false, false, false, false]);
  });

  it("retry of a UTF-16 manifest.json: the workflow's own message (must be UTF-8), exit 1, nothing written", async () => {
    // Prepare
    const prefix = 'tower-utf16/flight-1/';
    const utf16 = Buffer.from('\uFEFF{"inspection": {"name": "x"}}\n', 'utf16le');
    const before = await closedBatch(prefix, utf16);
    const pipelineMessage = (() => {
      try {
        parseManifestBytes(utf16);
      } catch (error) {
        if (error instanceof ManifestError) return error.message;
      }
      return expect.unreachable('the workflow refuses a UTF-16 manifest');
    })();

    // Act
    const result = await run(['retry', prefix, '--yes']);

    // Assess
    expect(pipelineMessage).toBe('manifest.json must be UTF-8 (found UTF-16)');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: s3://${DROP}/${prefix}manifest.json must be UTF-8 (found UTF-16): the run would fail again. Upload a corrected manifest.json instead; that runs the batch.\n`,
    );
    expect(await manifestETag(prefix)).toBe(before);
  });

  it('retry --dry-run: every check, then the manifest it would write and the run it would start; writes nothing; the real retry starts that run', async () => {
    // Prepare
    const prefix = 'tower-dry/retry-1/';
    const before = await closedBatch(prefix, '{"inspection": {"name": "retry-1"}}\n');

    // Act
    const json = await run(['retry', prefix, '--dry-run', '--json']);
    const human = await run(['retry', prefix, '--dry-run'], { answers: [] });
    const untouched = await manifestETag(prefix);
    const real = await run(['retry', prefix, '--yes', '--json']);

    // Assess
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const predicted = JSON.parse(lines[0]!) as { runId: string; eTag: string; manifest: string };
    const body = '{"inspection": {"name": "retry-1"}}\n\n';
    expect(predicted).toEqual({
      event: 'dry-run',
      command: 'retry',
      bucket: DROP,
      prefix,
      source: embedded.endpoint,
      region: EMBEDDED_S3_REGION,
      generation: 2,
      eTag: createHash('md5').update(body).digest('hex'),
      runId: manifestRunId(DROP, prefix, createHash('md5').update(body).digest('hex')),
      manifest: body,
      wait: false,
    });
    expect(human.code, human.stderr).toBe(0);
    expect(human.questions).toEqual([]);
    expect(human.stdout).toContain(`Dry run: nothing is written. Target: s3://${DROP}/${prefix}`);
    expect(human.stdout).toContain(
      `Would write manifest.json again (generation 2, ETag ${predicted.eTag}), which starts a new inspection (run ${predicted.runId})`,
    );
    expect(untouched).toBe(before);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ event: 'retry', runId: predicted.runId, eTag: predicted.eTag });
  });

  it('retry --dry-run still refuses a batch whose last run is going (exit 1), as the retry would', async () => {
    // Prepare
    const prefix = 'tower-dry/running/';
    await closedBatch(prefix);
    await new BatchStateStore(s3, WORK).record({
      batchId: 'm-running',
      bucket: DROP,
      prefix,
      asset: 'tower-dry',
      flight: 'running',
      state: 'processing',
    });

    // Act
    const result = await run(['retry', prefix, '--dry-run']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: tower-dry\/running\/ is still processing \(run m-running, .*add --force/);
    expect(result.stdout).toBe('');
  });

  it('upload --dry-run --json: one JSON object with each file (to upload, already there, left out and why) and the manifest; nothing written', async () => {
    // Prepare
    const prefix = 'tower-dry/flight-1/';
    const already = jpegBytes(3_000, 7);
    const dir = await folderWith({
      'DCIM/DJI_0001.JPG': jpegBytes(2_048, 1),
      'DCIM/DJI_0002.JPG': already,
      'DCIM/DJI_0003.JPG': '',
      'notes.txt': 'not a photo\n',
    });
    await s3.send(new PutObjectCommand({ Bucket: DROP, Key: `${prefix}DCIM/DJI_0002.JPG`, Body: already }));

    // Act: --force, since two photos are fewer than the pre-flight's minPhotos
    const result = await run([
      'upload',
      dir,
      '--asset',
      'tower-dry',
      '--flight',
      'flight-1',
      '--skip-unsupported',
      '--dry-run',
      '--json',
      '--force',
    ]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    const manifest = buildManifest({ asset: 'tower-dry', flight: 'flight-1' });
    expect(report).toEqual({
      event: 'dry-run',
      command: 'upload',
      bucket: DROP,
      prefix,
      source: embedded.endpoint,
      region: EMBEDDED_S3_REGION,
      files: [
        { path: 'DCIM/DJI_0001.JPG', size: 2_048, action: 'upload' },
        { path: 'DCIM/DJI_0002.JPG', size: 3_000, action: 'already-there' },
        { path: 'DCIM/DJI_0003.JPG', size: 0, action: 'left-out', skipReason: 'empty file (0 bytes)' },
        { path: 'notes.txt', size: 12, action: 'left-out', skipReason: 'unsupported extension (.txt)' },
      ],
      upload: { files: 1, bytes: 2_048 },
      skipped: 1,
      leftOut: 2,
      warnings: [
        { path: 'DCIM/DJI_0003.JPG', reason: 'empty file (0 bytes)' },
        { path: 'notes.txt', reason: 'unsupported extension (.txt)' },
      ],
      manifest: {
        source: 'flags',
        action: 'write',
        text: manifest,
        eTag: createHash('md5').update(manifest).digest('hex'),
        runId: manifestRunId(DROP, prefix, createHash('md5').update(manifest).digest('hex')),
      },
      preflight: expect.objectContaining({
        assessed: true,
        flight: expect.objectContaining({ photos: 2, geotagged: 0 }),
        refusal: '2 photos, fewer than minPhotos 6: DCIM/DJI_0001.JPG, DCIM/DJI_0002.JPG',
        forced: true,
      }),
      wait: false,
    });
    expect(await keysUnder(prefix)).toEqual([`${prefix}DCIM/DJI_0002.JPG`]);
  });

  it('upload --dry-run for people, then the upload: the progress counts the files left out and ends at every file; the run is the one predicted', async () => {
    // Prepare
    const prefix = 'tower-dry/flight-2/';
    const files: Record<string, Buffer | string> = { 'readme.txt': 'notes\n', 'thumbs.db': 'x' };
    for (let i = 1; i <= 11; i++) files[`DCIM/DJI_${String(i).padStart(4, '0')}.JPG`] = jpegBytes(1_024 * i, i);
    const dir = await folderWith(files);
    const args = ['upload', dir, '--asset', 'tower-dry', '--flight', 'flight-2', '--skip-unsupported'];

    // Act
    const dry = await run([...args, '--dry-run']);
    const listedAfterDryRun = await keysUnder(prefix);
    const real = await run(args);

    // Assess
    expect(dry.code, dry.stderr).toBe(0);
    const runId = /starts run (\S+):/.exec(dry.stdout)?.[1];
    expect(dry.stdout).toContain('Dry run: nothing is uploaded or written.');
    expect(dry.stdout).toContain(
      `Would upload 11 of 13 files (66.0 KiB) from ${dir}; 0 already there with the same content, 2 left out (--skip-unsupported):`,
    );
    expect(dry.stdout).toContain('  left out       readme.txt  6 B: unsupported extension (.txt)');
    expect(dry.stdout).toContain('  upload         DCIM/DJI_0001.JPG  1.0 KiB');
    expect(dry.stdout).toContain('  "asset": {');
    expect(listedAfterDryRun).toEqual([]);
    expect(real.code, real.stderr).toBe(0);
    const progressLines = real.stdout.split('\n').filter((line) => line.startsWith('['));
    expect(progressLines.at(-1)).toMatch(/^\[#{24}\] {2}13\/13 files {2}66\.0 KiB\/66\.0 KiB .*\(2 left out\)$/);
    expect(real.stdout).toContain('Uploading 11 of 13 files (66.0 KiB)');
    expect(real.stdout).toMatch(
      /Uploaded 11 of 13 files \(66\.0 KiB\) to .* 0 already there with the same content, 2 left out \(--skip-unsupported\)\./,
    );
    expect(real.stdout).toContain(`(run ${runId})`);
    expect(await keysUnder(prefix)).toHaveLength(12);
  });

  it('upload --dry-run of a flight the pre-flight refuses: the pre-flight, then the refusal (exit 2) instead of the plan; with --json the pre-flight line alone; nothing written', async () => {
    // Prepare
    const prefix = 'tower-pre/dry-1/';
    const dir = await folderWith(filesOf(geotaggedPhotos(3)));
    const args = ['upload', dir, '--asset', 'tower-pre', '--flight', 'dry-1', '--dry-run'];

    // Act
    const human = await run(args);
    const json = await run([...args, '--json']);

    // Assess
    expect(human.code).toBe(2);
    expect(human.stdout).toContain(
      'Pre-flight of 3 photos; thresholds: the defaults (no --stack to read the deployed ones from):\n',
    );
    expect(human.stdout).toContain('  cameras     DJI FC6310\n');
    expect(human.stdout).not.toContain('Dry run:');
    expect(human.stderr).toMatch(
      /^inspect-pipeline: upload: the pre-flight refuses the flight, as the pipeline would: 3 photos, fewer than minPhotos 6: [^\n]+ or add --force to upload it anyway\n$/,
    );
    expect(json.code).toBe(2);
    expect(jsonLinesOf(json.stdout)).toEqual([
      expect.objectContaining({
        event: 'preflight',
        refusal: expect.stringMatching(/^3 photos, fewer than minPhotos 6: /),
        forced: false,
      }),
    ]);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('thresholds: the stack\'s (PreflightThresholds) when the targets hold them, the manifest\'s "preflight" over them; the defaults otherwise, saying why', async () => {
    // Prepare
    const stackThresholds = { ...DEFAULT_PREFLIGHT_THRESHOLDS, minPhotos: 2 };
    const stack: Targets = {
      ...targets(),
      source: 'stack InspectPipeline (eu-west-1)',
      preflightThresholds: stackThresholds,
    };
    const old: Targets = {
      ...targets(),
      source: 'stack OldPipeline (eu-west-1)',
      preflightThresholdsProblem: 'it has no PreflightThresholds output (deployed before the pre-flight)',
    };
    const three = await folderWith(filesOf(geotaggedPhotos(3)));
    const stricter = await folderWith({
      ...filesOf(geotaggedPhotos(3)),
      'manifest.json': JSON.stringify({ preflight: { minPhotos: 4 } }),
    });

    // Act
    const passes = await run(
      ['upload', three, '--asset', 'tower-pre', '--flight', 'stack-1', '--json'],
      undefined,
      stack,
    );
    const refused = await run(
      ['upload', stricter, '--asset', 'tower-pre', '--flight', 'stack-2', '--json'],
      undefined,
      stack,
    );
    const defaults = await run(
      ['upload', three, '--asset', 'tower-pre', '--flight', 'stack-3', '--dry-run'],
      undefined,
      old,
    );

    // Assess
    expect(passes.code, passes.stderr).toBe(0);
    expect(jsonLinesOf(passes.stdout)[0]).toMatchObject({
      event: 'preflight',
      thresholds: stackThresholds,
      thresholdsFrom: 'stack',
      thresholdsSource: 'stack InspectPipeline (eu-west-1), its PreflightThresholds output',
      manifestPreflight: null,
      refusal: null,
    });
    expect(await keysUnder('tower-pre/stack-1/')).toHaveLength(4);
    expect(refused.code).toBe(2);
    expect(jsonLinesOf(refused.stdout)).toEqual([
      expect.objectContaining({
        thresholds: { ...stackThresholds, minPhotos: 4 },
        thresholdsFrom: 'stack',
        manifestPreflight: { minPhotos: 4 },
        refusal: '3 photos, fewer than minPhotos 4: DCIM/DJI_0001.JPG, DCIM/DJI_0002.JPG, DCIM/DJI_0003.JPG',
      }),
    ]);
    expect(refused.stderr).toContain(
      `set "preflight" thresholds for it in ${join(stricter, 'manifest.json')}, or add --force`,
    );
    expect(await keysUnder('tower-pre/stack-2/')).toEqual([]);
    expect(defaults.code).toBe(2);
    expect(defaults.stdout).toContain(
      'thresholds: the defaults (stack OldPipeline (eu-west-1): it has no PreflightThresholds output (deployed before the pre-flight)):\n',
    );
  });

  it("photos without GPS: warned, and refused by a manifest's minGeotaggedShare naming the share and the photos; a video batch is not assessed", async () => {
    // Prepare
    const noGps = filesOf(geotaggedPhotos(6, { gps: false }));
    const warned = await folderWith(noGps);
    const strict = await folderWith({
      ...noGps,
      'manifest.json': JSON.stringify({ preflight: { minGeotaggedShare: 0.5 } }),
    });
    // An MP4's `ftyp` box: the content check's signature of a video.
    const video = await folderWith({
      'DCIM/DJI_0001.MP4': Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(2_036)]),
    });

    // Act
    const warnedRun = await run(['upload', warned, '--asset', 'tower-pre', '--flight', 'gps-1', '--dry-run']);
    const strictRun = await run(['upload', strict, '--asset', 'tower-pre', '--flight', 'gps-2']);
    const videoRun = await run([
      'upload',
      video,
      '--asset',
      'tower-pre',
      '--flight',
      'video-1',
      '--set',
      'processing_parameters.is_video=true',
      '--json',
    ]);

    // Assess
    expect(warnedRun.code, warnedRun.stderr).toBe(0);
    expect(warnedRun.stdout).toContain('  geotagged   0 of 6 (0%)\n');
    expect(warnedRun.stdout).toContain('  centroid    none: no photo is geotagged\n');
    expect(warnedRun.stdout).toContain('  verdict     passes, with 1 warning\n');
    expect(warnedRun.stderr).toContain(
      'warning: pre-flight: 6 of 6 photos have no GPS position (DCIM/DJI_0001.JPG, DCIM/DJI_0002.JPG, DCIM/DJI_0003.JPG and 3 more)\n',
    );
    expect(strictRun.code).toBe(2);
    expect(strictRun.stderr).toContain(
      'the pre-flight refuses the flight, as the pipeline would: 0 of 6 photos geotagged (0%), below minGeotaggedShare 0.5 (50%); without GPS: DCIM/DJI_0001.JPG, ',
    );
    expect(await keysUnder('tower-pre/gps-2/')).toEqual([]);
    expect(videoRun.code, videoRun.stderr).toBe(0);
    expect(jsonLinesOf(videoRun.stdout)[0]).toMatchObject({
      event: 'preflight',
      assessed: false,
      reason: 'a video (processing_parameters.is_video): the pipeline judges it by its container type only',
      flight: null,
      refusal: null,
    });
    expect(await keysUnder('tower-pre/video-1/')).toHaveLength(2);
  });
});
