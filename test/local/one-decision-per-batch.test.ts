import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline/local-pipeline';
import type { NotificationV1 } from '../../src/notify/notification';
import { dropFlight, jpegBytes, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * One batch, one decision: the first run to close a folder claims it. Later quiet-period closes of the folder start
 * no partial inspection and report the late files; a manifest written last for the photos a quiet-period run
 * already took is skipped and reported; any other manifest processes every photo of the folder again.
 */

// Long enough that a manifest written right after its photos comes within it on a loaded machine.
const QUIET_SECONDS = 3;
const start = localPipelinesPerTest({
  quietPeriodSeconds: QUIET_SECONDS,
  simulatorSettings: { processingSeconds: 0.3 },
});

/** Waits (polling) until `ready`, or fails naming what it waited for. */
async function until(what: string, ready: () => boolean, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const outcomes = (pipeline: LocalPipeline) =>
  pipeline.notifications.map(
    (message: NotificationV1) => [message.batch.id.charAt(0), message.type, message.images.registered] as const,
  );
const processingStarts = (pipeline: LocalPipeline) =>
  pipeline
    .simulator!.holdings()
    .inspections.filter((inspection) => inspection.processingStarted)
    .map((inspection) => inspection.images);

describe('one decision per batch folder', () => {
  it('a pause longer than the quiet period, a straggler, then manifest.json: the straggler is reported, never a third run', async () => {
    // Prepare
    const pipeline = await start();
    const prefix = 'tower-pause/flight-1/';
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, photos(4));
    await until('the quiet-period run', () => pipeline.notifications.length === 1);

    // Act: one more photo after the pause, reported as late, then the manifest
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [
      { relativePath: 'DCIM/IMG_0100.JPG', body: jpegBytes(2_048, 100) },
    ]);
    await until('the late photos notice', () => pipeline.notifications.length === 2);
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [], { inspection: { name: 'Paused flight' } });
    await pipeline.settle();

    // Assess: the partial run could not be undone (the quiet period closed it); the straggler started no inspection
    // of its own, was named, and the manifest's run took every photo
    expect(outcomes(pipeline)).toEqual([
      ['q', 'inspection.completed', 4],
      ['q', 'inspection.late_photos', 0],
      ['m', 'inspection.completed', 5],
    ]);
    const late = pipeline.notifications[1]!;
    expect(late.images.skipped).toEqual([
      {
        key: `${prefix}DCIM/IMG_0100.JPG`,
        reason: expect.stringMatching(/^arrived after run q-.* closed the folder; not processed$/),
      },
    ]);
    expect('notice' in late && late.notice.message).toMatch(/upload a new manifest\.json/);
    expect(late.inspection).toBeNull();
    expect(processingStarts(pipeline).sort()).toEqual([4, 5]);
  }, 90_000);

  it('photos uploaded after manifest.json are named in a notification, with how to include them', async () => {
    // Prepare
    const pipeline = await start();
    const prefix = 'tower-after/flight-1/';
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, photos(3), { inspection: { name: 'Early manifest' } });
    await until('the manifest run', () => pipeline.notifications.length === 1);
    // Past the quiet-period window of the first photos' waiter, which local mode's shortened Waits have ended already
    // (on AWS it checks a whole quiet period after it starts, so later photos of its window are its own): the late
    // photos get a waiter of their own. Later than the manifest to the second, the resolution of S3's LastModified.
    await sleep(QUIET_SECONDS * 1000 + 100);

    // Act
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [
      { relativePath: 'DCIM/IMG_0200.JPG', body: jpegBytes(2_048, 200) },
      { relativePath: 'DCIM/IMG_0201.JPG', body: jpegBytes(2_048, 201) },
    ]);
    await pipeline.settle();

    // Assess
    expect(outcomes(pipeline).sort()).toEqual([
      ['m', 'inspection.completed', 3],
      ['q', 'inspection.late_photos', 0],
    ]);
    const late = pipeline.notifications.find((message) => message.type === 'inspection.late_photos')!;
    expect(late.images.skipped.map((file) => file.key).sort()).toEqual([
      `${prefix}DCIM/IMG_0200.JPG`,
      `${prefix}DCIM/IMG_0201.JPG`,
    ]);
    expect(processingStarts(pipeline)).toEqual([3]);
  }, 90_000);

  it('manifest.json written last while the quiet-period run of the same photos is under way is skipped; once it ended, a manifest runs again', async () => {
    // Prepare: processing long enough for the manifest to come while the quiet-period run is under way
    const pipeline = await start({ simulatorSettings: { processingSeconds: 3 } });
    const prefix = 'tower-late-manifest/flight-1/';
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, photos(3));
    await until(
      'the quiet-period run to create its inspection',
      () => pipeline.simulator!.holdings().inspections.length === 1,
    );

    // Act
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [], { inspection: { name: 'Written last' } });
    await until('the quiet-period run to end', () =>
      pipeline.notifications.some((message) => message.type === 'inspection.completed'),
    );
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [], { inspection: { name: 'Run again' } });
    await pipeline.settle();

    // Assess
    expect(outcomes(pipeline)).toEqual([
      ['m', 'inspection.skipped', 0],
      ['q', 'inspection.completed', 3],
      ['m', 'inspection.completed', 3],
    ]);
    const skipped = pipeline.notifications[0]!;
    expect('notice' in skipped && skipped.notice.message).toMatch(
      /already being processed with these same photos: the quiet period closed it as run q-/,
    );
    expect(processingStarts(pipeline)).toEqual([3, 3]);
    expect(
      pipeline.executions.filter((execution) => execution.status !== 'succeeded').map((execution) => execution.error),
    ).toEqual([]);
  }, 90_000);

  it('names a manifest.json with another case or in a sub-folder in the notification: it closed nothing', async () => {
    // Prepare
    const pipeline = await start();
    const prefix = 'tower-case/flight-1/';
    const manifest = JSON.stringify({ inspection: { name: 'Wrong case' } });

    // Act
    await dropFlight(pipeline.s3, pipeline.dropBucket, prefix, [
      ...photos(2),
      { relativePath: 'Manifest.JSON', body: manifest },
      { relativePath: 'DCIM/manifest.json', body: manifest },
    ]);
    await pipeline.settle();

    // Assess: the quiet period closed the batch, and the notification says why neither file was read
    const [message] = pipeline.notifications;
    expect(outcomes(pipeline)).toEqual([['q', 'inspection.completed', 2]]);
    expect(message!.images.skipped).toEqual([
      {
        key: `${prefix}DCIM/manifest.json`,
        reason: expect.stringMatching(/^not read as the batch's manifest \(it is in a sub-folder\)/),
      },
      {
        key: `${prefix}Manifest.JSON`,
        reason: expect.stringMatching(
          /^not read as the batch's manifest \(its name is not "manifest.json" in lower case\)/,
        ),
      },
    ]);
  }, 90_000);
});
