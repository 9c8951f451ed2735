import '../local/node-version-warning';
import { listBatch } from '../src/batch/list-batch';
import { type CopyOptions, copyPhotos } from '../src/copy/copier';
import { InspectionCredentials } from '../src/copy/credentials-source';
import { Pix4dInspectClient } from '../src/pix4d/client';
import { DEFAULT_PROCESSING_PARAMETERS } from '../src/pix4d/schemas';
import { createS3Client } from '../src/s3-client';
import type { BenchServers } from './bench-types';

/**
 * One copy by the project's engine, as the copy Lambda does it: the temporary credentials of an inspection (the
 * benchmark creates it beforehand, as the prepare step does), every object under `prefix` streamed into Inspect's
 * bucket. Prints the time, the bytes, the CPU of the copy and this process's peak RSS. The benchmark runs it
 * bundled, as the Lambda runs its code.
 */

/**
 * The embedded S3 server's key (local/s3/embedded-s3.ts), written out: importing that module would load s3rver
 * and koa into this process, start-up CPU and memory the copy Lambda does not have.
 */
const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

async function main(): Promise<void> {
  const { servers, prefix, inspectionId, options } = JSON.parse(process.argv[2] ?? '{}') as {
    servers: BenchServers;
    prefix: string;
    /** The inspection to copy into, created by the caller as the prepare step creates it; absent: a new one. */
    inspectionId?: number;
    options?: CopyOptions;
  };
  const source = createS3Client({ endpoint: servers.s3Endpoint, credentials: { ...EMBEDDED_S3_CREDENTIALS } });
  const api = new Pix4dInspectClient({ account: servers.account, apiUrl: servers.apiUrl, authUrl: servers.apiUrl });
  const inspection = { id: inspectionId ?? (await newInspection(api, prefix)) };
  const { objects } = await listBatch(source, servers.dropBucket, prefix);
  const items = objects.map((object) => ({
    sourceKey: object.key,
    relativePath: object.relativePath,
    size: object.size,
  }));
  const credentials = new InspectionCredentials(api, inspection.id);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await copyPhotos(items, { client: source, bucket: servers.dropBucket }, credentials, {
    ...options,
    destinationEndpoint: servers.gatewayEndpoint,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const copyCpu = process.cpuUsage(cpuBefore);
  source.destroy();
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      objects: result.copied.length,
      bytes: result.bytes,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      copyCpuSeconds: (copyCpu.user + copyCpu.system) / 1e6,
      keyPrefix: (await credentials.current()).keyPrefix,
    })}\n`,
  );
}

async function newInspection(api: Pix4dInspectClient, prefix: string): Promise<number> {
  const asset = await api.createAsset({ name: `bench ${prefix}`, type: 1 });
  const inspection = await api.createInspection({
    asset: asset.id,
    processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
  });
  return inspection.id;
}

main().catch((error: unknown) => {
  process.stderr.write(`copy worker: ${(error as Error).stack}\n`);
  process.exit(1);
});
