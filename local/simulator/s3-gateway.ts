import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  createAwsChunkedDecoder,
  decodedHeadersForForwarding,
  isAwsChunked,
  parseSigV4Authorization,
  verifySigV4,
} from './s3-request';
import type { IssuedS3Credentials, ServiceState } from './service-state';

/**
 * The S3 endpoint of the simulated Pix4Dinspect bucket. The embedded S3 server checks no credentials, so this
 * gateway does what S3 and the inspection's IAM policy would: it accepts only the temporary credentials the
 * simulator handed out, while they are valid, with a correct SigV4 signature, and only below the inspection's
 * prefix. Accepted requests are forwarded to the embedded server with aws-chunked bodies decoded.
 */

export interface S3GatewayOptions {
  readonly state: ServiceState;
  /** `http://127.0.0.1:PORT` of the embedded S3 server holding the bucket. */
  readonly upstreamEndpoint: string;
  readonly log?: RecordedS3Request[];
}

export interface RecordedS3Request {
  readonly method: string;
  readonly key: string | undefined;
  readonly status: number;
  readonly code?: string;
}

interface S3Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export function createS3GatewayHandler(options: S3GatewayOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const upstream = new URL(options.upstreamEndpoint);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://gateway');
    // URL resolves `..` segments in its pathname; S3 keys are literal, so the raw path is what counts.
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const target = parseTarget(req.headers.host, rawPath, options.state.bucket);
    const refusal = await check(req, method, url, target);
    if (refusal) {
      // Read and discard the body, so that the client sees the refusal instead of a reset connection.
      req.resume();
      options.log?.push({ method, key: target.key, status: refusal.status, code: refusal.code });
      return refuse(res, method, refusal);
    }
    const status = await forward(req, res, method, target);
    options.log?.push({ method, key: target.key, status });
  }

  async function check(req: IncomingMessage, method: string, url: URL, target: Target): Promise<S3Refusal | undefined> {
    const authorization = parseSigV4Authorization(req.headers.authorization);
    if (!authorization) {
      return url.searchParams.has('X-Amz-Algorithm')
        ? accessDenied('Query-string authentication is not accepted by this endpoint')
        : accessDenied('Anonymous access is denied');
    }
    // Codes, statuses and messages after the S3 API reference, "Error responses", list of error codes.
    const issued = options.state.credentials.get(authorization.accessKeyId);
    const token = req.headers['x-amz-security-token'];
    // A temporary access key exists only with its session token: without one, S3 does not know the key.
    if (!issued || token === undefined) return invalidAccessKeyId();
    if (token !== issued.sessionToken) {
      return { status: 400, code: 'InvalidToken', message: 'The provided token is malformed or otherwise invalid.' };
    }
    if (Date.now() >= issued.expiresAt) {
      return { status: 400, code: 'ExpiredToken', message: 'The provided token has expired.' };
    }
    const signed = await verifySigV4({ method, rawUrl: req.url ?? '/', headers: req.headers }, issued.secretAccessKey);
    if (!signed) {
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    }
    return authorize(method, url.searchParams, req.headers['x-amz-copy-source'], target, issued);
  }

  function forward(req: IncomingMessage, res: ServerResponse, method: string, target: Target): Promise<number> {
    const chunked = isAwsChunked(req.headers);
    const headers: Record<string, string | string[] | undefined> = chunked
      ? decodedHeadersForForwarding(req.headers)
      : { ...req.headers };
    delete headers['x-amz-security-token'];
    headers.host = upstream.host;
    // The embedded server knows one access key and checks no V4 signature.
    headers.authorization = String(req.headers.authorization).replace(/Credential=[^/]+\//, 'Credential=S3RVER/');
    const path = target.virtualHost ? `/${target.bucket}${req.url ?? '/'}` : (req.url ?? '/');

    return new Promise<number>((resolve, reject) => {
      const upstreamRequest = httpRequest(
        { host: upstream.hostname, port: upstream.port, method, path, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          pipeline(answer, res).then(() => resolve(answer.statusCode ?? 502), reject);
        },
      );
      upstreamRequest.on('error', reject);
      const sent = chunked
        ? pipeline(req, createAwsChunkedDecoder(decodedLength(req.headers)), upstreamRequest)
        : pipeline(req, upstreamRequest);
      sent.catch((error: Error) => {
        upstreamRequest.destroy(error);
        reject(error);
      });
    });
  }

  return (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent)
        refuse(res, req.method ?? 'GET', {
          status: 500,
          code: 'InternalError',
          message: 'We encountered an internal error. Please try again.',
        });
      else res.destroy();
    });
  };
}

interface Target {
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly virtualHost: boolean;
}

/** Path-style `/bucket/key` and virtual-hosted `bucket.host/key` requests. */
function parseTarget(host: string | undefined, pathname: string, knownBucket: string): Target {
  const hostname = (host ?? '').split(':')[0] ?? '';
  const virtualHost = hostname.startsWith(`${knownBucket}.`);
  const segments = pathname.split('/').slice(1);
  const bucket = virtualHost ? knownBucket : segments.shift() || undefined;
  const rawKey = segments.join('/');
  return { bucket, key: rawKey ? safeDecode(rawKey) : undefined, virtualHost };
}

/** What the inspection's policy allows: objects below its prefix, listing within it, multipart uploads there. */
function authorize(
  method: string,
  query: URLSearchParams,
  copySource: string | string[] | undefined,
  target: Target,
  issued: IssuedS3Credentials,
): S3Refusal | undefined {
  if (target.bucket !== issued.bucket) return accessDenied();
  const inside = (key: string | undefined) =>
    key?.startsWith(`${issued.keyPrefix}/`) && !key.split('/').some((segment) => segment === '.' || segment === '..');

  if (target.key === undefined) {
    const listing =
      method === 'GET' &&
      (query.get('list-type') === '2' ||
        [...query.keys()].every((name) =>
          ['prefix', 'delimiter', 'marker', 'max-keys', 'encoding-type'].includes(name),
        ));
    return listing && inside(query.get('prefix') ?? undefined) ? undefined : accessDenied();
  }
  if (!inside(target.key)) return accessDenied();
  if (method === 'DELETE' && !query.has('uploadId')) return accessDenied();
  if (typeof copySource === 'string') {
    const source = safeDecode(copySource.replace(/^\//, '').split('?')[0] ?? '');
    if (!source.startsWith(`${issued.bucket}/`) || !inside(source.slice(issued.bucket.length + 1)))
      return accessDenied();
  }
  return ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'].includes(method) ? undefined : accessDenied();
}

function accessDenied(message = 'Access Denied'): S3Refusal {
  return { status: 403, code: 'AccessDenied', message };
}

function invalidAccessKeyId(): S3Refusal {
  return {
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The AWS Access Key Id you provided does not exist in our records.',
  };
}

/**
 * An S3 error answer. To a HEAD, S3 sends the status and headers only, never the error document (S3 API
 * reference, HeadObject), so the client learns no code: an expired token is a bare 400.
 */
function refuse(res: ServerResponse, method: string, refusal: S3Refusal): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const headers = {
    'Content-Type': 'application/xml',
    'x-amz-request-id': requestId,
    'x-amz-id-2': randomBytes(48).toString('base64'),
    Server: 'AmazonS3',
  };
  if (method === 'HEAD') {
    // No Content-Length either: to a HEAD it would give the length of an error document that is not sent.
    res.writeHead(refusal.status, headers);
    res.end();
    return;
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(refusal.status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function decodedLength(headers: IncomingMessage['headers']): { decodedContentLength?: number } {
  const value = headers['x-amz-decoded-content-length'];
  return typeof value === 'string' && /^\d+$/.test(value) ? { decodedContentLength: Number(value) } : {};
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
