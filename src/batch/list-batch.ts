import { GetObjectCommand, paginateListObjectsV2, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../copy/pool';
import { METADATA_BYTES, type PhotoMetadata, readPhotoMetadata } from '../preflight/photo-metadata';
import { FIRST_BYTES_NEEDED, skipReasonByContent, skipReasonByName } from './classify';
import { MANIFEST_FILE, misplacedManifestReason } from './keys';

/**
 * Reading a batch from the drop bucket: list it, then decide which objects are images to process and which are
 * skipped (with a reason for the notification). Only List/Get/Head calls: the drop bucket belongs to the people
 * who fill it, and the pipeline never changes it.
 */

/** S3's own maximum page size for ListObjectsV2. */
const DEFAULT_PAGE_SIZE = 1000;
/** Parallel ranged reads: enough to hide latency, few enough not to exhaust the SDK's socket pool. */
const DEFAULT_CONCURRENCY = 16;

export interface BatchObject {
  readonly key: string;
  /** The key after the batch prefix, sub-folders kept. */
  readonly relativePath: string;
  readonly size: number;
  /** Without the quotes that S3 puts around it in listings, as in S3 event notifications. */
  readonly etag: string;
  /** ISO 8601. */
  readonly lastModified: string;
}

export interface SkippedObject {
  readonly key: string;
  readonly reason: string;
}

export interface BatchImage {
  readonly key: string;
  readonly relativePath: string;
  readonly size: number;
  /** What the photo's first bytes say about it (with `readMetadata`). */
  readonly metadata?: PhotoMetadata;
}

export interface ListBatchOptions {
  /** Keys per ListObjectsV2 page. @default 1000 */
  readonly pageSize?: number;
}

export interface ClassifyBatchOptions {
  /** `processing_parameters.is_video`: take videos instead of photos. */
  readonly isVideo: boolean;
  /** The manifest's `images`: only these relative paths are taken. */
  readonly selection?: readonly string[];
  /** Ranged reads in flight at once. @default 16 */
  readonly concurrency?: number;
  /**
   * The batch prefix, to name selected images that have no object (`<prefix><path>`). Taken from the objects when
   * not given; needed only when `objects` may be empty.
   */
  readonly prefix?: string;
  /**
   * Read each candidate's first bytes and skip those whose content contradicts the name (the copy checks them again
   * as it streams: a photo may be replaced in between).
   * @default true
   */
  readonly inspectContent?: boolean;
  /**
   * Read each photo's metadata (position, capture time, camera) from the same ranged read as its first bytes, which
   * then reads `METADATA_BYTES` instead of a dozen. Videos are judged by their container type only.
   * @default false
   */
  readonly readMetadata?: boolean;
}

/**
 * Every object of the batch folder `prefix` (which must end with `/`, so `tower-1/flight-1/` does not take in
 * `tower-1/flight-10/`), sorted by relative path; folder markers left out, the batch's manifest.json apart.
 */
export async function listBatch(
  s3: S3Client,
  bucket: string,
  prefix: string,
  options: ListBatchOptions = {},
): Promise<{ objects: BatchObject[]; manifest?: BatchObject }> {
  if (!prefix.endsWith('/') || prefix === '/')
    throw new Error(`batch prefix must be a folder ending with "/": ${JSON.stringify(prefix)}`);
  const objects: BatchObject[] = [];
  let manifest: BatchObject | undefined;
  for await (const object of listObjects(s3, bucket, prefix, options.pageSize ?? DEFAULT_PAGE_SIZE)) {
    // Consoles create "folders" as empty keys ending with '/': not files of the batch.
    if (object.key.endsWith('/')) continue;
    if (object.relativePath === MANIFEST_FILE) manifest = object;
    else objects.push(object);
  }
  objects.sort(byRelativePath);
  return manifest === undefined ? { objects } : { objects, manifest };
}

/** All objects under the prefix, page after page. */
async function* listObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  pageSize: number,
): AsyncGenerator<BatchObject> {
  for await (const page of paginateListObjectsV2({ client: s3, pageSize }, { Bucket: bucket, Prefix: prefix })) {
    for (const entry of page.Contents ?? []) {
      if (entry.Key === undefined) continue;
      yield {
        key: entry.Key,
        relativePath: entry.Key.slice(prefix.length),
        size: entry.Size ?? 0,
        etag: (entry.ETag ?? '').replace(/^"|"$/g, ''),
        lastModified: (entry.LastModified ?? new Date(0)).toISOString(),
      };
    }
  }
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function byRelativePath(a: { relativePath: string }, b: { relativePath: string }): number {
  return compareStrings(a.relativePath, b.relativePath);
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * The first `count` bytes of an object (fewer when it is shorter) with one ranged GetObject, so that checking a
 * 30 MB photo costs 12 bytes of transfer.
 */
export async function readFirstBytes(
  s3: S3Client,
  bucket: string,
  key: string,
  count: number = FIRST_BYTES_NEEDED,
): Promise<Uint8Array> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be an integer >= 1, got ${count}`);
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${count - 1}` }));
    // s3rver answers a range of an empty object with `bytes 0-0/0` and a body that never comes: trust the total.
    if (answer.ContentRange?.endsWith('/0')) {
      discard(answer.Body);
      return new Uint8Array(0);
    }
    const bytes = answer.Body === undefined ? new Uint8Array(0) : await answer.Body.transformToByteArray();
    // A server that ignores Range sends the whole object: keep only what was asked for.
    return bytes.subarray(0, count);
  } catch (error) {
    // S3 refuses any range of an empty object with 416 InvalidRange.
    if (isInvalidRange(error)) return new Uint8Array(0);
    throw error;
  }
}

/** Frees the socket of a body we will not read (a Node stream in Lambda and here). */
function discard(body: unknown): void {
  if (typeof body === 'object' && body !== null && 'destroy' in body && typeof body.destroy === 'function')
    body.destroy();
}

function isS3Error(error: unknown): error is S3ServiceException {
  return error instanceof S3ServiceException;
}

function isInvalidRange(error: unknown): boolean {
  return isS3Error(error) && (error.name === 'InvalidRange' || error.$metadata.httpStatusCode === 416);
}

function isNoSuchKey(error: unknown): boolean {
  return isS3Error(error) && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);
}

/**
 * Splits a batch's objects into images to process and skipped objects with reasons: the manifest's selection
 * first, then name and size (free), then the first bytes of what is left (one small read each, bounded
 * concurrency). Both lists sorted by relative path (skipped ones by key, the same order within one batch).
 */
export async function classifyBatch(
  s3: S3Client,
  bucket: string,
  objects: readonly BatchObject[],
  options: ClassifyBatchOptions,
): Promise<{ images: BatchImage[]; skipped: SkippedObject[] }> {
  const skipped: SkippedObject[] = [];
  const selected = applySelection(objects, options, skipped);
  const candidates = selected.filter((object) => {
    const reason =
      misplacedManifestReason(object.relativePath) ??
      skipReasonByName(object.relativePath, object.size, options.isVideo);
    if (reason !== undefined) skipped.push({ key: object.key, reason });
    return reason === undefined;
  });
  const readMetadata = options.readMetadata === true && !options.isVideo;
  const judged: ContentJudgement[] =
    options.inspectContent === false
      ? candidates.map(() => ({}))
      : await mapWithConcurrency(candidates, options.concurrency ?? DEFAULT_CONCURRENCY, (object) =>
          judgeContent(s3, bucket, object, readMetadata),
        );
  const images: BatchImage[] = [];
  candidates.forEach((object, index) => {
    const { reason, metadata } = judged[index]!;
    if (reason === undefined)
      images.push({
        key: object.key,
        relativePath: object.relativePath,
        size: object.size,
        ...(metadata ? { metadata } : {}),
      });
    else skipped.push({ key: object.key, reason });
  });
  images.sort(byRelativePath);
  skipped.sort((a, b) => compareStrings(a.key, b.key));
  return { images, skipped };
}

/**
 * The objects the manifest selects (all without a selection); the others, and the selected paths that have no
 * object, are added to `skipped` so the notification says why an expected photo is missing.
 */
function applySelection(
  objects: readonly BatchObject[],
  options: ClassifyBatchOptions,
  skipped: SkippedObject[],
): BatchObject[] {
  if (options.selection === undefined) return [...objects];
  const wanted = new Set(options.selection);
  const present = new Set(objects.map((object) => object.relativePath));
  for (const object of objects) {
    if (!wanted.has(object.relativePath))
      skipped.push({ key: object.key, reason: 'not listed in manifest.json images' });
  }
  const prefix = options.prefix ?? prefixOf(objects[0]);
  for (const path of wanted) {
    if (!present.has(path))
      skipped.push({ key: `${prefix}${path}`, reason: 'listed in manifest.json images but not found' });
  }
  return objects.filter((object) => wanted.has(object.relativePath));
}

/** The batch prefix of an object: its key without the relative path. */
function prefixOf(object: BatchObject | undefined): string {
  return object === undefined ? '' : object.key.slice(0, object.key.length - object.relativePath.length);
}

interface ContentJudgement {
  readonly reason?: string;
  readonly metadata?: PhotoMetadata;
}

/**
 * Why an object's first bytes rule it out, and, asked for, its metadata from the same read (parsed at once, so that
 * only the metadata of each photo stays in memory); an object deleted since the listing is skipped, not fatal.
 */
async function judgeContent(
  s3: S3Client,
  bucket: string,
  object: BatchObject,
  readMetadata: boolean,
): Promise<ContentJudgement> {
  try {
    const head = await readFirstBytes(s3, bucket, object.key, readMetadata ? METADATA_BYTES : FIRST_BYTES_NEEDED);
    const reason = skipReasonByContent(object.relativePath, head);
    if (reason !== undefined) return { reason };
    return readMetadata ? { metadata: await readPhotoMetadata(head) } : {};
  } catch (error) {
    if (isNoSuchKey(error)) return { reason: 'deleted from the bucket before it could be read' };
    throw error;
  }
}
