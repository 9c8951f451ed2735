// s3rver ships no types; this declares the part the project uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  /** The S3-shaped notification s3rver emits in process for each object it stores. */
  export interface S3rverEvent {
    Records: {
      eventName: string;
      eventTime: string;
      s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer?: string } };
    }[];
  }

  class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    httpServer?: Server;
    /** Koa's middleware list: composed when the server starts listening. */
    middleware: ((ctx: never, next: () => Promise<void>) => Promise<void> | void)[];
    store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> };
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: S3rverEvent) => void): this;
  }
  export default S3rver;
}
