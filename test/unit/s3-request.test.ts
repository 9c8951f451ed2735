import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsChunkedDecoder,
  createAwsChunkedDecoder,
  decodedHeadersForForwarding,
  isAwsChunked,
  parseSigV4Authorization,
  verifySigV4,
} from '../../local/simulator/s3-request.js';

const ACCESS_KEY_ID = 'ASIASIMULATORKEY0001';
const SECRET_ACCESS_KEY = 'simulator-secret/with+odd=chars';
const SESSION_TOKEN = 'simulator-session-token';
const BUCKET = 'inspect-drop';
const AWKWARD_KEY = 'inspections/site 7/photo +1 100% ✓ é/IMG 0001.jpg';

interface CapturedRequest {
  method: string;
  rawUrl: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const LIST_RESULT_XML =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Name>${BUCKET}</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
  '</ListBucketResult>';

let server: Server;
let client: S3Client;
const captured: CapturedRequest[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      captured.push({
        method: req.method ?? '',
        rawUrl: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const isList = req.method === 'GET' && (req.url ?? '').includes('list-type=2');
      res.writeHead(
        200,
        isList ? { 'content-type': 'application/xml' } : { etag: '"00000000000000000000000000000000"' },
      );
      res.end(isList ? LIST_RESULT_XML : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new S3Client({
    region: 'us-east-1',
    forcePathStyle: true,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, sessionToken: SESSION_TOKEN },
    requestChecksumCalculation: 'WHEN_SUPPORTED',
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

/** Sends one real SDK request to the capture server and returns it as the gateway would see it. */
async function captureRequest(send: (s3: S3Client) => Promise<unknown>): Promise<CapturedRequest> {
  const before = captured.length;
  await send(client).catch(() => undefined);
  const request = captured[before];
  if (!request) throw new Error('the SDK request never reached the capture server');
  return request;
}

async function decode(input: Buffer[], decoder: AwsChunkedDecoder = createAwsChunkedDecoder()) {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(input, { objectMode: false }), decoder, sink);
  return { body: Buffer.concat(out), trailers: decoder.trailers };
}

function splitIntoBytes(buffer: Buffer): Buffer[] {
  return Array.from({ length: buffer.length }, (_, index) => buffer.subarray(index, index + 1));
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function crc32Base64(data: Buffer): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(data));
  return bytes.toString('base64');
}

function headerString(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  if (typeof value !== 'string') throw new Error(`header ${name} missing from captured request`);
  return value;
}

describe('parseSigV4Authorization', () => {
  it('parses the Authorization header of a real SDK request', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a.txt', Body: 'hello' })),
    );

    // Act
    const parsed = parseSigV4Authorization(headerString(request.headers, 'authorization'));

    // Assess
    expect(parsed).toMatchObject({ accessKeyId: ACCESS_KEY_ID, region: 'us-east-1', service: 's3' });
    expect(parsed?.date).toBe(headerString(request.headers, 'x-amz-date').slice(0, 8));
    expect(parsed?.signedHeaders).toEqual(
      expect.arrayContaining(['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']),
    );
    expect(parsed?.signature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('parses the documented example form', () => {
    // Prepare
    const header =
      'AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc123';

    // Act
    const parsed = parseSigV4Authorization(header);

    // Assess
    expect(parsed).toEqual({
      accessKeyId: 'AKID',
      date: '20261128',
      region: 'us-east-1',
      service: 's3',
      signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'],
      signature: 'abc123',
    });
  });

  it('returns undefined for absent or malformed headers instead of throwing', () => {
    // Prepare
    const valid = 'Credential=AKID/20261128/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd';
    const malformed = [
      undefined,
      '',
      'Bearer token',
      `AWS4-HMAC-SHA1 ${valid}`,
      'AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/s3/aws4_request, SignedHeaders=host',
      'AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/s3, SignedHeaders=host, Signature=abcd',
      'AWS4-HMAC-SHA256 Credential=AKID/2026-11-28/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abcd',
      'AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=not-hex',
      'AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/s3/aws4_request, SignedHeaders=Host;;x, Signature=abcd',
      `AWS4-HMAC-SHA256 ${valid}, Signature=abcd`,
    ];

    // Act
    const results = malformed.map((header) => parseSigV4Authorization(header));

    // Assess
    expect(results).toEqual(malformed.map(() => undefined));
  });
});

describe('verifySigV4', () => {
  it('accepts a PutObject with an awkward key signed with the right secret', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: AWKWARD_KEY, Body: 'photo bytes', ContentType: 'image/jpeg' }),
      ),
    );

    // Act
    const verified = await verifySigV4(request, SECRET_ACCESS_KEY);

    // Assess
    expect(request.rawUrl).toContain('%20');
    expect(request.rawUrl).toContain('%2B');
    expect(request.rawUrl).toContain('%25');
    expect(verified).toBe(true);
  });

  it('rejects the same request checked against a wrong secret', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: AWKWARD_KEY, Body: 'photo bytes' })),
    );

    // Act
    const verified = await verifySigV4(request, `${SECRET_ACCESS_KEY}x`);

    // Assess
    expect(verified).toBe(false);
  });

  it('rejects a request whose signed header, path or method was altered', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: AWKWARD_KEY, Body: 'photo bytes', ContentType: 'image/jpeg' }),
      ),
    );
    const alteredHeaders = [
      { ...request, headers: { ...request.headers, 'content-type': 'text/plain' } },
      { ...request, headers: { ...request.headers, 'x-amz-security-token': 'another-token' } },
      { ...request, headers: { ...request.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    ];
    const alteredTarget = [
      { ...request, rawUrl: request.rawUrl.replace('IMG%200001', 'IMG%200002') },
      { ...request, method: 'DELETE' },
    ];

    // Act
    const results = await Promise.all(
      [...alteredHeaders, ...alteredTarget].map((altered) => verifySigV4(altered, SECRET_ACCESS_KEY)),
    );

    // Assess
    expect(parseSigV4Authorization(headerString(request.headers, 'authorization'))?.signedHeaders).toContain(
      'content-type',
    );
    expect(results).toEqual([false, false, false, false, false]);
  });

  it('returns false for a missing or malformed Authorization header', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a.txt', Body: 'hello' })),
    );
    const withoutAuth = { ...request, headers: { ...request.headers, authorization: undefined } };
    const garbled = { ...request, headers: { ...request.headers, authorization: 'AWS4-HMAC-SHA256 nonsense' } };
    const badDate = { ...request, headers: { ...request.headers, 'x-amz-date': 'yesterday' } };
    const badQuery = { ...request, rawUrl: `${request.rawUrl}?prefix=%E0%A4%A` };

    // Act
    const results = await Promise.all(
      [withoutAuth, garbled, badDate, badQuery].map((candidate) => verifySigV4(candidate, SECRET_ACCESS_KEY)),
    );

    // Assess
    expect(results).toEqual([false, false, false, false]);
  });

  it('accepts a ListObjectsV2 whose prefix carries a space and a plus', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'inspections/site 7/photo +1', MaxKeys: 5 })),
    );

    // Act
    const verified = await verifySigV4(request, SECRET_ACCESS_KEY);

    // Assess
    expect(request.method).toBe('GET');
    expect(request.rawUrl).toMatch(/prefix=inspections%2Fsite%207%2Fphoto%20%2B1/);
    expect(verified).toBe(true);
  });

  it('accepts an UploadPart carrying partNumber and uploadId', async () => {
    // Prepare
    const request = await captureRequest((s3) =>
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: AWKWARD_KEY,
          UploadId: 'upload/id+with=odd chars',
          PartNumber: 3,
          Body: Buffer.from('part'),
        }),
      ),
    );

    // Act
    const verified = await verifySigV4(request, SECRET_ACCESS_KEY);

    // Assess
    expect(request.rawUrl).toContain('partNumber=3');
    expect(request.rawUrl).toContain('uploadId=');
    expect(verified).toBe(true);
  });
});

describe('aws-chunked bodies sent by the SDK', () => {
  const payload = randomBytes(70_000);
  let request: CapturedRequest;

  beforeAll(async () => {
    // Uneven source chunks so the SDK's aws-chunked frames have several sizes.
    const source = Readable.from(
      [payload.subarray(0, 1000), payload.subarray(1000, 40_000), payload.subarray(40_000)],
      { objectMode: false },
    );
    request = await captureRequest((s3) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: AWKWARD_KEY, Body: source, ContentLength: payload.length })),
    );
  });

  it('is detected as aws-chunked while a plain PutObject is not', async () => {
    // Prepare
    const plain = await captureRequest((s3) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a.txt', Body: 'hello' })),
    );

    // Act
    const detected = [isAwsChunked(request.headers), isAwsChunked(plain.headers)];

    // Assess
    expect(request.headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(detected).toEqual([true, false]);
  });

  it('still verifies, the streaming payload marker being the payload hash', async () => {
    // Prepare
    const incoming = { method: request.method, rawUrl: request.rawUrl, headers: request.headers };

    // Act
    const verified = await verifySigV4(incoming, SECRET_ACCESS_KEY);

    // Assess
    expect(verified).toBe(true);
  });

  it('decodes to exactly the original bytes and exposes the crc32 trailer', async () => {
    // Prepare
    const decoder = createAwsChunkedDecoder({
      decodedContentLength: Number(request.headers['x-amz-decoded-content-length']),
    });

    // Act
    const { body, trailers } = await decode([request.body], decoder);

    // Assess
    expect(request.body.length).toBeGreaterThan(payload.length);
    expect(body.length).toBe(payload.length);
    expect(sha256(body)).toBe(sha256(payload));
    expect(request.headers['x-amz-trailer']).toBe('x-amz-checksum-crc32');
    expect(trailers).toEqual({ 'x-amz-checksum-crc32': crc32Base64(payload) });
  });

  it('decodes the same captured body fed one byte at a time', async () => {
    // Prepare
    const bytes = splitIntoBytes(request.body);

    // Act
    const { body, trailers } = await decode(bytes);

    // Assess
    expect(sha256(body)).toBe(sha256(payload));
    expect(trailers).toEqual({ 'x-amz-checksum-crc32': crc32Base64(payload) });
  });

  it('gives the headers to forward to a plain S3 server', () => {
    // Prepare
    const { headers } = request;

    // Act
    const forwarded = decodedHeadersForForwarding(headers);

    // Assess
    expect(forwarded['content-length']).toBe(String(payload.length));
    expect(forwarded['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    for (const dropped of ['content-encoding', 'x-amz-decoded-content-length', 'x-amz-trailer', 'transfer-encoding']) {
      expect(forwarded).not.toHaveProperty(dropped);
    }
    expect(forwarded.authorization).toBe(headers.authorization);
    expect(forwarded['x-amz-security-token']).toBe(SESSION_TOKEN);
    expect(forwarded.host).toBe(headers.host);
  });
});

describe('createAwsChunkedDecoder', () => {
  const signature = (seed: string) => createHash('sha256').update(seed).digest('hex');

  it('decodes a signed-chunk body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', async () => {
    // Prepare
    const first = randomBytes(65_536);
    const second = randomBytes(1_024);
    const body = Buffer.concat([
      Buffer.from(`10000;chunk-signature=${signature('1')}\r\n`),
      first,
      Buffer.from(`\r\n400;chunk-signature=${signature('2')}\r\n`),
      second,
      Buffer.from(`\r\n0;chunk-signature=${signature('3')}\r\n\r\n`),
    ]);

    // Act
    const whole = await decode([body]);
    const byteWise = await decode(splitIntoBytes(body));

    // Assess
    expect(sha256(whole.body)).toBe(sha256(Buffer.concat([first, second])));
    expect(sha256(byteWise.body)).toBe(sha256(whole.body));
    expect(whole.trailers).toEqual({});
  });

  it('decodes a signed-chunk body with trailers (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', async () => {
    // Prepare
    const data = Buffer.from('signed chunks and a trailing checksum');
    const body = Buffer.concat([
      Buffer.from(`${data.length.toString(16)};chunk-signature=${signature('1')}\r\n`),
      data,
      Buffer.from(`\r\n0;chunk-signature=${signature('2')}\r\n`),
      Buffer.from(`x-amz-checksum-crc32:${crc32Base64(data)}\r\nx-amz-trailer-signature:${signature('3')}\r\n\r\n`),
    ]);

    // Act
    const { body: decoded, trailers } = await decode([body.subarray(0, 7), body.subarray(7, 80), body.subarray(80)]);

    // Assess
    expect(decoded.toString()).toBe(data.toString());
    expect(trailers).toEqual({ 'x-amz-checksum-crc32': crc32Base64(data), 'x-amz-trailer-signature': signature('3') });
  });

  it.each([
    ['a bad hex size', 'zz\r\nabc\r\n0\r\n\r\n', /invalid size/],
    ['a missing CRLF after chunk data', '3\r\nabcX\r\n0\r\n\r\n', /missing the CRLF/],
    ['a chunk header ended by a bare LF', '3\nabc\r\n0\r\n\r\n', /not terminated by CRLF/],
    ['input ending before the final 0-size chunk', '3\r\nabc\r\n', /before the final 0-size chunk/],
    ['input ending inside chunk data', '10\r\nabc', /before the final 0-size chunk/],
    [
      'input ending before the end of the trailers',
      '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n',
      /before the end of the trailers/,
    ],
    ['a malformed trailer', '3\r\nabc\r\n0\r\nno colon here\r\n\r\n', /trailer is malformed/],
    ['data after the final chunk', '3\r\nabc\r\n0\r\n\r\nextra', /data after its final chunk/],
  ])('errors on %s', async (_case, framing, message) => {
    // Prepare
    const body = Buffer.from(framing);

    // Act
    const decoding = decode(splitIntoBytes(body));

    // Assess
    await expect(decoding).rejects.toThrow(message);
  });

  it('errors when the decoded length differs from the declared one', async () => {
    // Prepare
    const decoder = createAwsChunkedDecoder({ decodedContentLength: 4 });

    // Act
    const decoding = decode([Buffer.from('3\r\nabc\r\n0\r\n\r\n')], decoder);

    // Assess
    await expect(decoding).rejects.toThrow(/decoded to 3 bytes, expected 4/);
  });

  it('errors on an oversized chunk header instead of buffering it', async () => {
    // Prepare
    const body = Buffer.from(`3;chunk-signature=${'a'.repeat(10_000)}`);

    // Act
    const decoding = decode([body]);

    // Assess
    await expect(decoding).rejects.toThrow(/exceeds/);
  });
});

describe('decodedHeadersForForwarding', () => {
  it('keeps other content encodings and joins repeated values', () => {
    // Prepare
    const headers: IncomingHttpHeaders = {
      'content-encoding': 'gzip,aws-chunked',
      'content-length': '999',
      'x-amz-decoded-content-length': '12',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'transfer-encoding': 'chunked',
      'x-amz-meta-tags': ['a', 'b'],
      'content-type': 'image/jpeg',
    };

    // Act
    const forwarded = decodedHeadersForForwarding(headers);

    // Assess
    expect(forwarded).toEqual({
      'content-encoding': 'gzip',
      'content-length': '12',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-meta-tags': 'a, b',
      'content-type': 'image/jpeg',
    });
  });
});
