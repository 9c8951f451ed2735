import type { Pix4dAccount } from '../src/pix4d/client';

/** How the benchmark's servers are reached. */
export interface BenchServers {
  readonly s3Endpoint: string;
  readonly dropBucket: string;
  readonly apiUrl: string;
  readonly gatewayEndpoint: string;
  readonly inspectBucket: string;
  readonly account: Pix4dAccount;
}

/** The copy benchmark's servers (bench-servers.ts: the drop side and Inspect's side, two processes). */
export interface CopyBenchServers extends BenchServers {
  /** The embedded S3 server behind the gateway, which holds Inspect's bucket (and checks no credentials). */
  readonly inspectS3Endpoint: string;
}

export interface CopyRun {
  readonly seconds: number;
  readonly objects: number;
  readonly bytes: number;
  readonly peakRssMiB: number;
  /** User + system CPU seconds of the copy itself, `copyPhotos` only (the process's start-up excluded). */
  readonly copyCpuSeconds: number;
  readonly keyPrefix: string;
}
