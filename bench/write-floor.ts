import '../local/node-version-warning';
import { createHash, createHmac } from 'node:crypto';
import { Agent, type IncomingMessage, request } from 'node:http';
import { numberPhoto, photoPath } from './bench-data';

/**
 * The write floor: a bare HTTP client (node:http, no SDK) PUTting the copy's 200 objects, with the same content,
 * at the same concurrency, over keep-alive connections, into the same endpoint (the simulator's S3 gateway) with
 * the inspection's temporary credentials. No source read, no SDK, no Expect: 100-continue, no check of the copy
 * afterwards: what is left is what the endpoint itself needs to take the bytes, the time the copy is compared with.
 *
 * Run as a process of its own (bundled, as the copy worker is): reads one photo of the data set from the drop
 * bucket first (the photos differ only in their number, `numberPhoto`), then, timed, PUTs every photo from
 * memory. Prints the time, the bytes and the CPU of the timed part.
 */

export interface WriteFloorInput {
  readonly s3Endpoint: string;
  readonly dropBucket: string;
  /** Prefix of the data set in the drop bucket: its photo 0 gives the content. */
  readonly sourcePrefix: string;
  readonly gatewayEndpoint: string;
  readonly credentials: FloorCredentials;
  readonly objects: number;
  readonly concurrency: number;
}

export interface FloorCredentials {
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface WriteFloorRun {
  readonly seconds: number;
  readonly objects: number;
  readonly bytes: number;
  /** User + system CPU seconds of the timed PUTs. */
  readonly putCpuSeconds: number;
}

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/**
 * SigV4 headers for a request whose body is not hashed (UNSIGNED-PAYLOAD, as S3 accepts and the gateway checks):
 * host, x-amz-content-sha256, x-amz-date and, with temporary credentials, x-amz-security-token, all signed.
 * `path` is signed exactly as it is sent.
 */
export function signedHeaders(
  method: string,
  host: string,
  path: string,
  credentials: Pick<FloorCredentials, 'region' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  now = new Date(),
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    host,
    'x-amz-content-sha256': UNSIGNED_PAYLOAD,
    'x-amz-date': amzDate,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const canonical = [method, path, '', ...names.map((name) => `${name}:${headers[name]}`), '', names.join(';')];
  canonical.push(UNSIGNED_PAYLOAD);
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const hash = createHash('sha256').update(canonical.join('\n')).digest('hex');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hash].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), credentials.region), 's3'),
    'aws4_request',
  );
  const signature = hmac(signingKey, stringToSign).toString('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

/** A key as an S3 path: each segment percent-encoded as SigV4 wants it (RFC 3986 unreserved kept). */
function keyPath(bucket: string, key: string): string {
  const encode = (segment: string) =>
    encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `/${encode(bucket)}/${key.split('/').map(encode).join('/')}`;
}

function send(
  agent: Agent,
  endpoint: URL,
  method: 'GET' | 'PUT',
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: endpoint.hostname, port: endpoint.port, method, path, agent, headers },
      (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body: Buffer.concat(chunks) }));
        answer.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export async function writeFloor(input: WriteFloorInput): Promise<WriteFloorRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency });
  try {
    const source = new URL(input.s3Endpoint);
    // The embedded S3 server knows one access key and checks no signature; this is the data set's photo 0.
    const firstPath = keyPath(input.dropBucket, `${input.sourcePrefix}${photoPath(0)}`);
    const embedded = { region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    const first = await send(agent, source, 'GET', firstPath, signedHeaders('GET', source.host, firstPath, embedded));
    if (first.status !== 200) throw new Error(`GET of the data set's first photo answered ${first.status}`);
    const gateway = new URL(input.gatewayEndpoint);
    const { credentials } = input;
    // One body per slot, numbered before each PUT: no copy of the content while timed.
    const bodies = Array.from({ length: input.concurrency }, () => Buffer.from(first.body));
    let next = 0;
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.all(
      bodies.map(async (body) => {
        for (let index = next++; index < input.objects; index = next++) {
          const path = keyPath(credentials.bucket, `${credentials.keyPrefix}/${photoPath(index)}`);
          const headers = signedHeaders('PUT', gateway.host, path, credentials);
          headers['content-length'] = String(body.length);
          const answer = await send(agent, gateway, 'PUT', path, headers, numberPhoto(body, index));
          if (answer.status !== 200)
            throw new Error(
              `PUT of ${photoPath(index)} answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`,
            );
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    return {
      seconds,
      objects: input.objects,
      bytes: input.objects * first.body.length,
      putCpuSeconds: (used.user + used.system) / 1e6,
    };
  } finally {
    agent.destroy();
  }
}

if (require.main === module) {
  writeFloor(JSON.parse(process.argv[2] ?? '{}') as WriteFloorInput).then(
    (run) => process.stdout.write(`${JSON.stringify(run)}\n`),
    (error: unknown) => {
      process.stderr.write(`write floor: ${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
