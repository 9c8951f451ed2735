import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type BackoffPolicy, fullJitterDelay } from '../pix4d/backoff';
import type { TemporaryS3Credentials } from '../pix4d/temporary-s3-credentials';
import { redact } from '../redact';
import { createAwsS3Client, createS3Client } from '../s3-client';
import type { S3CredentialsSource } from './credentials-source';
import { withHeapHeadroom } from './heap-headroom';
import { mapWithConcurrency } from './pool';

/**
 * The copy engine of "Copy photos": streams objects from the drop bucket into the inspection's prefix of the
 * Pix4Dinspect bucket, with the inspection's temporary credentials, and checks that what landed has the size of
 * what was listed.
 *
 * Sizes. The source must answer with the listed size, or the object changed after the batch closed, and nothing is
 * written. A single PutObject declares that size as its Content-Length: S3 stores exactly that many bytes or
 * refuses the request, so its success is the check, and no request follows it. A multipart upload declares no
 * total (lib-storage cuts parts from the stream until it ends), so its object is checked with a HeadObject.
 *
 * Memory. An object at or below the multipart threshold goes through as a stream (a PutObject whose body is the
 * GetObject body): only socket and stream buffers are held. An object above it goes through lib-storage's
 * `Upload`, which holds the `queueSize` parts being sent, and, while it cuts the next part from the stream, the
 * chunks read for it, the part they are joined into, and the previous joined buffer (kept alive by the few bytes
 * of it that start the next part). So each upload holds up to `(queueSize + 2) x partSize` bytes, not the
 * `queueSize x partSize` of lib-storage's documentation, and the copy up to
 *
 *     concurrency x (queueSize + 2) x partSize = 8 x 4 x 8 MiB = 256 MiB with the defaults
 *
 * (`peakBufferBytes`), when every object in flight is above the threshold. Measured here: 4 uploads at once with
 * queueSize 2 and 8 MiB parts held 122 MiB of live buffers (the formula: 128 MiB); 2 x (2 + 2) x 5 MiB, 45 MiB
 * (40). Freed buffers stay counted until the garbage collector runs, so a Lambda's memory must leave room above
 * this figure as well as for Node and the SDK (about 120 MiB). A completeness check (`checkContent.completeness`)
 * adds one source chunk per object (tens of KiB): the chunk held back until the check has seen the end.
 */

const MiB = 1024 * 1024;

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_PART_SIZE_BYTES = 8 * MiB;
export const DEFAULT_QUEUE_SIZE = 2;
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 16 * MiB;
export const DEFAULT_MAX_OBJECT_ATTEMPTS = 4;
/** S3's smallest part (the last part excepted), enforced by lib-storage. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
/** S3's largest single PutObject. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 * MiB;
/** S3's largest number of parts in one multipart upload. */
const MAX_PARTS = 10_000;
/** Attempts of one request by the SDK itself (throttling, 5xx, network), within one attempt of an object. */
const SDK_MAX_ATTEMPTS = 3;

/** Waits between attempts of one object: full jitter below 250 ms, 500 ms, 1 s... up to 2 s. */
const OBJECT_BACKOFF: BackoffPolicy = {
  maxAttempts: Number.POSITIVE_INFINITY,
  baseDelayMs: 250,
  maxDelayMs: 2_000,
  maxTotalMs: Number.POSITIVE_INFINITY,
};

/** Codes with which S3 refuses credentials that have expired (400 ExpiredToken): answered with new credentials. */
const EXPIRED_CREDENTIALS_CODES = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired']);
/** Codes that may mean the same when a refresh was due anyway (a policy or key that has just been replaced). */
const REFUSED_CREDENTIALS_CODES = new Set([
  'InvalidAccessKeyId',
  'AccessDenied',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'Forbidden',
]);
/**
 * Names the SDK gives an S3 error that came without a body, hence without a code, as every HeadObject error does:
 * `Unknown` with @aws-sdk/client-s3 3.1164 (measured); `BadRequest` is there for a client that names it by status.
 */
const CODELESS_ERROR_NAMES = new Set(['Unknown', 'UnknownError', 'BadRequest']);
/** Source answers that another attempt cannot change. */
const PERMANENT_SOURCE_CODES = new Set(['NoSuchKey', 'NoSuchBucket', 'InvalidObjectState']);

/** One object to copy: `relativePath` (relative to the batch folder) is kept below the inspection's prefix. */
export interface CopyItem {
  readonly sourceKey: string;
  readonly relativePath: string;
  /** Size of the source object as listed; the copy must have it. */
  readonly size: number;
}

export interface CopyOptions {
  /** Objects in flight. @default 8 */
  readonly concurrency?: number;
  /** Part size of multipart uploads, at least 5 MiB (raised for objects that would need more than 10,000 parts). @default 8 MiB */
  readonly partSizeBytes?: number;
  /** Parts in flight per multipart upload. @default 2 */
  readonly queueSize?: number;
  /** Objects larger than this go through a multipart upload; the others through one streamed PutObject. @default 16 MiB */
  readonly multipartThresholdBytes?: number;
  /** Attempts per object (each with a new GetObject stream), the first included. @default 4 */
  readonly maxObjectAttempts?: number;
  /** S3-compatible endpoint of the destination (the simulator's gateway locally); absent: AWS S3 in the credentials' region. */
  readonly destinationEndpoint?: string;
  /** Called once per object, after its size has been verified. */
  readonly onObjectCopied?: (event: { relativePath: string; bytes: number }) => void;
  /** Wraps each destination client the copy creates (a Lambda traces its calls). @default clients as they are */
  readonly instrumentClient?: (client: S3Client) => S3Client;
  /**
   * Judges each object by its first bytes before anything is written, then, optionally, by all of its bytes as
   * they stream across: a reason skips the object. The copy reads the photos anyway, so the check costs no extra
   * request (and no other function needs to read them).
   * @default every object is copied
   */
  readonly checkContent?: ContentCheck;
}

/** The reason to skip an object, from its relative path and its first bytes; undefined to copy it. */
export interface ContentCheck {
  readonly bytesNeeded: number;
  reasonToSkip(relativePath: string, firstBytes: Uint8Array): string | undefined;
  /**
   * A check of the whole content as it streams across (that a photo is complete), for an object its first bytes
   * accepted; undefined for none. Its reason skips the object although it has been streamed: the upload is
   * held back by its last chunk until the check has seen the end, then abandoned, so no object is completed.
   */
  completeness?(relativePath: string, firstBytes: Uint8Array): StreamedContentCheck | undefined;
}

/** Fed every byte of an object in order; `finish` gives the reason to skip it, after the last byte. */
export interface StreamedContentCheck {
  update(chunk: Uint8Array): void;
  finish(): string | undefined;
}

export interface SkippedPhoto {
  readonly relativePath: string;
  readonly reason: string;
}

export interface CopySource {
  readonly client: S3Client;
  readonly bucket: string;
}

export interface CopiedPhoto {
  readonly relativePath: string;
  /** Key in the destination bucket: `keyPrefix/relativePath`. */
  readonly key: string;
  readonly bytes: number;
}

export interface CopyResult {
  /** In the order of the items. */
  readonly copied: CopiedPhoto[];
  /** Objects the content check ruled out, in the order of the items. */
  readonly skipped: SkippedPhoto[];
  readonly bytes: number;
}

/** An object could not be copied within its attempts. The message names the path and the last error, never credentials. */
export class PhotoCopyError extends Error {
  override name = 'PhotoCopyError';

  constructor(
    readonly relativePath: string,
    readonly attempts: number,
    /** Where the last attempt failed: reading the source object, or writing (or checking) the copy. */
    readonly failedAt: 'source' | 'destination',
    readonly lastErrorName: string,
    readonly lastErrorMessage: string,
  ) {
    super(
      `Could not copy photo "${relativePath}" after ${attempts} attempt(s); the last failed at the ${failedAt}: ` +
        `${lastErrorName}: ${lastErrorMessage}`,
    );
  }
}

/** The copy of a multipart upload has another size than the one listed, attempt after attempt. */
export class CopySizeMismatchError extends Error {
  override name = 'CopySizeMismatchError';

  constructor(
    readonly relativePath: string,
    readonly expectedBytes: number,
    /** `undefined` when the destination gave no Content-Length. */
    readonly actualBytes: number | undefined,
  ) {
    super(
      `The copy of photo "${relativePath}" has ${actualBytes ?? 'an unknown number of'} bytes instead of ${expectedBytes}`,
    );
  }
}

/**
 * The drop bucket answers for a photo with another size than the one listed: it was replaced after the batch
 * closed. Nothing of it is written, and no attempt follows, here or in the workflow: another cannot change it.
 */
export class PhotoChangedError extends Error {
  override name = 'PhotoChangedError';

  constructor(
    readonly relativePath: string,
    readonly listedBytes: number,
    readonly actualBytes: number,
  ) {
    super(
      `Photo "${relativePath}" has ${actualBytes} bytes in the drop bucket instead of the ${listedBytes} it had when listed: it changed after the batch closed`,
    );
  }
}

/**
 * Bytes the copy may hold at once in buffers: `concurrency x (queueSize + 2) x partSizeBytes`, 256 MiB with the
 * defaults (see the module comment for why 2 more parts than `queueSize` per upload). Objects at or below the
 * multipart threshold are streamed and add only socket buffers.
 */
export function peakBufferBytes(
  options: Pick<CopyOptions, 'concurrency' | 'partSizeBytes' | 'queueSize'> = {},
): number {
  const { concurrency, partSizeBytes, queueSize } = resolveOptions(options);
  return concurrency * (queueSize + 2) * partSizeBytes;
}

/**
 * Copies each item from `source` to `s3://<credentials.bucket>/<credentials.keyFor(relativePath)>`, `concurrency`
 * objects at a time, and checks sizes (see the module comment). Credentials are taken from `credentials` before
 * each object (refreshed before they expire) and refreshed when the destination says they have expired.
 *
 * Rejects with `PhotoCopyError`, `CopySizeMismatchError` or `PhotoChangedError` for the first object that fails (no
 * new object starts after it), or with the error of the credentials source when it cannot provide credentials.
 */
export async function copyPhotos(
  items: readonly CopyItem[],
  source: CopySource,
  credentials: S3CredentialsSource,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const settings = resolveOptions(options);
  checkItems(items);
  const destinations = new DestinationClients(
    settings.destinationEndpoint,
    settings.concurrency * settings.queueSize,
    options.instrumentClient,
  );
  try {
    const outcomes = await withHeapHeadroom(() =>
      mapWithConcurrency(items, settings.concurrency, async (item) => {
        const outcome = await copyWithAttempts(item, source, credentials, destinations, settings);
        if ('key' in outcome) options.onObjectCopied?.({ relativePath: outcome.relativePath, bytes: outcome.bytes });
        return outcome;
      }),
    );
    const copied = outcomes.filter((outcome): outcome is CopiedPhoto => 'key' in outcome);
    const skipped = outcomes.filter((outcome): outcome is SkippedPhoto => 'reason' in outcome);
    return { copied, skipped, bytes: copied.reduce((sum, photo) => sum + photo.bytes, 0) };
  } finally {
    destinations.destroy();
  }
}

interface ResolvedOptions {
  readonly concurrency: number;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  readonly multipartThresholdBytes: number;
  readonly maxObjectAttempts: number;
  readonly destinationEndpoint: string | undefined;
  readonly checkContent: ContentCheck | undefined;
}

function resolveOptions(options: CopyOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    partSizeBytes: options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES,
    queueSize: options.queueSize ?? DEFAULT_QUEUE_SIZE,
    multipartThresholdBytes: options.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES,
    maxObjectAttempts: options.maxObjectAttempts ?? DEFAULT_MAX_OBJECT_ATTEMPTS,
    destinationEndpoint: options.destinationEndpoint,
    checkContent: options.checkContent,
  };
  const positiveInteger = (name: keyof ResolvedOptions, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  };
  positiveInteger('concurrency', resolved.concurrency);
  positiveInteger('queueSize', resolved.queueSize);
  positiveInteger('maxObjectAttempts', resolved.maxObjectAttempts);
  if (!Number.isInteger(resolved.partSizeBytes) || resolved.partSizeBytes < MIN_PART_SIZE_BYTES) {
    throw new RangeError(
      `partSizeBytes must be an integer of at least ${MIN_PART_SIZE_BYTES} (5 MiB), not ${resolved.partSizeBytes}`,
    );
  }
  const threshold = resolved.multipartThresholdBytes;
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_SINGLE_PUT_BYTES) {
    throw new RangeError(
      `multipartThresholdBytes must be an integer from 0 to ${MAX_SINGLE_PUT_BYTES} (5 GiB), not ${threshold}`,
    );
  }
  return resolved;
}

/** Each relative path names one object below the prefix: no empty path, no `.` or `..` segment, no duplicate. */
function checkItems(items: readonly CopyItem[]): void {
  const seen = new Set<string>();
  for (const { relativePath } of items) {
    const path = relativePath.replace(/^\/+/, '');
    if (!path || path.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw new RangeError(`Not a relative path below the inspection's prefix: "${relativePath}"`);
    }
    if (seen.has(path)) throw new RangeError(`Two items have the relative path "${relativePath}"`);
    seen.add(path);
  }
}

/**
 * Destination clients, one per credentials value, sharing one keep-alive connection pool sized for every request
 * the copy can have in flight (`concurrency x queueSize`). The SDK retries throttling, 5xx and network errors of
 * each request (standard mode); streamed PutObjects it cannot retry are retried here, object by object.
 */
class DestinationClients {
  private readonly handler: NodeHttpHandler;
  private readonly clients = new Map<TemporaryS3Credentials, S3Client>();

  constructor(
    private readonly endpoint: string | undefined,
    maxSockets: number,
    private readonly instrument: (client: S3Client) => S3Client = (client) => client,
  ) {
    // Agent instances rather than options: the handler then keeps them for requests with `Expect: 100-continue`
    // (every part of 2 MiB or more) instead of opening a throw-away connection for each.
    this.handler = new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      connectionTimeout: 10_000,
      // A source that stalls mid-stream leaves the destination's socket idle: cut it, and the attempt fails.
      socketTimeout: 120_000,
    });
  }

  for(credentials: TemporaryS3Credentials): S3Client {
    let client = this.clients.get(credentials);
    if (!client) {
      const config: S3ClientConfig = {
        region: credentials.region,
        credentials: {
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          sessionToken: credentials.sessionToken,
        },
        requestHandler: this.handler,
        retryMode: 'standard',
        maxAttempts: SDK_MAX_ATTEMPTS,
        logger: sdkLogger,
      };
      client = this.instrument(
        this.endpoint ? createS3Client({ ...config, endpoint: this.endpoint }) : createAwsS3Client(config),
      );
      this.clients.set(credentials, client);
    }
    return client;
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
    this.handler.destroy();
  }
}

/**
 * The SDK's own warnings (socket pool exhaustion...), less the one it gives each time a streamed PutObject fails:
 * it cannot send the stream again, and the copier retries the object instead. Its info and error lines are
 * dropped: they carry each command's input, and the copier reports failures itself.
 */
const sdkLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (...content: unknown[]) => {
    if (!content.some((part) => typeof part === 'string' && part.includes('non-retryable streaming request')))
      console.warn(...content);
  },
  error: () => {},
};

async function copyWithAttempts(
  item: CopyItem,
  source: CopySource,
  credentialsSource: S3CredentialsSource,
  destinations: DestinationClients,
  settings: ResolvedOptions,
): Promise<CopiedPhoto | SkippedPhoto> {
  const used = new Set<TemporaryS3Credentials>();
  let lastError: unknown;
  let lastFromSource = false;
  let attempts = 0;
  while (attempts < settings.maxObjectAttempts) {
    attempts += 1;
    // A source of credentials that fails has already retried what it could: its error goes out as it is.
    const credentials = await credentialsSource.current();
    used.add(credentials);
    const key = credentials.keyFor(item.relativePath);
    const attempt = new Attempt();
    try {
      const destination = destinations.for(credentials);
      const skipReason = await attempt.transfer(item, source, destination, credentials.bucket, key, settings);
      if (skipReason !== undefined) return { relativePath: item.relativePath, reason: skipReason };
      return { relativePath: item.relativePath, key, bytes: item.size };
    } catch (error) {
      lastError = error;
      lastFromSource = attempt.isFromSource(error);
      if (attempt.isPermanent(error) || attempts >= settings.maxObjectAttempts) break;
      if (attempt.refusedCredentials(error, credentials, credentialsSource)) {
        const replacement = await credentialsSource.refresh(credentials);
        used.add(replacement);
      }
      await sleep(fullJitterDelay(attempts, OBJECT_BACKOFF));
    }
  }
  if (lastError instanceof CopySizeMismatchError || lastError instanceof PhotoChangedError) throw lastError;
  const secrets = [...used].flatMap((credentials) => [credentials.secretAccessKey, credentials.sessionToken]);
  throw new PhotoCopyError(
    item.relativePath,
    attempts,
    lastFromSource ? 'source' : 'destination',
    redact(errorName(lastError), secrets),
    redact(errorMessage(lastError), secrets),
  );
}

/** One attempt at one object; it knows which errors came from the source. */
class Attempt {
  private readonly sourceErrors = new WeakSet<object>();

  /**
   * Streams the object across, and checks the size of a multipart upload's object; returns the content check's
   * reason instead when it rules the object out.
   */
  async transfer(
    item: CopyItem,
    source: CopySource,
    destination: S3Client,
    bucket: string,
    key: string,
    settings: ResolvedOptions,
  ): Promise<string | undefined> {
    const answer = await this.fromSource(
      source.client.send(new GetObjectCommand({ Bucket: source.bucket, Key: item.sourceKey })),
    );
    const received = answer.Body;
    if (!(received instanceof Readable))
      throw this.markSource(new Error(`GetObject of "${item.sourceKey}" gave no readable body`));
    const length = answer.ContentLength ?? item.size;
    let body: Readable = received;
    let firstBytes: Uint8Array | undefined;
    if (settings.checkContent) {
      const peeked = await this.fromSource(peek(body, settings.checkContent.bytesNeeded));
      const reason = settings.checkContent.reasonToSkip(item.relativePath, peeked.firstBytes);
      if (reason !== undefined) {
        body.destroy();
        return reason;
      }
      body = peeked.rest;
      firstBytes = peeked.firstBytes;
    }
    // After the first bytes' check: a photo replaced by a text file is skipped, as it would have been before.
    if (length !== item.size) {
      body.destroy();
      throw new PhotoChangedError(item.relativePath, item.size, length);
    }
    const check = firstBytes && settings.checkContent?.completeness?.(item.relativePath, firstBytes);
    const gate = check ? new CompletenessGate(check, length, (error) => this.markSource(error)) : undefined;
    // An error of the source stream stops a PutObject (lib-storage sees it itself, reading the stream); it is the
    // error that counts, not the abort it causes. So does the gate's refusal.
    let streamError: Error | undefined;
    const stopped = new AbortController();
    const stop = (error: Error) => {
      streamError ??= error;
      stopped.abort();
    };
    body.on('error', (error) => stop(this.markSource(error)));
    let content: Readable = body;
    if (gate) {
      gate.on('error', stop);
      // pipeline, unlike pipe, passes a source error on to the gate, and so to lib-storage reading it.
      pipeline(body, gate, () => {});
      content = gate;
    }
    const params = {
      Bucket: bucket,
      Key: key,
      Body: content,
      ContentLength: length,
      ...(answer.ContentType ? { ContentType: answer.ContentType } : {}),
    };
    const multipart = length > settings.multipartThresholdBytes;
    try {
      if (!multipart) {
        await destination.send(new PutObjectCommand(params), { abortSignal: stopped.signal });
      } else {
        const upload = new Upload({
          client: destination,
          params,
          partSize: Math.max(settings.partSizeBytes, Math.ceil(length / MAX_PARTS)),
          queueSize: settings.queueSize,
          leavePartsOnError: false,
        });
        await upload.done();
      }
    } catch (error) {
      // Refused by the gate: whatever the upload's own error (the abort, or an AbortMultipartUpload that failed).
      if (gate?.refusal !== undefined) return gate.refusal;
      throw streamError ?? error;
    } finally {
      // After a failure the rest of the source is not wanted; its connection is closed rather than read to the end.
      if (!body.readableEnded) body.destroy();
      if (gate && !gate.readableEnded) gate.destroy();
    }
    // A refused gate never lets its last chunk out, so an upload that succeeded was accepted.
    if (multipart) await this.verify(item, destination, bucket, key);
    return undefined;
  }

  private async verify(item: CopyItem, destination: S3Client, bucket: string, key: string): Promise<void> {
    const head = await destination.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (head.ContentLength !== item.size)
      throw new CopySizeMismatchError(item.relativePath, item.size, head.ContentLength);
  }

  isPermanent(error: unknown): boolean {
    if (error instanceof PhotoChangedError) return true;
    return this.isFromSource(error) && PERMANENT_SOURCE_CODES.has(errorName(error));
  }

  /**
   * Whether the destination refused the credentials in a way that new credentials may fix: S3's ExpiredToken, or,
   * when the credentials are due, a refusal of the credentials or a codeless 400 or 403 (HeadObject errors have
   * no body: expired credentials get a bare 400 there).
   */
  refusedCredentials(error: unknown, used: TemporaryS3Credentials, source: S3CredentialsSource): boolean {
    if (this.isFromSource(error) || error instanceof CopySizeMismatchError) return false;
    const name = errorName(error);
    if (EXPIRED_CREDENTIALS_CODES.has(name)) return true;
    const status = httpStatus(error);
    // Any 403 may be a refusal of the credentials; a 400 only when it names nothing else.
    const refused =
      REFUSED_CREDENTIALS_CODES.has(name) || status === 403 || (status === 400 && CODELESS_ERROR_NAMES.has(name));
    return refused && source.isDue(used);
  }

  private async fromSource<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      throw this.markSource(error);
    }
  }

  private markSource<E>(error: E): E {
    if (typeof error === 'object' && error !== null) this.sourceErrors.add(error);
    return error;
  }

  isFromSource(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.sourceErrors.has(error);
  }
}

/**
 * Passes an object's content on to its upload one chunk behind, feeding each chunk to a completeness check: the
 * last chunk goes out only once the check has seen the end and accepted the whole, so the upload of a refused
 * object never gets its last bytes (S3 does not store a PutObject whose body is cut short, nor a multipart upload
 * that is not completed) and fails with `ContentRefusedError`. A source that ends before its Content-Length is a
 * failed read, retried like any other, not a truncated photo.
 */
class CompletenessGate extends Transform {
  /** The check's reason, once it has refused the content. */
  refusal: string | undefined;
  private held: Buffer | undefined;
  private received = 0;

  constructor(
    private readonly check: StreamedContentCheck,
    private readonly expectedBytes: number,
    private readonly sourceError: (error: Error) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.received += chunk.length;
    try {
      this.check.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    if (this.received !== this.expectedBytes) {
      callback(
        this.sourceError(new Error(`The source stream ended after ${this.received} of ${this.expectedBytes} bytes`)),
      );
      return;
    }
    this.refusal = this.check.finish();
    if (this.refusal !== undefined) callback(new ContentRefusedError(this.refusal));
    else callback(null, this.held);
  }
}

/** The completeness check refused an object as it ended: its upload is abandoned. */
class ContentRefusedError extends Error {
  override name = 'ContentRefusedError';
}

/**
 * The first `count` bytes of a stream (fewer if it is shorter), and a stream of the whole content for whoever
 * reads it next: the same stream with the bytes put back, or a new one when the stream already ended.
 */
async function peek(stream: Readable, count: number): Promise<{ firstBytes: Uint8Array; rest: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  const onEnd = () => {
    ended = true;
  };
  stream.once('end', onEnd);
  try {
    while (size < count && !ended) {
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) {
        chunks.push(chunk);
        size += chunk.length;
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          stream.off('readable', done);
          stream.off('end', done);
          stream.off('error', reject);
          resolve();
        };
        stream.once('readable', done);
        stream.once('end', done);
        stream.once('error', reject);
      });
    }
  } finally {
    stream.off('end', onEnd);
  }
  const head = Buffer.concat(chunks);
  if (ended) return { firstBytes: head.subarray(0, count), rest: Readable.from([head]) };
  if (head.length > 0) stream.unshift(head);
  return { firstBytes: head.subarray(0, count), rest: stream };
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name || 'Error';
  return typeof error;
}

/** The message, with the HTTP status when there was one (a HeadObject's error has no body, hence no message). */
function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatus(error);
  const message = error.message && error.message !== 'UnknownError' ? error.message : 'no message';
  return status === undefined ? message : `${message} (HTTP ${status})`;
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}
