import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Request-level building blocks for the simulator's S3 gateway: SigV4 header
 * verification and `aws-chunked` body decoding, kept free of any server code.
 */

export type IncomingHeaders = Record<string, string | string[] | undefined>;

export interface IncomingS3Request {
  method: string;
  /** Path and query exactly as received (node's `req.url`), still percent-encoded. */
  rawUrl: string;
  /** Node `IncomingHttpHeaders`: lower-case names. */
  headers: IncomingHeaders;
}

export interface SigV4Authorization {
  accessKeyId: string;
  /** Credential scope date, `YYYYMMDD`. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const HEX_PATTERN = /^[0-9a-f]+$/i;

export function parseSigV4Authorization(header: string | undefined): SigV4Authorization | undefined {
  if (typeof header !== 'string' || !header.startsWith(`${SIGV4_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(SIGV4_ALGORITHM.length + 1).split(',')) {
    const trimmed = part.trim();
    const separator = trimmed.indexOf('=');
    if (separator <= 0) return undefined;
    const name = trimmed.slice(0, separator);
    if (fields.has(name)) return undefined;
    fields.set(name, trimmed.slice(separator + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (fields.size !== 3 || credential === undefined || signedHeaders === undefined || signature === undefined) {
    return undefined;
  }

  const scope = credential.split('/');
  if (scope.length !== 5) return undefined;
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service || terminator !== 'aws4_request') return undefined;

  const headerNames = signedHeaders.split(';');
  if (!headerNames.every((name) => HEADER_NAME_PATTERN.test(name))) return undefined;
  if (!HEX_PATTERN.test(signature)) return undefined;

  return { accessKeyId, date, region, service, signedHeaders: headerNames, signature: signature.toLowerCase() };
}

/** sha256 / HMAC-sha256 in the `HashConstructor` shape the signer expects, without the @aws-crypto packages. */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

function headerValue(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name];
  // SigV4 joins repeated header values with a bare comma.
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(value: string | undefined): Date | undefined {
  const match = value === undefined ? null : AMZ_DATE_PATTERN.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Decodes the raw query string; the signer re-encodes keys and values itself. Throws on bad percent-encoding. */
function parseRawQuery(rawQuery: string): Record<string, string | string[]> {
  const query = new Map<string, string | string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    // `+` stays literal: AWS clients encode a space as %20 and a plus as %2B.
    const key = decodeURIComponent(separator === -1 ? pair : pair.slice(0, separator));
    const value = separator === -1 ? '' : decodeURIComponent(pair.slice(separator + 1));
    const existing = query.get(key);
    if (existing === undefined) query.set(key, value);
    else query.set(key, Array.isArray(existing) ? [...existing, value] : [existing, value]);
  }
  return Object.fromEntries(query);
}

function equalsInConstantTime(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Recomputes the header-based SigV4 signature of an incoming S3 request and compares it with the
 * one it carries. The body is never read: the payload hash is the `x-amz-content-sha256` header as sent.
 * Presigned (query) auth is not supported and yields false.
 */
export async function verifySigV4(request: IncomingS3Request, secretAccessKey: string): Promise<boolean> {
  try {
    const authorization = parseSigV4Authorization(headerValue(request.headers, 'authorization'));
    if (!authorization) return false;
    const signingDate = parseAmzDate(headerValue(request.headers, 'x-amz-date'));
    const payloadHash = headerValue(request.headers, 'x-amz-content-sha256');
    // S3 rejects requests without x-amz-content-sha256, and the signer would otherwise hash a body we never give it.
    if (!signingDate || payloadHash === undefined) return false;

    const signed = new Set(authorization.signedHeaders);
    const headers: Record<string, string> = {};
    for (const name of signed) {
      const value = headerValue(request.headers, name);
      if (value === undefined) return false;
      headers[name] = value;
    }
    // Still the payload hash of the canonical request when it is not itself a signed header.
    headers['x-amz-content-sha256'] = payloadHash;

    const queryStart = request.rawUrl.indexOf('?');
    const path = queryStart === -1 ? request.rawUrl : request.rawUrl.slice(0, queryStart);
    const query = queryStart === -1 ? {} : parseRawQuery(request.rawUrl.slice(queryStart + 1));
    const host = headers.host ?? headerValue(request.headers, 'host') ?? 'localhost';

    // The signer re-adds x-amz-security-token from the credentials, so pass it only when it was signed.
    const sessionToken = signed.has('x-amz-security-token') ? headers['x-amz-security-token'] : undefined;
    const signer = new SignatureV4({
      service: 's3',
      region: authorization.region,
      credentials: { accessKeyId: authorization.accessKeyId, secretAccessKey, sessionToken },
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const signedRequest = await signer.sign(
      { method: request.method.toUpperCase(), protocol: 'http:', hostname: host, path, query, headers },
      {
        signingDate,
        signableHeaders: signed,
        unsignableHeaders: signed.has('x-amz-content-sha256') ? undefined : new Set(['x-amz-content-sha256']),
      },
    );
    const recomputed = parseSigV4Authorization(signedRequest.headers.authorization);
    if (!recomputed) return false;
    return (
      recomputed.signedHeaders.join(';') === authorization.signedHeaders.join(';') &&
      equalsInConstantTime(recomputed.signature, authorization.signature)
    );
  } catch {
    return false;
  }
}

export function isAwsChunked(headers: IncomingHeaders): boolean {
  const contentEncoding = headerValue(headers, 'content-encoding') ?? '';
  const contentSha256 = headerValue(headers, 'x-amz-content-sha256') ?? '';
  return (
    contentEncoding.split(',').some((coding) => coding.trim().toLowerCase() === 'aws-chunked') ||
    contentSha256.startsWith('STREAMING-')
  );
}

/**
 * Headers for forwarding an aws-chunked request, once decoded, to a plain S3 server. Without
 * `x-amz-decoded-content-length` no content-length is set, so the forwarder falls back to chunked transfer.
 */
export function decodedHeadersForForwarding(headers: IncomingHeaders): Record<string, string> {
  const dropped = new Set([
    'content-length',
    'content-encoding',
    'x-amz-decoded-content-length',
    'x-amz-trailer',
    'transfer-encoding',
  ]);
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || dropped.has(name)) continue;
    forwarded[name] = Array.isArray(value) ? value.join(', ') : value;
  }

  const decodedLength = headerValue(headers, 'x-amz-decoded-content-length');
  if (decodedLength !== undefined) forwarded['content-length'] = decodedLength;
  const remainingEncodings = (headerValue(headers, 'content-encoding') ?? '')
    .split(',')
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '' && coding.toLowerCase() !== 'aws-chunked');
  if (remainingEncodings.length > 0) forwarded['content-encoding'] = remainingEncodings.join(', ');
  forwarded['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  return forwarded;
}

// Bounds on what the decoder buffers: one chunk-header or trailer line, and all trailers together.
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;
const MAX_SIZE_HEX_DIGITS = 13;
const CR = 0x0d;
const LF = 0x0a;

type DecoderState = 'chunk-header' | 'chunk-data' | 'chunk-data-cr' | 'chunk-data-lf' | 'trailer' | 'done';

export interface AwsChunkedDecoderOptions {
  /** When known (`x-amz-decoded-content-length`), fail if the decoded payload has another length. */
  decodedContentLength?: number;
}

/**
 * Streams the payload out of an aws-chunked body (unsigned with trailer, signed chunks, or both),
 * whatever the input buffer boundaries. Trailers are available on `trailers` once the stream ends.
 */
export class AwsChunkedDecoder extends Transform {
  trailers: Readonly<Record<string, string>> = {};

  private state: DecoderState = 'chunk-header';
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  private chunkRemaining = 0;
  private decodedLength = 0;
  private trailerBytes = 0;
  private readonly parsedTrailers = new Map<string, string>();
  private readonly expectedLength: number | undefined;

  constructor(options: AwsChunkedDecoderOptions = {}) {
    super();
    this.expectedLength = options.decodedContentLength;
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    const input = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    try {
      this.consume(input);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done') {
      const where = this.state === 'trailer' ? 'before the end of the trailers' : 'before the final 0-size chunk';
      callback(new Error(`aws-chunked body ended ${where}`));
      return;
    }
    if (this.expectedLength !== undefined && this.decodedLength !== this.expectedLength) {
      callback(new Error(`aws-chunked body decoded to ${this.decodedLength} bytes, expected ${this.expectedLength}`));
      return;
    }
    this.trailers = Object.fromEntries(this.parsedTrailers);
    callback();
  }

  private consume(input: Buffer): void {
    let offset = 0;
    while (offset < input.length) {
      switch (this.state) {
        case 'chunk-header':
        case 'trailer': {
          const { line, next } = this.readLine(input, offset);
          offset = next;
          if (line === undefined) break;
          if (this.state === 'chunk-header') this.startChunk(line);
          else this.addTrailer(line);
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.chunkRemaining, input.length - offset);
          this.push(input.subarray(offset, offset + take));
          offset += take;
          this.chunkRemaining -= take;
          if (this.chunkRemaining === 0) this.state = 'chunk-data-cr';
          break;
        }
        case 'chunk-data-cr':
        case 'chunk-data-lf': {
          const expected = this.state === 'chunk-data-cr' ? CR : LF;
          if (input[offset] !== expected) throw new Error('aws-chunked body is missing the CRLF after chunk data');
          offset += 1;
          this.state = this.state === 'chunk-data-cr' ? 'chunk-data-lf' : 'chunk-header';
          break;
        }
        case 'done':
          throw new Error('aws-chunked body has data after its final chunk and trailers');
      }
    }
  }

  /** Accumulates one CRLF-terminated line across input buffers; `line` is undefined until it is complete. */
  private readLine(input: Buffer, offset: number): { line: string | undefined; next: number } {
    const newline = input.indexOf(LF, offset);
    const end = newline === -1 ? input.length : newline;
    this.lineLength += end - offset;
    if (this.lineLength > MAX_LINE_BYTES) throw new Error(`aws-chunked line exceeds ${MAX_LINE_BYTES} bytes`);
    this.lineParts.push(input.subarray(offset, end));
    if (newline === -1) return { line: undefined, next: input.length };

    const raw = Buffer.concat(this.lineParts);
    this.lineParts = [];
    this.lineLength = 0;
    if (raw[raw.length - 1] !== CR) throw new Error('aws-chunked line is not terminated by CRLF');
    if (this.state === 'trailer') {
      this.trailerBytes += raw.length + 1;
      if (this.trailerBytes > MAX_TRAILER_BYTES)
        throw new Error(`aws-chunked trailers exceed ${MAX_TRAILER_BYTES} bytes`);
    }
    return { line: raw.subarray(0, raw.length - 1).toString('latin1'), next: newline + 1 };
  }

  private startChunk(line: string): void {
    // `<hex-size>` optionally followed by `;chunk-signature=<sig>`, the signature being checked elsewhere if at all.
    const sizeField = line.split(';', 1)[0] ?? '';
    if (!HEX_PATTERN.test(sizeField) || sizeField.length > MAX_SIZE_HEX_DIGITS) {
      throw new Error(`aws-chunked chunk header has an invalid size: ${JSON.stringify(line.slice(0, 64))}`);
    }
    const size = Number.parseInt(sizeField, 16);
    if (size === 0) {
      this.state = 'trailer';
      return;
    }
    this.chunkRemaining = size;
    this.decodedLength += size;
    this.state = 'chunk-data';
  }

  private addTrailer(line: string): void {
    if (line === '') {
      this.state = 'done';
      return;
    }
    const separator = line.indexOf(':');
    const name = separator === -1 ? '' : line.slice(0, separator).trim().toLowerCase();
    if (!HEADER_NAME_PATTERN.test(name)) {
      throw new Error(`aws-chunked trailer is malformed: ${JSON.stringify(line.slice(0, 64))}`);
    }
    this.parsedTrailers.set(name, line.slice(separator + 1).trim());
  }
}

export function createAwsChunkedDecoder(options?: AwsChunkedDecoderOptions): AwsChunkedDecoder {
  return new AwsChunkedDecoder(options);
}
