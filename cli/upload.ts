import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UsageError } from '../local/cli-options';
import { FIRST_BYTES_NEEDED, skipReasonByContent, skipReasonByName } from '../src/batch/classify';
import { MANIFEST_FILE } from '../src/batch/keys';
import {
  destinationKeyProblem,
  estimatedDestinationKeyBytes,
  formatCount,
  keyBytes,
  MAX_S3_KEY_BYTES,
} from '../src/batch/limits';
import { folderNameProblems, type Manifest } from '../src/batch/manifest';
import { manifestSizeError } from '../src/batch/manifest-encoding';
import { BatchStateStore } from '../src/batch-state/batch-state';
import { mapWithConcurrency } from '../src/copy/pool';
import { METADATA_BYTES, type PhotoMetadata, readPhotoMetadata } from '../src/preflight/photo-metadata';
import type { FlightPhoto } from '../src/preflight/preflight';
import { followAndReport, manifestRunId } from './follow';
import { buildManifest, nextGeneration, type SetFlag, validateManifest, validateManifestBytes } from './manifest-text';
import type { Output } from './output';
import { type PreflightReport, preflightLines, preflightReport, refusalLine } from './preflight-summary';
import { formatBytes, UploadProgress } from './progress';
import { requireDropBucket, requireWorkBucket, type Targets } from './targets';

/**
 * `upload DIR`: every file of a folder into `<asset>/<flight>/` (sub-folders kept), in parallel, multipart for
 * large files, skipping what is already there with the same size and checksum (so an interrupted upload is
 * finished by running the same command again), then `manifest.json` last, which closes the batch. Before anything
 * is sent, the workflow's pre-flight runs on the photos' metadata, and a flight it would refuse is not uploaded
 * (unless --force). `--dry-run` makes the same checks and comparisons and says what it would send and write,
 * writing nothing.
 */

/** PutObject up to this size, lib-storage's multipart upload above. */
export const SINGLE_PART_MAX = 16 * 1024 * 1024;
export const PART_SIZE = 8 * 1024 * 1024;
export const PART_QUEUE = 4;
export const FILE_CONCURRENCY = 8;
/** Files whose first bytes (up to METADATA_BYTES each, parsed at once) are read in parallel before uploading. */
export const INSPECT_CONCURRENCY = 16;
/** User metadata (`x-amz-meta-sha256`) with the file's SHA-256, which a multipart ETag does not give. */
export const SHA256_METADATA = 'sha256';

export interface UploadOptions {
  readonly dir: string;
  readonly asset: string;
  readonly flight: string;
  readonly manifestFile?: string | undefined;
  readonly assetId?: number | undefined;
  readonly sets: readonly SetFlag[];
  readonly skipUnsupported: boolean;
  readonly wait: boolean;
  readonly timeoutSeconds: number;
  readonly json: boolean;
  /** Every check and comparison, then what would be uploaded and written; nothing is written. */
  readonly dryRun?: boolean;
  /** Upload a flight the pre-flight refuses. */
  readonly force?: boolean;
}

export interface LocalFile {
  readonly path: string;
  /** Relative to DIR with `/`, as in the key. */
  readonly relativePath: string;
  readonly size: number;
}

export interface Digests {
  readonly md5: string;
  readonly sha256: string;
}

export interface RemoteObject {
  readonly size: number;
  readonly eTag: string;
  /** `x-amz-meta-sha256`: undefined when not read yet (HeadObject), null when the object has none. */
  readonly sha256?: string | null;
}

/**
 * Whether an object already holds a file's content: sizes must match, then the ETag (the MD5 of a single-part
 * upload) or, for multipart objects (ETag `<md5 of parts>-N`) and encrypted ones, the SHA-256 this CLI stores in
 * the user metadata. `unknown` asks for that metadata (a HeadObject).
 */
export function compareWithRemote(
  local: { readonly size: number } & Digests,
  remote: RemoteObject | undefined,
): 'same' | 'different' | 'unknown' {
  if (remote === undefined || remote.size !== local.size) return 'different';
  if (remote.eTag.replace(/"/g, '').toLowerCase() === local.md5) return 'same';
  if (remote.sha256 === undefined) return 'unknown';
  return remote.sha256 === local.sha256 ? 'same' : 'different';
}

/** Every file under `dir` (symbolic links followed), sorted by relative path. */
export async function listLocalFiles(dir: string): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const info = entry.isSymbolicLink() ? await stat(path) : entry;
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) {
        files.push({
          path,
          relativePath: relative(dir, path).split(sep).join(posix.sep),
          size: (await stat(path)).size,
        });
      }
    }
  };
  await walk(dir);
  return files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}

/**
 * Why the pipeline will skip a file, or undefined: not in the manifest's `images`, then by name and size, then by
 * the first bytes (a text file named `.jpg`), exactly as the workflow classifies the objects.
 */
export function skipReasonOf(
  file: Pick<LocalFile, 'relativePath' | 'size'>,
  firstBytes: Uint8Array | undefined,
  manifest: Manifest,
): string | undefined {
  if (manifest.images !== undefined && !manifest.images.includes(file.relativePath))
    return 'not listed in manifest.json images';
  const byName = skipReasonByName(file.relativePath, file.size, manifest.processing_parameters?.is_video ?? false);
  if (byName !== undefined || firstBytes === undefined) return byName;
  return skipReasonByContent(file.relativePath, firstBytes);
}

/**
 * Why the pipeline will skip a photo whose key in Inspect's bucket would pass S3's 1,024 bytes, or undefined. The
 * inspection's prefix is not known before it exists: the longest one assumed (src/batch/limits.ts) stands in.
 */
export function inspectKeyReasonOf(relativePath: string): string | undefined {
  return destinationKeyProblem(estimatedDestinationKeyBytes(relativePath), { estimated: true });
}

export type ManifestSource = 'flags' | 'file' | 'folder';

/** A manifest file's bytes, refused by its size before it is read. */
async function readManifestFile(path: string, source: string): Promise<Buffer> {
  const tooLarge = manifestSizeError((await stat(path)).size);
  if (tooLarge) throw new UsageError(`${source}: ${tooLarge.message}`);
  return readFile(path);
}

/**
 * The manifest to write: `--manifest FILE`, else a `manifest.json` at the top of DIR (never uploaded as a photo),
 * else built from the flags. Flags that build a manifest cannot be combined with a manifest file.
 */
export async function chooseManifest(
  options: UploadOptions,
  files: readonly LocalFile[],
): Promise<{ text: string; source: ManifestSource; manifest: Manifest }> {
  const folderManifest = files.find((file) => file.relativePath === MANIFEST_FILE);
  const flagsGiven = options.assetId !== undefined ? '--asset-id' : options.sets.length > 0 ? '--set' : undefined;
  if (options.manifestFile !== undefined) {
    if (flagsGiven)
      throw new UsageError(`${flagsGiven} cannot be combined with --manifest: put it into the manifest file`);
    const source = `--manifest ${options.manifestFile}`;
    let bytes: Buffer;
    try {
      bytes = await readManifestFile(options.manifestFile, source);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--manifest: cannot read ${options.manifestFile}`);
    }
    return { ...validateManifestBytes(bytes, source), source: 'file' };
  }
  if (folderManifest) {
    if (flagsGiven) {
      throw new UsageError(
        `${flagsGiven} cannot be combined with ${folderManifest.path}, which is the manifest: edit it, or give --manifest FILE`,
      );
    }
    return {
      ...validateManifestBytes(await readManifestFile(folderManifest.path, folderManifest.path), folderManifest.path),
      source: 'folder',
    };
  }
  const text = buildManifest({
    asset: options.asset,
    flight: options.flight,
    assetId: options.assetId,
    sets: options.sets,
  });
  return { text, source: 'flags', manifest: validateManifest(text, 'the manifest built from the flags') };
}

export type ManifestAction = 'write' | 'new-generation' | 'unchanged';

/**
 * What to do with manifest.json once the files are up:
 * - none in the bucket, or a different one: write it (it closes the batch and starts its run);
 * - the same JSON, nothing uploaded: leave it (the batch already ran with this content; `retry` runs it again);
 * - the same JSON, files uploaded: the same bytes would have the same ETag, which names a run that already
 *   happened, so write the next generation (same JSON, new ETag) for the batch to run with the new files.
 */
export function planManifest(
  text: string,
  existing: string | undefined,
  uploadedFiles: number,
): { action: ManifestAction; text: string } {
  if (existing === undefined || !sameJson(existing, text)) return { action: 'write', text };
  if (uploadedFiles === 0) return { action: 'unchanged', text: existing };
  return { action: 'new-generation', text: nextGeneration(existing) };
}

function sameJson(a: string, b: string): boolean {
  try {
    return (
      JSON.stringify(JSON.parse(a.replace(/^\uFEFF/, ''))) === JSON.stringify(JSON.parse(b.replace(/^\uFEFF/, '')))
    );
  } catch {
    return a === b;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function md5Hex(data: string | Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** The objects under a prefix, by key relative to it. */
export async function listRemote(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, RemoteObject>> {
  const objects = new Map<string, RemoteObject>();
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      if (object.Key) objects.set(object.Key.slice(prefix.length), { size: object.Size ?? 0, eTag: object.ETag ?? '' });
    }
  }
  return objects;
}

/** The object's bytes, or undefined when there is none. */
export async function readObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array | undefined> {
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await answer.Body!.transformToByteArray();
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** The object as text, for comparing JSON (an undecodable one compares as different), or undefined. */
export async function readObjectText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  const bytes = await readObjectBytes(s3, bucket, key);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/**
 * The bytes of a manifest whose run has not happened yet: when the work bucket is known and the ETag (MD5 of the
 * bytes) would name a run already recorded (an older generation written again), the next generation is taken.
 * Reads only: `--dry-run` shows this text.
 */
export async function unrunManifestText(
  bucket: string,
  prefix: string,
  text: string,
  store: BatchStateStore | undefined,
): Promise<string> {
  let body = text;
  if (store) {
    for (let attempt = 0; attempt < 100 && (await store.find(manifestRunId(bucket, prefix, md5Hex(body)))); attempt++)
      body = nextGeneration(body);
  }
  return body;
}

/** Writes a manifest whose run has not happened yet (see unrunManifestText). */
export async function writeManifest(
  s3: S3Client,
  bucket: string,
  prefix: string,
  text: string,
  store: BatchStateStore | undefined,
): Promise<{ text: string; eTag: string; runId: string; writtenAt: Date }> {
  const body = await unrunManifestText(bucket, prefix, text, store);
  const writtenAt = new Date();
  const answer = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${prefix}${MANIFEST_FILE}`,
      Body: body,
      ContentType: 'application/json',
      ContentMD5: createHash('md5').update(body).digest('base64'),
    }),
  );
  const eTag = (answer.ETag ?? md5Hex(body)).replace(/"/g, '');
  return { text: body, eTag, runId: manifestRunId(bucket, prefix, eTag), writtenAt };
}

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

function contentTypeOf(relativePath: string): string {
  return CONTENT_TYPES[posix.extname(relativePath).toLowerCase()] ?? 'application/octet-stream';
}

/** The file's first `count` bytes (fewer when it is shorter). */
async function firstBytesOf(path: string, count: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface LocalJudgement {
  /** Why the pipeline will skip the file (skipReasonOf). */
  readonly reason?: string;
  /** A photo's metadata, when asked for and the file is not skipped. */
  readonly metadata?: PhotoMetadata;
}

/**
 * What the workflow's prepare step learns of a file from one read of its first bytes: whether it skips it and,
 * for a photo (`readMetadata`), its metadata, parsed at once so that only that is kept in memory.
 */
export async function judgeLocalFile(
  file: LocalFile,
  manifest: Manifest,
  readMetadata: boolean,
): Promise<LocalJudgement> {
  const byName = skipReasonOf(file, undefined, manifest);
  if (byName !== undefined) return { reason: byName };
  const head = await firstBytesOf(file.path, readMetadata ? METADATA_BYTES : FIRST_BYTES_NEEDED);
  const reason = skipReasonOf(file, head, manifest);
  if (reason !== undefined) return { reason };
  return readMetadata ? { metadata: await readPhotoMetadata(head) } : {};
}

async function hashFile(path: string): Promise<Digests> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

/** Whether the object already holds the file, reading its metadata only when the listing cannot tell. */
export async function alreadyThere(
  s3: S3Client,
  bucket: string,
  key: string,
  local: { size: number } & Digests,
  listed: RemoteObject | undefined,
): Promise<boolean> {
  const verdict = compareWithRemote(local, listed);
  if (verdict !== 'unknown') return verdict === 'same';
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const remote: RemoteObject = {
    size: head.ContentLength ?? -1,
    eTag: head.ETag ?? '',
    sha256: head.Metadata?.[SHA256_METADATA] ?? null,
  };
  return compareWithRemote(local, remote) === 'same';
}

export interface UploadSummary {
  readonly event: 'uploaded';
  readonly bucket: string;
  readonly prefix: string;
  /** Every file of DIR (manifest.json aside): uploaded + skipped + leftOut. */
  readonly files: number;
  readonly uploaded: number;
  /** Already in the bucket with the same content. */
  readonly skipped: number;
  /** Not uploaded: the pipeline would skip them, and --skip-unsupported was given. */
  readonly leftOut: number;
  readonly bytesSent: number;
  readonly seconds: number;
  readonly warnings: { path: string; reason: string }[];
  readonly manifest: {
    source: ManifestSource;
    action: ManifestAction;
    eTag: string | undefined;
    runId: string | undefined;
  };
}

/** What `upload --dry-run` would do with one file. */
export type FileAction = 'upload' | 'already-there' | 'left-out';

export interface DryRunFile {
  readonly path: string;
  readonly size: number;
  readonly action: FileAction;
  /** Why the pipeline will skip it (uploaded anyway unless left out). */
  readonly skipReason?: string;
}

/** `upload --dry-run --json`: the one JSON object printed. */
export interface UploadDryRun {
  readonly event: 'dry-run';
  readonly command: 'upload';
  readonly bucket: string;
  readonly prefix: string;
  readonly source: string;
  readonly region: string;
  readonly files: DryRunFile[];
  readonly upload: { readonly files: number; readonly bytes: number };
  readonly skipped: number;
  readonly leftOut: number;
  readonly warnings: { path: string; reason: string }[];
  readonly manifest: {
    source: ManifestSource;
    action: ManifestAction;
    text: string;
    eTag: string | undefined;
    runId: string | undefined;
  };
  /** The pre-flight, as the `preflight` line of an upload gives it. */
  readonly preflight: Omit<PreflightReport, 'event'>;
  readonly wait: boolean;
}

/** A file's digests, read the way the upload reads it (whole when small, streamed when multipart). */
async function digestsOf(file: LocalFile): Promise<Digests> {
  if (file.size > SINGLE_PART_MAX) return hashFile(file.path);
  const body = await readFile(file.path);
  return { md5: md5Hex(body), sha256: createHash('sha256').update(body).digest('hex') };
}

export async function runUpload(options: UploadOptions, resolve: () => Promise<Targets>, out: Output): Promise<number> {
  // Everything that can be refused is refused before the first byte goes up.
  const flight = await readLocalFlight(options, out);
  const destination = await destinationOf(options, resolve);
  const judgement = await judgeFiles(options, flight, destination.prefix, out);
  const job: UploadJob = {
    ...flight,
    ...destination,
    ...judgement,
    ...(await listBatchFolder(options, flight, destination, out)),
  };
  const preflight = checkPreflight(options, job, out);
  if (options.dryRun) return reportDryRun(options, job, preflight, out);
  const sent = await sendFiles(options, job, out);
  if (sent === undefined) return 1;
  const manifest = await closeBatch(job, sent.uploaded);
  reportUpload(options, job, sent, manifest, out);
  if (!options.wait || !job.store) return 0;
  return followAndReport(out, {
    store: job.store,
    prefix: job.prefix,
    expectedId: manifest.runId,
    since: manifest.writtenAt,
    timeoutSeconds: options.timeoutSeconds,
  });
}

/** DIR's files and the manifest to write. */
interface LocalFlight {
  /** Every file of DIR but its manifest.json. */
  readonly files: readonly LocalFile[];
  readonly manifestText: string;
  readonly manifestSource: ManifestSource;
  readonly manifest: Manifest;
}

/** Where the flight goes, and where its batch state is read (known with `--wait`, else when the targets give it). */
interface Destination {
  readonly targets: Targets;
  readonly s3: S3Client;
  readonly bucket: string;
  /** `<asset>/<flight>/`. */
  readonly prefix: string;
  readonly store: BatchStateStore | undefined;
}

/** What the pipeline will make of each file of DIR, and so which ones are sent. */
interface JudgedFiles {
  readonly isVideo: boolean;
  /** By index of `files`. */
  readonly judged: readonly LocalJudgement[];
  /** Why the pipeline will skip each file (by index of `files`), or undefined. */
  readonly reasons: readonly (string | undefined)[];
  readonly warnings: { path: string; reason: string }[];
  /** In DIR's order: every file, or with --skip-unsupported those the pipeline takes. */
  readonly toSend: readonly LocalFile[];
  readonly sending: ReadonlySet<LocalFile>;
  readonly leftOut: number;
}

/** The batch folder as the bucket holds it before the upload. */
interface BatchFolder {
  /** By key relative to the prefix. */
  readonly remote: ReadonlyMap<string, RemoteObject>;
  /** Objects of the folder that are not in DIR (manifest.json aside): part of the batch too. */
  readonly extraObjects: number;
}

/** Everything the upload's steps share, known before the first byte goes up. */
interface UploadJob extends LocalFlight, Destination, JudgedFiles, BatchFolder {}

/** DIR and its manifest, checked before the targets are resolved. */
async function readLocalFlight(options: UploadOptions, out: Output): Promise<LocalFlight> {
  const dirInfo = await stat(options.dir).catch(() => undefined);
  if (!dirInfo?.isDirectory()) throw new UsageError(`upload: ${options.dir} is not a folder`);
  const all = await listLocalFiles(options.dir);
  const { text: manifestText, source, manifest } = await chooseManifest(options, all);
  const files = all.filter((file) => file.relativePath !== MANIFEST_FILE);
  if (files.length === 0) throw new UsageError(`upload: ${options.dir} holds no files to upload`);
  // Where the manifest gives no names, the folders do: checked as the workflow checks them.
  const folderProblems = folderNameProblems(manifest, { assetName: options.asset, flightName: options.flight });
  if (folderProblems.length > 0) throw new UsageError(`upload: ${folderProblems.join('; ')}`);
  if (source === 'folder')
    out.note(`Using ${join(options.dir, MANIFEST_FILE)} as the batch's manifest.json (written last, not as a photo)`);
  else if (source === 'file' && all.length !== files.length)
    out.note(`Not uploading ${join(options.dir, MANIFEST_FILE)}: --manifest ${options.manifestFile} is the manifest`);
  return { files, manifestText, manifestSource: source, manifest };
}

async function destinationOf(options: UploadOptions, resolve: () => Promise<Targets>): Promise<Destination> {
  const targets = await resolve();
  const bucket = requireDropBucket(targets);
  const store = options.wait
    ? new BatchStateStore(targets.s3, requireWorkBucket(targets, '--wait'))
    : targets.workBucket
      ? new BatchStateStore(targets.s3, targets.workBucket)
      : undefined;
  return { targets, s3: targets.s3, bucket, prefix: `${options.asset}/${options.flight}/`, store };
}

/**
 * What the pipeline will skip, said before uploading; and the photos' metadata, for the pre-flight (not of videos:
 * the workflow judges them by container type only). Refuses an upload that would leave nothing, or that S3 would
 * refuse itself (a key over its limit), which running the command again could not finish.
 */
async function judgeFiles(
  options: UploadOptions,
  { files, manifest }: LocalFlight,
  prefix: string,
  out: Output,
): Promise<JudgedFiles> {
  const isVideo = manifest.processing_parameters?.is_video ?? false;
  const judged = await mapWithConcurrency(files, INSPECT_CONCURRENCY, (file) =>
    judgeLocalFile(file, manifest, !isVideo),
  );
  const reasons = files.map((file, index) => judged[index]!.reason ?? inspectKeyReasonOf(file.relativePath));
  const warnings = files.flatMap((file, index) =>
    reasons[index] === undefined ? [] : [{ path: file.relativePath, reason: reasons[index] as string }],
  );
  for (const warning of warnings) {
    out.warn(
      `${warning.path} will be skipped: ${warning.reason}${options.skipUnsupported ? ' (not uploaded: --skip-unsupported)' : ''}`,
    );
  }
  for (const image of manifest.images ?? []) {
    if (!files.some((file) => file.relativePath === image))
      out.warn(`manifest.json lists ${image}, which is not in ${options.dir}`);
  }
  const toSend = options.skipUnsupported ? files.filter((_, index) => reasons[index] === undefined) : files;
  const leftOut = files.length - toSend.length;
  if (toSend.length === 0)
    throw new UsageError(
      `upload: every file of ${options.dir} would be skipped by the pipeline, and --skip-unsupported leaves none to upload`,
    );
  if (warnings.length === files.length)
    out.warn('none of the files is a photo the pipeline will process: the batch will fail');
  const unkeyable = toSend.find((file) => keyBytes(`${prefix}${file.relativePath}`) > MAX_S3_KEY_BYTES);
  if (unkeyable) {
    const bytes = formatCount(keyBytes(`${prefix}${unkeyable.relativePath}`));
    throw new UsageError(
      `upload: ${unkeyable.relativePath}: its key in the drop bucket would be ${bytes} bytes, over S3's limit of ${formatCount(MAX_S3_KEY_BYTES)}`,
    );
  }
  return { isVideo, judged, reasons, warnings, toSend, sending: new Set(toSend), leftOut };
}

async function listBatchFolder(
  options: UploadOptions,
  { files }: LocalFlight,
  { s3, bucket, prefix }: Destination,
  out: Output,
): Promise<BatchFolder> {
  const remote = await listRemote(s3, bucket, prefix);
  const localPaths = new Set(files.map((file) => file.relativePath));
  const extra = [...remote.keys()].filter((path) => path !== MANIFEST_FILE && !localPaths.has(path));
  if (extra.length > 0) {
    out.warn(
      `${extra.length} object(s) under s3://${bucket}/${prefix} are not in ${options.dir} and are part of the batch too (e.g. ${extra[0]})`,
    );
  }
  return { remote, extraObjects: extra.length };
}

/** The manifest.json the batch folder holds now, as text, or undefined. */
function readExistingManifest({ s3, bucket, prefix, remote }: UploadJob): Promise<string | undefined> {
  return remote.has(MANIFEST_FILE)
    ? readObjectText(s3, bucket, `${prefix}${MANIFEST_FILE}`)
    : Promise.resolve(undefined);
}

/** The ETag of the manifest.json the listing found, without quotes. */
function listedManifestETag({ remote }: UploadJob): string | undefined {
  return remote.get(MANIFEST_FILE)?.eTag.replace(/"/g, '');
}

/**
 * The pre-flight of the photos the workflow will see: those it accepts, among those uploaded (a photo whose key is
 * too long for Inspect's bucket counts, as there: that is found only once the inspection exists). Said, then a
 * refusal throws (exit 2) unless --force.
 */
function checkPreflight(options: UploadOptions, job: UploadJob, out: Output): PreflightReport {
  const { files, judged, sending, isVideo, bucket, prefix, extraObjects, manifestSource: source } = job;
  const photos: FlightPhoto[] = files.flatMap((file, index) => {
    const { reason, metadata } = judged[index]!;
    return sending.has(file) && reason === undefined ? [{ name: file.relativePath, metadata: metadata ?? {} }] : [];
  });
  const preflight = preflightReport({
    photos,
    notAssessed: isVideo
      ? 'a video (processing_parameters.is_video): the pipeline judges it by its container type only'
      : photos.length === 0
        ? 'no photo the pipeline will process'
        : undefined,
    targets: job.targets,
    manifestPreflight: job.manifest.preflight,
    force: options.force === true,
  });
  const refused = preflight.refusal !== null && !preflight.forced;
  // With --dry-run --json the plan's one object holds the pre-flight, unless the refusal stops before the plan.
  if (out.json) {
    if (!options.dryRun || refused) out.result(preflight);
  } else for (const line of preflightLines(preflight)) out.info(line);
  for (const warning of preflight.warnings) out.warn(`pre-flight: ${warning}`);
  if (extraObjects > 0 && preflight.assessed)
    out.note(
      `note: the pre-flight counts the photos of ${options.dir} only, not the ${extraObjects} object(s) already under s3://${bucket}/${prefix}`,
    );
  if (preflight.refusal !== null) {
    // Refused before the first byte goes up, as the other checks refuse (exit 2): nothing is in the bucket.
    if (refused) {
      const folderManifest = join(options.dir, MANIFEST_FILE);
      const origin =
        source === 'flags'
          ? { source, folderManifest }
          : { source, path: source === 'file' ? (options.manifestFile as string) : folderManifest };
      throw new UsageError(refusalLine(preflight.refusal, origin));
    }
    const doing = options.dryRun ? 'it would be uploaded anyway' : 'uploading it anyway';
    out.warn(
      `the pre-flight refuses the flight (${preflight.refusal}); ${doing} (--force): the pipeline refuses it too unless its thresholds differ`,
    );
  }
  return preflight;
}

/** `--dry-run`: the same comparisons as the upload, reading only: what is already there is known, nothing is sent. */
async function reportDryRun(
  options: UploadOptions,
  job: UploadJob,
  preflight: PreflightReport,
  out: Output,
): Promise<number> {
  const { files, sending, reasons, s3, bucket, prefix, remote } = job;
  const there = await mapWithConcurrency(files, FILE_CONCURRENCY, async (file) =>
    sending.has(file)
      ? alreadyThere(
          s3,
          bucket,
          `${prefix}${file.relativePath}`,
          { size: file.size, ...(await digestsOf(file)) },
          remote.get(file.relativePath),
        )
      : false,
  );
  const planned: DryRunFile[] = files.map((file, index) => ({
    path: file.relativePath,
    size: file.size,
    action: !sending.has(file) ? 'left-out' : there[index] ? 'already-there' : 'upload',
    ...(reasons[index] === undefined ? {} : { skipReason: reasons[index] as string }),
  }));
  const sent = planned.filter((file) => file.action === 'upload');
  const plan = planManifest(job.manifestText, await readExistingManifest(job), sent.length);
  const body = plan.action === 'unchanged' ? plan.text : await unrunManifestText(bucket, prefix, plan.text, job.store);
  const eTag = plan.action === 'unchanged' ? listedManifestETag(job) : md5Hex(body);
  const report: UploadDryRun = {
    event: 'dry-run',
    command: 'upload',
    bucket,
    prefix,
    source: job.targets.source,
    region: job.targets.region,
    files: planned,
    upload: { files: sent.length, bytes: sent.reduce((sum, file) => sum + file.size, 0) },
    skipped: planned.filter((file) => file.action === 'already-there').length,
    leftOut: job.leftOut,
    warnings: job.warnings,
    manifest: {
      source: job.manifestSource,
      action: plan.action,
      text: body,
      eTag,
      runId: eTag === undefined ? undefined : manifestRunId(bucket, prefix, eTag),
    },
    preflight: withoutEvent(preflight),
    wait: options.wait,
  };
  if (out.json) out.result(report);
  else for (const line of dryRunLines(report, options)) out.line(line);
  return 0;
}

interface SentFiles {
  readonly uploaded: number;
  /** Already in the bucket with the same content. */
  readonly skipped: number;
  readonly bytesSent: number;
  readonly seconds: number;
}

/** Sends what is not there yet, FILE_CONCURRENCY files at once; undefined when a file failed (said on stderr). */
async function sendFiles(options: UploadOptions, job: UploadJob, out: Output): Promise<SentFiles | undefined> {
  const { files, toSend, leftOut, bucket, prefix } = job;
  const totalBytes = toSend.reduce((sum, file) => sum + file.size, 0);
  out.info(
    `Uploading ${leftOut > 0 ? `${toSend.length} of ${plural(files.length, 'file')}` : plural(toSend.length, 'file')} (${formatBytes(totalBytes)}) from ${options.dir} to s3://${bucket}/${prefix}` +
      (leftOut > 0 ? `; ${leftOut} left out (--skip-unsupported)` : ''),
  );
  // Every file of DIR counts: those left out are done from the start, so that the bar ends at files/files.
  const progress = new UploadProgress(out.progress, out.progressIsTerminal, files.length, totalBytes);
  if (leftOut > 0) progress.leftOut(leftOut);
  const started = Date.now();
  let uploaded = 0;
  let bytesSent = 0;
  try {
    await mapWithConcurrency(toSend, FILE_CONCURRENCY, async (file) => {
      try {
        const sent = await sendFile(job, file, progress);
        if (sent === undefined) return;
        bytesSent += sent;
        uploaded += 1;
        progress.uploaded();
      } catch (error) {
        throw new Error(`${file.relativePath}: ${(error as Error).message}`, { cause: error });
      }
    });
  } catch (error) {
    progress.interrupt();
    out.error(
      `upload stopped: ${(error as Error).message}. Run the same command again to finish: what is already in the bucket is skipped.`,
    );
    return undefined;
  }
  progress.finish();
  return { uploaded, skipped: toSend.length - uploaded, bytesSent, seconds: (Date.now() - started) / 1000 };
}

/** Uploads one file unless the bucket holds it already: the bytes sent, or undefined when it was there. */
async function sendFile(
  { s3, bucket, prefix, remote }: UploadJob,
  file: LocalFile,
  progress: UploadProgress,
): Promise<number | undefined> {
  const key = `${prefix}${file.relativePath}`;
  const listed = remote.get(file.relativePath);
  if (file.size > SINGLE_PART_MAX) return sendInParts(s3, bucket, key, file, listed, progress);
  const body = await readFile(file.path);
  const digests: Digests = { md5: md5Hex(body), sha256: createHash('sha256').update(body).digest('hex') };
  if (await alreadyThere(s3, bucket, key, { size: body.length, ...digests }, listed)) {
    progress.skipped(body.length);
    return undefined;
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ContentMD5: Buffer.from(digests.md5, 'hex').toString('base64'),
      ContentType: contentTypeOf(file.relativePath),
      Metadata: { [SHA256_METADATA]: digests.sha256 },
    }),
  );
  progress.sent(body.length);
  return body.length;
}

/** A file above SINGLE_PART_MAX: streamed, as a multipart upload (see sendFile). */
async function sendInParts(
  s3: S3Client,
  bucket: string,
  key: string,
  file: LocalFile,
  listed: RemoteObject | undefined,
  progress: UploadProgress,
): Promise<number | undefined> {
  const digests = await hashFile(file.path);
  if (await alreadyThere(s3, bucket, key, { size: file.size, ...digests }, listed)) {
    progress.skipped(file.size);
    return undefined;
  }
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(file.path, { highWaterMark: 1024 * 1024 }),
      ContentType: contentTypeOf(file.relativePath),
      Metadata: { [SHA256_METADATA]: digests.sha256 },
    },
    partSize: PART_SIZE,
    queueSize: PART_QUEUE,
  });
  let reported = 0;
  upload.on('httpUploadProgress', ({ loaded }) => {
    if (loaded !== undefined && loaded > reported) {
      progress.sent(loaded - reported);
      reported = loaded;
    }
  });
  await upload.done();
  if (reported < file.size) progress.sent(file.size - reported);
  return file.size;
}

interface ClosedBatch {
  readonly action: ManifestAction;
  readonly eTag: string | undefined;
  readonly runId: string | undefined;
  /** When manifest.json was written; the epoch when it was left as it was. */
  readonly writtenAt: Date;
}

/** manifest.json last: it closes the batch (see planManifest). */
async function closeBatch(job: UploadJob, uploaded: number): Promise<ClosedBatch> {
  const plan = planManifest(job.manifestText, await readExistingManifest(job), uploaded);
  if (plan.action === 'unchanged') {
    const eTag = listedManifestETag(job);
    return {
      action: plan.action,
      eTag,
      runId: eTag === undefined ? undefined : manifestRunId(job.bucket, job.prefix, eTag),
      writtenAt: new Date(0),
    };
  }
  const { eTag, runId, writtenAt } = await writeManifest(job.s3, job.bucket, job.prefix, plan.text, job.store);
  return { action: plan.action, eTag, runId, writtenAt };
}

function reportUpload(options: UploadOptions, job: UploadJob, sent: SentFiles, closed: ClosedBatch, out: Output): void {
  const { files, leftOut, bucket, prefix } = job;
  const { uploaded, skipped, bytesSent, seconds } = sent;
  const summary: UploadSummary = {
    event: 'uploaded',
    bucket,
    prefix,
    files: files.length,
    uploaded,
    skipped,
    leftOut,
    bytesSent,
    seconds: Math.round(seconds * 10) / 10,
    warnings: job.warnings,
    manifest: { source: job.manifestSource, action: closed.action, eTag: closed.eTag, runId: closed.runId },
  };
  if (out.json) {
    out.result(summary);
    return;
  }
  out.line(
    `Uploaded ${uploaded} of ${plural(files.length, 'file')} (${formatBytes(bytesSent)}) to s3://${bucket}/${prefix} in ${seconds.toFixed(1)} s; ` +
      `${skipped} already there with the same content${leftOut > 0 ? `, ${leftOut} left out (--skip-unsupported)` : ''}.`,
  );
  out.line(
    closed.action === 'unchanged'
      ? `manifest.json unchanged and every file already there: nothing new to run (run \`retry ${options.asset}/${options.flight}\` to run the batch again).`
      : closed.action === 'new-generation'
        ? `manifest.json written again (same content, new ETag) so that the batch runs again with the new files: run ${closed.runId}.`
        : `manifest.json written last: the batch is closed and its inspection starts (run ${closed.runId}).`,
  );
}

function withoutEvent({ event: _event, ...rest }: PreflightReport): Omit<PreflightReport, 'event'> {
  return rest;
}

const ACTION_LABELS: Record<FileAction, string> = {
  upload: 'upload',
  'already-there': 'already there',
  'left-out': 'left out',
};

/** `upload --dry-run` for people: each file and what would happen to it, then the manifest it would write. */
export function dryRunLines(report: UploadDryRun, options: Pick<UploadOptions, 'dir'>): string[] {
  const width = Math.max(...Object.values(ACTION_LABELS).map((label) => label.length));
  const lines = [
    `Dry run: nothing is uploaded or written. Target: s3://${report.bucket}/${report.prefix} (${report.source}).`,
    `Would upload ${report.upload.files} of ${plural(report.files.length, 'file')} (${formatBytes(report.upload.bytes)}) from ${options.dir}; ` +
      `${report.skipped} already there with the same content${report.leftOut > 0 ? `, ${report.leftOut} left out (--skip-unsupported)` : ''}:`,
  ];
  for (const file of report.files) {
    const why =
      file.skipReason === undefined
        ? ''
        : file.action === 'left-out'
          ? `: ${file.skipReason}`
          : `  (the pipeline will skip it: ${file.skipReason})`;
    lines.push(`  ${ACTION_LABELS[file.action].padEnd(width)}  ${file.path}  ${formatBytes(file.size)}${why}`);
  }
  const { manifest } = report;
  const named =
    manifest.source === 'flags'
      ? 'built from the flags'
      : manifest.source === 'file'
        ? 'from --manifest'
        : `from ${join(options.dir, MANIFEST_FILE)}`;
  if (manifest.action === 'unchanged') {
    lines.push(
      'manifest.json is unchanged and every file is already there: nothing would be written (`retry` runs the batch again).',
    );
  } else {
    lines.push(
      manifest.action === 'new-generation'
        ? `Would then write manifest.json again (${named}; same content, new ETag ${manifest.eTag}) so that the batch runs again: run ${manifest.runId}:`
        : `Would then write manifest.json (${named}, ETag ${manifest.eTag}), which closes the batch and starts run ${manifest.runId}:`,
    );
    lines.push(
      ...manifest.text
        .replace(/\n+$/, '')
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  if (report.wait) lines.push('and, with --wait, follow the batch until its outcome.');
  return lines;
}
