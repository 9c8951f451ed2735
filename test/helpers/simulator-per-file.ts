import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DEFAULT_SIMULATOR_SETTINGS } from '../../local/simulator/settings';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import type { Pix4dAccount, Pix4dInspectClient } from '../../src/pix4d/client';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';

/** One simulator for the tests of a file, its settings back to the defaults after each test. */
export function simulatorPerFile(account: Pix4dAccount): () => Simulator {
  let simulator: Simulator | undefined;
  beforeAll(async () => {
    simulator = await startSimulator({ account });
  });
  afterAll(async () => {
    await simulator?.close();
  });
  afterEach(() => {
    if (simulator) Object.assign(simulator.settings, DEFAULT_SIMULATOR_SETTINGS);
  });
  return () => {
    if (!simulator) throw new Error('the simulator starts before the tests of the file');
    return simulator;
  };
}

/** A new inspection of a new asset with one registered image, ready for `process/`. */
export async function inspectionReadyToProcess(client: Pix4dInspectClient, simulator: Simulator, assetName: string) {
  const asset = await client.createAsset({ name: assetName, type: 1 });
  const inspection = await client.createInspection({
    asset: asset.id,
    processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
  });
  const key = (await client.getS3Credentials(inspection.id)).keyFor('DJI_0001.JPG');
  await simulator.embeddedS3.client().send(new PutObjectCommand({ Bucket: simulator.bucket, Key: key, Body: 'x' }));
  await client.registerImages(inspection.id, [key]);
  return inspection;
}
