import '../local/node-version-warning';
import { startEmbeddedS3 } from '../local/s3/embedded-s3';
import { startSimulator } from '../local/simulator/simulator';

/**
 * The benchmark's servers in a process of their own, so that their work is not counted in the copy worker's
 * memory and does not share its event loop: the embedded S3 server (drop bucket) and the simulator with its S3
 * endpoint. Prints one JSON line with how to reach them, then runs until SIGTERM.
 */
async function main(): Promise<void> {
  const embeddedS3 = await startEmbeddedS3({ buckets: ['bench-drop'] });
  const simulator = await startSimulator({ embeddedS3, settings: { credentialsTtlSeconds: 3_600 } });
  process.stdout.write(
    `${JSON.stringify({
      s3Endpoint: embeddedS3.endpoint,
      dropBucket: 'bench-drop',
      apiUrl: simulator.apiUrl,
      gatewayEndpoint: simulator.s3Endpoint,
      inspectBucket: simulator.bucket,
      account: simulator.account,
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await simulator.close();
  await embeddedS3.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench servers: ${(error as Error).stack}\n`);
  process.exit(1);
});
