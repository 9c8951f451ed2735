import type { Pix4dAccount } from '../src/pix4d/client';

/** How the benchmark's server process is reached. */
export interface BenchServers {
  readonly s3Endpoint: string;
  readonly dropBucket: string;
  readonly apiUrl: string;
  readonly gatewayEndpoint: string;
  readonly inspectBucket: string;
  readonly account: Pix4dAccount;
}

export interface CopyRun {
  readonly seconds: number;
  readonly objects: number;
  readonly bytes: number;
  readonly peakRssMiB: number;
  readonly keyPrefix: string;
}
