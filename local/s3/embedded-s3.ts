import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver, { type S3rverEvent } from 's3rver';
import { createS3Client } from '../../src/s3-client';

/** s3rver accepts this access key id only, and checks no signature. */
export const EMBEDDED_S3_ACCESS_KEY = 'S3RVER';
/** A new object each time: the SDK writes to the credentials object it is given. */
export const embeddedS3Credentials = () => ({
  accessKeyId: EMBEDDED_S3_ACCESS_KEY,
  secretAccessKey: EMBEDDED_S3_ACCESS_KEY,
});
export const EMBEDDED_S3_REGION = 'us-east-1';
export { createS3Client };

export interface EmbeddedS3Options {
  /** Buckets that exist from the start. @default [] */
  readonly buckets?: readonly string[];
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Where objects are stored; a temporary folder removed on close when not given. */
  readonly directory?: string;
}

export interface EmbeddedS3 {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly port: number;
  /** Emits s3rver's in-process S3 events (keys NOT URL-encoded, unlike real S3). */
  onObjectEvent(listener: (event: S3rverEvent) => void): void;
  /** A client with the embedded server's credentials. */
  client(overrides?: Omit<S3ClientConfig, 'endpoint'>): S3Client;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * An S3 server in this process (s3rver) on a loopback port. Its continuation tokens are patched (patches/) so
 * that ListObjectsV2 pagination works on Node 17+.
 */
export async function startEmbeddedS3(options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'inspect-pipeline-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  server.middleware.unshift(consistentKeys(server));
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];

  return {
    endpoint,
    port,
    onObjectEvent: (listener) => {
      server.on('event', listener);
    },
    client: (overrides = {}) => {
      const client = createS3Client({ credentials: embeddedS3Credentials(), ...overrides, endpoint });
      clients.push(client);
      return client;
    },
    createBucket: async (name) => {
      const client = createS3Client({ endpoint, credentials: embeddedS3Credentials() });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    close: async () => {
      for (const client of clients) client.destroy();
      // Keep-alive sockets of clients would otherwise hold the server open.
      server.httpServer?.closeAllConnections();
      await server.close();
      if (ownDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}

type KoaContext = {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
  querystring: string;
  res: NodeJS.EventEmitter;
};

/**
 * Two things S3 guarantees and s3rver does not:
 * - requests on one key do not interleave: s3rver writes an object, its metadata and its checksum as separate
 *   files, so a read during a write could mix them. Each request holds its key until its answer is sent;
 * - conditional writes (`If-None-Match: *`, `If-Match: <etag>` on PutObject and CompleteMultipartUpload), on
 *   which the pipeline's asset registry relies so that two flights of a new asset create one asset.
 */
function consistentKeys(server: S3rver) {
  const locks = new Map<string, Promise<void>>();
  return async (ctx: KoaContext, next: () => Promise<void>) => {
    const [, bucket = '', ...keyParts] = ctx.path.split('/');
    // Parts of a multipart upload are files of their own: they may go in parallel.
    if (!bucket || keyParts.join('/') === '' || /(^|&)partNumber=/.test(ctx.querystring)) return next();
    const key = decodeURIComponent(keyParts.join('/'));
    const lockKey = `${bucket}/${key}`;
    const previous = locks.get(lockKey) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => current);
    locks.set(lockKey, chained);
    const unlock = () => {
      release();
      if (locks.get(lockKey) === chained) locks.delete(lockKey);
    };
    // Held until the answer (a streamed body included) has gone out or the connection closed.
    ctx.res.once('finish', unlock);
    ctx.res.once('close', unlock);
    await previous;
    try {
      if (await preconditionFails(server, ctx, bucket, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
          '<Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
        return;
      }
      await next();
    } catch (error) {
      unlock();
      throw error;
    }
  };
}

async function preconditionFails(server: S3rver, ctx: KoaContext, bucket: string, key: string): Promise<boolean> {
  const ifNoneMatch = ctx.headers['if-none-match'];
  const ifMatch = ctx.headers['if-match'];
  const writes = ctx.method === 'PUT' || ctx.method === 'POST';
  if (!writes || (ifNoneMatch === undefined && ifMatch === undefined)) return false;
  const etag = await server.store
    .getMetadata(bucket, key)
    .then((metadata) => metadata.etag)
    .catch(() => undefined);
  return (ifNoneMatch === '*' && etag !== undefined) || (ifMatch !== undefined && ifMatch !== etag);
}
