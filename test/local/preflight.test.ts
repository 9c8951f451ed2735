import { afterEach, describe, expect, it } from 'vitest';
import { flightPhotoStation } from '../../local/flight-photos';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline/local-pipeline';
import { synthesizeStack } from '../../local/pipeline/synthesized-stack';
import { dropFlight, geotaggedPhotos } from '../helpers/flights';

/**
 * The pre-flight from the photos' own metadata, through the whole pipeline: thresholds from the stack's context (the
 * template's environment of the prepare function, as on AWS) or the product's defaults, and what the simulator was
 * sent.
 */

let pipeline: LocalPipeline | undefined;

afterEach(async () => {
  const refused = pipeline?.iam?.refused() ?? [];
  await pipeline?.close();
  pipeline = undefined;
  expect(refused, 'AWS calls IAM refused').toEqual([]);
});

async function start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  pipeline = await startLocalPipeline({
    simulatorSettings: { processingSeconds: 0.5 },
    quietPeriodSeconds: 0,
    ...options,
  });
  return pipeline;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

describe('the pre-flight, locally', () => {
  it('places a new asset at the centroid of 30 geotagged photos and dates the inspection at the first capture', async () => {
    // Prepare
    const local = await start();
    const flight = { count: 30 };
    const stations = Array.from({ length: 30 }, (_, index) => flightPhotoStation(index, flight));

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-geo/flight-1/', geotaggedPhotos(30), {
      asset: { name: 'Tower geo' },
    });
    await local.settle();

    // Assess
    const [message] = local.notifications;
    expect(message).toMatchObject({ type: 'inspection.completed', warnings: [] });
    const asset = local.simulator!.holdings().assets.find((stored) => stored.name === 'Tower geo')!;
    expect(Math.abs(Number(asset.latitude) - mean(stations.map((station) => station.latitude)))).toBeLessThan(1e-6);
    expect(Math.abs(Number(asset.longitude) - mean(stations.map((station) => station.longitude)))).toBeLessThan(1e-6);
    const inspection = local.simulator!.holdings().inspections.find((held) => held.id === message!.inspection!.id)!;
    expect(inspection.inspectionDateGiven).toBe(stations[0]!.capturedAt);
    expect(message!.flight).toEqual({
      capturedFrom: stations[0]!.capturedAt,
      capturedTo: stations[29]!.capturedAt,
      cameras: [`${stations[0]!.make} ${stations[0]!.model}`],
      geotagged: 30,
      photos: 30,
      centroid: {
        latitude: expect.closeTo(Number(asset.latitude), 6),
        longitude: expect.closeTo(Number(asset.longitude), 6),
      },
      altitude: {
        min: Math.min(...stations.map((station) => station.altitude)),
        max: Math.max(...stations.map((station) => station.altitude)),
      },
    });
  });

  it("keeps the manifest's position and date over the photos'", async () => {
    // Prepare
    const local = await start();
    const manifest = {
      asset: { name: 'Tower placed', latitude: 10.5, longitude: -20.25 },
      inspection: { inspection_date: '2026-01-02T03:04:05Z' },
    };

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-placed/flight-1/', geotaggedPhotos(8), manifest);
    await local.settle();

    // Assess
    const [message] = local.notifications;
    expect(message!.type).toBe('inspection.completed');
    const asset = local.simulator!.holdings().assets.find((stored) => stored.name === 'Tower placed')!;
    expect({ latitude: asset.latitude, longitude: asset.longitude }).toEqual({
      latitude: '10.50000000',
      longitude: '-20.25000000',
    });
    expect(
      local.simulator!.holdings().inspections.find((held) => held.id === message!.inspection!.id)!.inspectionDateGiven,
    ).toBe('2026-01-02T03:04:05Z');
  });

  it('with minGeotaggedShare 0.9 in the stack context, fails a flight without GPS at stage preflight: no inspection, no processing', async () => {
    // Prepare
    const local = await start({ stack: synthesizeStack({ minGeotaggedShare: 0.9 }) });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-blind/flight-1/', geotaggedPhotos(12, { gps: false }), {});
    await local.settle();

    // Assess
    expect(local.notifications).toHaveLength(1);
    const [message] = local.notifications;
    expect(message).toMatchObject({
      type: 'inspection.failed',
      inspection: null,
      images: { found: 12, copied: 0, registered: 0 },
      flight: { photos: 12, geotagged: 0, centroid: null },
      error: {
        stage: 'preflight',
        message: expect.stringContaining(
          '0 of 12 photos geotagged (0%), below minGeotaggedShare 0.9 (90%); without GPS: DCIM/DJI_0001.JPG',
        ),
      },
    });
    const requests = local.simulator!.requests;
    expect(requests.filter((request) => request.method === 'POST' && request.path === '/v1/inspections/')).toEqual([]);
    expect(requests.filter((request) => request.path.endsWith('/process/'))).toEqual([]);
    expect(local.simulator!.holdings().inspections).toEqual([]);
    // Nothing at all is created: the asset neither (its creation comes after the pre-flight too).
    expect(local.simulator!.holdings().assets).toEqual([]);
  });

  it('with the defaults, completes the same flight, with its warnings', async () => {
    // Prepare
    const local = await start();

    // Act
    await dropFlight(
      local.s3,
      local.dropBucket,
      'tower-blind/flight-2/',
      geotaggedPhotos(12, { gps: false, cameras: 'mixed' }),
      {},
    );
    await local.settle();

    // Assess
    const [message] = local.notifications;
    expect(message).toMatchObject({ type: 'inspection.completed', flight: { photos: 12, geotagged: 0 } });
    expect(message!.warnings).toEqual([
      expect.stringMatching(/^12 of 12 photos have no GPS position \(DCIM\/DJI_0001\.JPG/),
      expect.stringMatching(/^photos from 2 cameras: /),
    ]);
  });

  it('refuses fewer than 6 photos by default, and lets a manifest lower the threshold for its flight', async () => {
    // Prepare
    const local = await start();

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-few/flight-1/', geotaggedPhotos(3), {});
    await dropFlight(local.s3, local.dropBucket, 'tower-few/flight-2/', geotaggedPhotos(3), {
      preflight: { minPhotos: 3 },
    });
    await local.settle();

    // Assess
    const byFolder = Object.fromEntries(local.notifications.map((message) => [message.batch.prefix, message]));
    expect(byFolder['tower-few/flight-1/']).toMatchObject({
      type: 'inspection.failed',
      inspection: null,
      error: {
        stage: 'preflight',
        message: expect.stringContaining(
          '3 photos, fewer than minPhotos 6: DCIM/DJI_0001.JPG, DCIM/DJI_0002.JPG, DCIM/DJI_0003.JPG',
        ),
      },
    });
    expect(byFolder['tower-few/flight-2/']).toMatchObject({ type: 'inspection.completed', images: { registered: 3 } });
  });
});
