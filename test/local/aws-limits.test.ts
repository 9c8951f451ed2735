import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type LocalPipeline,
  type LocalPipelineEvent,
  type LocalPipelineOptions,
  startLocalPipeline,
} from '../../local/pipeline/local-pipeline';
import { synthesizeStack } from '../../local/pipeline/synthesized-stack';
import { listBucket } from '../helpers/bucket-contents';
import { dropFlight, photos } from '../helpers/flights';
import { SMALL_FLIGHT_PREFLIGHT } from '../helpers/small-flights';
import { withoutGrant } from '../helpers/stack-grants';

/**
 * Local mode holds the pipeline to what AWS holds it to: each function's role from the synthesized template, its
 * timeout, and the services' limits. A run that passes here does not fail on AWS for one of these reasons.
 */

let pipeline: LocalPipeline | undefined;

afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

async function start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  pipeline = await startLocalPipeline({
    quietPeriodSeconds: 0,
    ...options,
    config: { preflight: SMALL_FLIGHT_PREFLIGHT, ...options.config },
    simulatorSettings: { processingSeconds: 0.5, ...options.simulatorSettings },
  });
  return pipeline;
}

describe('local mode as strict as AWS', () => {
  it('fails a run as AWS would when a grant the pipeline needs is missing from the template, naming action and resource', async () => {
    // Prepare: the copy function's role without the write of its chunk record, as it once was.
    const stack = withoutGrant(synthesizeStack(), 'function copy', 's3:PutObject', 'arn:aws:s3:::inspect-work/runs/*');
    const local = await start({ stack });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-30/flight-grant/', photos(3), {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        error: {
          stage: 'copy',
          message: expect.stringMatching(
            /^AccessDenied: User: .* is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::inspect-work\/runs\//,
          ),
        },
      }),
    ]);
    expect(local.iam!.refused()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          caller: 'function copy',
          action: 's3:PutObject',
          resource: expect.stringMatching(/\/copy-0\.json$/),
        }),
      ]),
    );
  }, 60_000);

  it('rides out Pix4Dinspect stalling for 3 minutes during "Check processing status": each check gives up before its timeout, the run completes', async () => {
    // Prepare: the functions' time runs 60 times faster, so the template's 60 s timeout of check-status takes 1 s.
    const events: LocalPipelineEvent[] = [];
    let stalled = false;
    const local = await start({
      timeScale: 60,
      simulatorSettings: { processingSeconds: 300 },
      onEvent: (event) => {
        events.push(event);
        if (event.event === 'state' && event.state === 'Check processing status' && !stalled) {
          stalled = true;
          pipeline!.simulator!.stall(180_000);
        }
      },
    });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-31/flight-stall/', photos(3), {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({ type: 'inspection.completed', images: expect.objectContaining({ registered: 3 }) }),
    ]);
    const stalledRequests = local.simulator!.requests.filter((request) => request.fault === 'stalled');
    expect(stalledRequests.length).toBeGreaterThanOrEqual(2);
    const failures = events.filter((event) => event.event === 'function-error');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.every((event) => event.event === 'function-error' && event.step === 'check-status')).toBe(true);
    expect(failures.map((event) => event.event === 'function-error' && event.errorType)).not.toContain(
      'Sandbox.Timedout',
    );
    expect(local.iam!.refused()).toEqual([]);
  }, 90_000);

  it('fails the copy naming the photo when a photo is deleted after its batch closed (NoSuchKey, as the role may list the bucket)', async () => {
    // Prepare: the credentials request of the copy is held for a moment, time enough to delete a photo it will read.
    const prefix = 'tower-32/flight-deleted/';
    const local = await start({
      onEvent: (event) => {
        if (event.event === 'state' && event.state === 'Copy photos') {
          void pipeline!.s3.send(
            new DeleteObjectCommand({ Bucket: pipeline!.dropBucket, Key: `${prefix}DCIM/IMG_0001.JPG` }),
          );
        }
      },
    });
    // Prepare reads the credentials too (for Inspect's key prefix): both reads are held, so the copy's is.
    for (let read = 0; read < 2; read += 1)
      local.simulator!.injectFault({ action: 'delay', ms: 1_500, pathIncludes: '/s3_credentials/' });

    // Act
    await dropFlight(local.s3, local.dropBucket, prefix, photos(3), {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({
        type: 'inspection.failed',
        error: { stage: 'copy', message: expect.stringMatching(/PhotoCopyError: .*"DCIM\/IMG_0001\.JPG".*NoSuchKey/) },
      }),
    ]);
    expect((await listBucket(local.s3, local.dropBucket)).map((object) => object.key)).not.toContain(
      `${prefix}DCIM/IMG_0001.JPG`,
    );
    expect(local.iam!.refused()).toEqual([]);
  }, 60_000);

  it('publishes a Subject SNS accepts for long folder names with accents, dashes and emoji', async () => {
    // Prepare: SNS refuses a Subject of 100 characters or more, or one that is not ASCII. (One folder name stays
    // under the 255 bytes the embedded S3 server's file system takes.)
    const asset = `Pylône – Nord 🗼 ${'é'.repeat(100)}`;
    const local = await start();

    // Act
    await dropFlight(local.s3, local.dropBucket, `${asset}/vol du matin/`, photos(2), {});
    await local.settle();

    // Assess
    expect(local.notifications).toEqual([
      expect.objectContaining({ type: 'inspection.completed', asset: expect.objectContaining({ name: asset }) }),
    ]);
    expect(local.iam!.refused()).toEqual([]);
  }, 60_000);
});
