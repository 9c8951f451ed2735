import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { dropFlight, jpegBytes, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';
import { relativePathOfBytes } from '../helpers/long-paths';

/**
 * Limits checked before anything is created, through the whole local pipeline (the synthesized state machine, the
 * real handlers, the embedded S3 server and the simulator over HTTP): a manifest Pix4Dinspect would refuse ends the
 * run at stage `manifest` with nothing created, and a photo whose key in Inspect's bucket would pass S3's 1,024
 * bytes is skipped with its reason while the rest of the flight completes.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'manifest-limits');
const start = localPipelinesPerTest({ quietPeriodSeconds: 0, simulatorSettings: { processingSeconds: 0.5 } });

describe('limits, locally', () => {
  it("skips a photo whose key in Inspect's bucket would be 1,057 bytes, naming it in the notification, and completes the rest", async () => {
    // Prepare: the simulator's prefix is `user-<uuid>/project-<6 digits>` (56 bytes), then "/" and the path
    const local = await start();
    const prefix = 'tower-40/flight-keys/';
    const longPath = relativePathOfBytes(1_000, 'DJI_9999.JPG');

    // Act
    await dropFlight(
      local.s3,
      local.dropBucket,
      prefix,
      [...photos(3), { relativePath: longPath, body: jpegBytes(2_048, 99) }],
      {},
    );
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.completed',
        images: {
          found: 4,
          copied: 3,
          registered: 3,
          skippedTotal: 1,
          skipped: [
            {
              key: `${prefix}${longPath}`,
              reason: "key too long for Inspect's bucket: 1,057 bytes with Inspect's prefix (limit 1,024)",
            },
          ],
        },
      }),
    ]);
    const [inspection] = local.simulator!.holdings().inspections;
    expect(inspection).toMatchObject({ images: 3, processingStarted: true });
  }, 60_000);

  it('refuses a 300-character inspection.name at stage manifest, before any asset or inspection exists', async () => {
    // Prepare
    const local = await start();
    const manifest = readFileSync(join(FIXTURES, 'inspection-name-300.json'), 'utf8');

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-41/flight-name/', photos(2), manifest);
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        error: {
          stage: 'manifest',
          message: 'ManifestError: manifest.json is invalid: inspection.name: 300 characters, over the limit of 255',
        },
      }),
    ]);
    expect(local.simulator!.holdings()).toEqual({ assets: [], inspections: [] });
  }, 60_000);

  it('refuses a manifest.json saved as UTF-16 at stage manifest, saying so', async () => {
    // Prepare
    const local = await start();
    const prefix = 'tower-42/flight-utf16/';
    await dropFlight(local.s3, local.dropBucket, prefix, photos(2));

    // Act
    await local.s3.send(
      new PutObjectCommand({
        Bucket: local.dropBucket,
        Key: `${prefix}manifest.json`,
        Body: readFileSync(join(FIXTURES, 'utf16le-bom.json')),
      }),
    );
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        error: { stage: 'manifest', message: 'ManifestError: manifest.json must be UTF-8 (found UTF-16)' },
      }),
    ]);
    expect(local.simulator!.holdings()).toEqual({ assets: [], inspections: [] });
  }, 60_000);
});
