import { setTimeout as sleep } from 'node:timers/promises';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { dropFlight, jpegBytes, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * A multipart upload in progress is invisible to ListObjectsV2. Without looking at the uploads, a batch waiter
 * would take a folder that receives one slow upload for quiet, start an inspection without it, and a second one
 * would start when the uploader writes manifest.json last: processing allowance spent twice on one flight.
 */

// Long enough that the manifest written right after the upload completes comes within it on a loaded machine (3 s
// was missed with two test runs side by side on 2 cores).
const QUIET_SECONDS = 6;

const start = localPipelinesPerTest();

describe('a multipart upload in progress', () => {
  it('holds its batch through quiet periods: the flight with manifest.json written last makes one inspection', async () => {
    // Prepare
    const pipeline = await start({ quietPeriodSeconds: QUIET_SECONDS, simulatorSettings: { processingSeconds: 0.3 } });
    const prefix = 'tower-slow/flight-1/';
    const slowKey = `${prefix}DCIM/IMG_0100.JPG`;
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, photos(4));
    const { UploadId } = await pipeline.s3.send(
      new CreateMultipartUploadCommand({ Bucket: pipeline.dropBucket, Key: slowKey }),
    );
    const { ETag } = await pipeline.s3.send(
      new UploadPartCommand({
        Bucket: pipeline.dropBucket,
        Key: slowKey,
        UploadId,
        PartNumber: 1,
        Body: jpegBytes(4_096, 100),
      }),
    );

    // Act: the upload outlasts two quiet periods, then completes, and the uploader writes manifest.json last
    await sleep(2 * QUIET_SECONDS * 1000);
    await pipeline.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: pipeline.dropBucket,
        Key: slowKey,
        UploadId,
        MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
      }),
    );
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [], { inspection: { name: 'Slow link' } });
    await pipeline.settle();

    // Assess
    const inspections = pipeline.executions.filter((execution) => execution.machine === 'inspection');
    expect(inspections.map((execution) => execution.name[0])).toEqual(['m']);
    expect(
      pipeline.simulator!.holdings().inspections.map((inspection) => [inspection.images, inspection.processingStarted]),
    ).toEqual([[5, true]]);
    expect(pipeline.notifications.map((message) => message.type)).toEqual(['inspection.completed']);
    const waiters = pipeline.executions.filter((execution) => execution.machine === 'waiter');
    expect(waiters.length).toBeGreaterThan(0);
    expect(waiters.filter((execution) => execution.status !== 'succeeded').map((execution) => execution.error)).toEqual(
      [],
    );
  }, 120_000);
});
