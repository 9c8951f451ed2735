import '../local/node-version-warning';
import { embeddedS3Credentials } from '../local/s3/embedded-s3';
import { listBatch } from '../src/batch/list-batch';
import { type CopyOptions, copyPhotos } from '../src/copy/copier';
import { InspectionCredentials } from '../src/copy/credentials-source';
import { Pix4dInspectClient } from '../src/pix4d/client';
import { DEFAULT_PROCESSING_PARAMETERS } from '../src/pix4d/schemas';
import { createS3Client } from '../src/s3-client';
import type { BenchServers } from './bench-types';

/**
 * One copy by the project's engine, as the copy Lambda does it: a new inspection, its temporary credentials, every
 * object under `prefix` streamed into Inspect's bucket. Prints the time, the bytes and this process's peak RSS.
 */
async function main(): Promise<void> {
  const { servers, prefix, options } = JSON.parse(process.argv[2] ?? '{}') as {
    servers: BenchServers;
    prefix: string;
    options?: CopyOptions;
  };
  const source = createS3Client({ endpoint: servers.s3Endpoint, credentials: embeddedS3Credentials() });
  const api = new Pix4dInspectClient({ account: servers.account, apiUrl: servers.apiUrl, authUrl: servers.apiUrl });
  const asset = await api.createAsset({ name: `bench ${prefix}`, type: 1 });
  const inspection = await api.createInspection({
    asset: asset.id,
    processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
  });
  const { objects } = await listBatch(source, servers.dropBucket, prefix);
  const items = objects.map((object) => ({
    sourceKey: object.key,
    relativePath: object.relativePath,
    size: object.size,
  }));
  const credentials = new InspectionCredentials(api, inspection.id);
  const started = process.hrtime.bigint();
  const result = await copyPhotos(items, { client: source, bucket: servers.dropBucket }, credentials, {
    ...options,
    destinationEndpoint: servers.gatewayEndpoint,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  source.destroy();
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      objects: result.copied.length,
      bytes: result.bytes,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      keyPrefix: (await credentials.current()).keyPrefix,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`copy worker: ${(error as Error).stack}\n`);
  process.exit(1);
});
