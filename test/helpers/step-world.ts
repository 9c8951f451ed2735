import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { Pix4dInspectClient } from '../../src/pix4d/client';
import { DEFAULT_PIPELINE_CONFIG } from '../../src/workflow/pipeline-config';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { RecordedMetrics } from './recorded-metrics';
import { RecordingPublisher } from './recording-publisher';
import { SMALL_FLIGHT_PREFLIGHT } from './small-flights';

/** What the workflow steps run against in a test file: the embedded S3 over HTTP and the simulator with a client. */
export interface StepWorld {
  readonly embedded: EmbeddedS3;
  readonly s3: S3Client;
  readonly simulator: Simulator;
  readonly api: Pix4dInspectClient;
}

/** One world for the tests of a file, with `dropBucket` created, closed after them; read it inside the tests. */
export function stepWorldPerFile(dropBucket: string): () => StepWorld {
  let world: StepWorld | undefined;
  beforeAll(async () => {
    const embedded = await startEmbeddedS3({ buckets: [dropBucket] });
    const simulator = await startSimulator({ embeddedS3: embedded, settings: { processingSeconds: 0.3 } });
    const api = new Pix4dInspectClient({
      account: simulator.account,
      apiUrl: simulator.apiUrl,
      authUrl: simulator.apiUrl,
    });
    world = { embedded, s3: embedded.client(), simulator, api };
  });
  afterAll(async () => {
    await world?.simulator.close();
    await world?.embedded.close();
  });
  return () => {
    if (!world) throw new Error('the step world starts before the tests of the file');
    return world;
  };
}

let workBuckets = 0;

/** Step dependencies in `world` with a new, empty work bucket named after `name`, publishing to `publisher`. */
export async function stepDependenciesIn(
  world: StepWorld,
  name: string,
  publisher: RecordingPublisher = new RecordingPublisher(),
): Promise<{ deps: StepDependencies; workBucket: string }> {
  workBuckets += 1;
  const workBucket = `work-${name}-${workBuckets}`;
  await world.embedded.createBucket(workBucket);
  const deps: StepDependencies = {
    s3: world.s3,
    pix4d: async () => world.api,
    publisher,
    config: { ...DEFAULT_PIPELINE_CONFIG, workBucket, photosPerChunk: 2, preflight: SMALL_FLIGHT_PREFLIGHT },
    destinationEndpoint: world.simulator.s3Endpoint,
    secrets: () => [world.simulator.account.password, world.simulator.account.apiKey],
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
    metrics: new RecordedMetrics(),
    now: () => new Date(),
  };
  return { deps, workBucket };
}
