import { describe, expect, it } from 'vitest';
import { listBucket, readObject, sha256 } from '../helpers/bucket-contents';
import { type DroppedFile, dropFlight, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * Complete photos only, through the whole local pipeline: a photo whose upload to the drop bucket was cut short is
 * skipped by the copy with its reason, never lands in Inspect's bucket, is never registered, and the flight's other
 * photos are processed.
 */

const start = localPipelinesPerTest({ quietPeriodSeconds: 0, simulatorSettings: { processingSeconds: 0.5 } });

describe('truncated photos, locally', () => {
  it('skips a truncated JPEG with its reason and processes the complete photos of the flight', async () => {
    // Prepare
    const local = await start();
    const prefix = 'tower-31/flight-truncated/';
    const good = photos(4, 8_192);
    const whole = good[3]!;
    const truncated: DroppedFile = {
      relativePath: 'DCIM/IMG_0099.JPG',
      body: (whole.body as Buffer).subarray(0, 5_000),
    };

    // Act
    await dropFlight(local.s3, local.dropBucket, prefix, [...good.slice(0, 3), truncated, good[3]!], {
      inspection: { name: 'Cut short' },
    });
    await local.settle();

    // Assess: the notification lists the truncated photo as skipped, with its reason
    expect(local.notifications).toHaveLength(1);
    const message = local.notifications[0]!;
    expect(message).toMatchObject({
      type: 'inspection.completed',
      images: {
        found: 5,
        copied: 4,
        registered: 4,
        skippedTotal: 1,
        skipped: [
          {
            key: `${prefix}DCIM/IMG_0099.JPG`,
            reason: 'truncated JPEG: its 5,000 bytes end before the end-of-image marker (FF D9)',
          },
        ],
      },
    });
    // Assess: Inspect's bucket holds the complete photos only, byte for byte, and the inspection has those only
    const client = local.embeddedS3.client();
    const bucket = local.simulator!.bucket;
    const copied = await listBucket(client, bucket);
    const projectPrefix = new RegExp(`^user-[^/]+/project-${message.inspection!.projectId}/`);
    expect(copied.map((object) => object.key.replace(projectPrefix, ''))).toEqual(
      good.map((photo) => photo.relativePath),
    );
    for (const [index, object] of copied.entries())
      expect(sha256(await readObject(client, bucket, object.key))).toBe(sha256(good[index]!.body));
    expect(
      local.simulator!.holdings().inspections.find((inspection) => inspection.id === message.inspection!.id),
    ).toMatchObject({
      images: 4,
      processingStarted: true,
    });
    expect(local.executions.find((execution) => execution.machine === 'inspection')?.status).toBe('succeeded');
  }, 60_000);
});
