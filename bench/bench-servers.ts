import '../local/node-version-warning';
import { startEmbeddedS3 } from '../local/s3/embedded-s3';
import { startSimulator } from '../local/simulator/simulator';

/**
 * One side of the benchmark's servers, in a process of its own, so that their work is not counted in the copy
 * worker's CPU and memory and does not share its event loop. `drop`: the embedded S3 server holding the drop
 * bucket. `inspect`: the Pix4Dinspect simulator, its S3 gateway and the embedded S3 server behind it, which holds
 * Inspect's bucket. The two buckets are two services in AWS (the customer's account, Pix4D's): each side has its
 * own process, so that reading the drop bucket does not wait for the event loop that writes Inspect's. Prints one
 * JSON line with how to reach it, then runs until SIGTERM, and removes its S3 folder on the way out.
 */
async function main(role: string | undefined): Promise<void> {
  if (role !== 'drop' && role !== 'inspect' && role !== 'both')
    throw new Error(`the role is drop, inspect or both, not ${role}`);
  const embeddedS3 = await startEmbeddedS3({ buckets: role === 'inspect' ? [] : ['bench-drop'] });
  const simulator =
    role === 'drop' ? undefined : await startSimulator({ embeddedS3, settings: { credentialsTtlSeconds: 3_600 } });
  process.stdout.write(
    `${JSON.stringify({
      ...(role === 'inspect' ? {} : { s3Endpoint: embeddedS3.endpoint, dropBucket: 'bench-drop' }),
      ...(simulator && {
        apiUrl: simulator.apiUrl,
        gatewayEndpoint: simulator.s3Endpoint,
        inspectBucket: simulator.bucket,
        inspectS3Endpoint: embeddedS3.endpoint,
        account: simulator.account,
      }),
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await simulator?.close();
  await embeddedS3.close();
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`bench servers: ${(error as Error).stack}\n`);
  process.exit(1);
});
