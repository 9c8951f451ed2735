import { decode } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { type FlightPhotoOptions, flightPhoto, flightPhotoStation } from '../../local/flight-photos';
import { FIRST_BYTES_NEEDED, skipReasonByContent } from '../../src/batch/classify';
import { completenessCheck } from '../../src/batch/image-completeness';
import { METADATA_BYTES, readPhotoMetadata } from '../../src/preflight/photo-metadata';

/**
 * The generated drone photos of local mode and the tests, read back by the pipeline's own Exif reader and judged by
 * its own content and completeness checks: what `flightPhotoStation` says is what the photo carries.
 */

const DEGREE_TOLERANCE = 1e-6;

/** Metres between two positions (equirectangular: exact enough over a few tens of metres). */
function metresBetween(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const north = (a.latitude - b.latitude) * 111_320;
  const east = (a.longitude - b.longitude) * 111_320 * Math.cos((b.latitude * Math.PI) / 180);
  return Math.hypot(north, east);
}

/** The completeness check's verdict on the whole photo: undefined when it is complete. */
function completeness(bytes: Buffer): string | undefined {
  const check = completenessCheck(bytes.subarray(0, FIRST_BYTES_NEEDED));
  if (!check) throw new Error('no completeness check for these bytes');
  check.update(bytes);
  return check.finish();
}

/** What readPhotoMetadata reads, as the pipeline reads it: from the photo's first METADATA_BYTES. */
const metadataOf = (photo: Buffer) => readPhotoMetadata(photo.subarray(0, METADATA_BYTES));

/** Asserts that the photo's Exif says what its station does. */
async function expectPhotoToMatchStation(index: number, options: FlightPhotoOptions): Promise<void> {
  const station = flightPhotoStation(index, options);
  const metadata = await metadataOf(flightPhoto(index, options));
  expect(Math.abs(metadata.latitude! - station.latitude), `photo ${index} latitude`).toBeLessThan(DEGREE_TOLERANCE);
  expect(Math.abs(metadata.longitude! - station.longitude), `photo ${index} longitude`).toBeLessThan(DEGREE_TOLERANCE);
  expect(metadata).toMatchObject({
    altitude: station.altitude,
    make: station.make,
    model: station.model,
    width: 320,
    height: 240,
    captureZoneKnown: true,
  });
  expect(Date.parse(metadata.capturedAt!), `photo ${index} capturedAt ${metadata.capturedAt}`).toBe(
    Date.parse(station.capturedAt),
  );
}

describe('flightPhoto', () => {
  it('carries the position, altitude, capture time, camera and size its station gives, for every photo of a flight', async () => {
    // Prepare
    const options: FlightPhotoOptions = { count: 24 };

    // Act & Assess
    for (let index = 0; index < options.count; index++) await expectPhotoToMatchStation(index, options);
  });

  it('writes the capture time in the zone of the first capture, with its offset and milliseconds', async () => {
    // Prepare: west of Greenwich and south of the equator, a negative offset, intervals that are not whole seconds.
    const options: FlightPhotoOptions = {
      count: 10,
      center: { latitude: -22.9519, longitude: -43.2105 },
      firstCapture: '2026-03-01T23:59:58-03:00',
      secondsBetween: 1.5,
    };

    // Act
    const station = flightPhotoStation(3, options);
    const metadata = await metadataOf(flightPhoto(3, options));

    // Assess
    expect(station.capturedAt).toBe('2026-03-02T00:00:02.500-03:00');
    expect(metadata.capturedAt).toBe(station.capturedAt);
    expect(station.latitude).toBeLessThan(0);
    expect(station.longitude).toBeLessThan(0);
    for (let index = 0; index < options.count; index++) await expectPhotoToMatchStation(index, options);
  });

  it('carries no position with gps: false, and the rest all the same', async () => {
    // Prepare
    const options: FlightPhotoOptions = { count: 8, gps: false };

    // Act
    const metadata = await Promise.all(
      Array.from({ length: options.count }, (_, index) => metadataOf(flightPhoto(index, options))),
    );

    // Assess
    metadata.forEach((photo, index) => {
      const station = flightPhotoStation(index, options);
      expect(photo).not.toHaveProperty('latitude');
      expect(photo).not.toHaveProperty('longitude');
      expect(photo).not.toHaveProperty('altitude');
      expect(photo).toMatchObject({ make: 'DJI', model: 'FC6310', width: 320, height: 240 });
      expect(Date.parse(photo.capturedAt!)).toBe(Date.parse(station.capturedAt));
    });
  });

  it("alternates two cameras with cameras: 'mixed', and keeps to one by default", async () => {
    // Prepare
    const count = 6;

    // Act
    const mixed = await Promise.all(
      Array.from({ length: count }, (_, index) => metadataOf(flightPhoto(index, { count, cameras: 'mixed' }))),
    );
    const one = await Promise.all(
      Array.from({ length: count }, (_, index) => metadataOf(flightPhoto(index, { count }))),
    );

    // Assess
    expect(mixed.map((photo) => `${photo.make} ${photo.model}`)).toEqual([
      'DJI FC6310',
      'DJI FC3411',
      'DJI FC6310',
      'DJI FC3411',
      'DJI FC6310',
      'DJI FC3411',
    ]);
    expect(new Set(one.map((photo) => `${photo.make} ${photo.model}`))).toEqual(new Set(['DJI FC6310']));
  });

  it('is a small decodable JPEG, with its own bytes for every index', () => {
    // Prepare
    const options: FlightPhotoOptions = { count: 50 };

    // Act
    const photos = Array.from({ length: options.count }, (_, index) => flightPhoto(index, options));

    // Assess
    const decoded = decode(photos[7]!, { useTArray: true });
    expect({ width: decoded.width, height: decoded.height }).toEqual({ width: 320, height: 240 });
    expect(new Set(photos.map((photo) => photo.toString('base64'))).size).toBe(options.count);
    for (const photo of photos) expect(photo.length).toBeLessThan(64 * 1024);
  });

  it('is accepted by the pipeline content and completeness checks, and refused cut short', () => {
    // Prepare
    const photo = flightPhoto(5, { count: 24 });
    // The Exif segment holds the thumbnail's FF D9: a cut just after it must not pass for a complete photo.
    const thumbnailEnd = photo.indexOf(Buffer.from([0xff, 0xd9])) + 2;
    const cuts = [thumbnailEnd, Math.floor(photo.length / 2), photo.length - 1];

    // Act
    const byContent = skipReasonByContent('DCIM/DJI_0006.JPG', photo.subarray(0, FIRST_BYTES_NEEDED));
    const whole = completeness(photo);
    const cut = cuts.map((length) => completeness(photo.subarray(0, length)));

    // Assess
    expect(thumbnailEnd).toBeLessThan(photo.length / 2);
    expect(byContent).toBeUndefined();
    expect(whole).toBeUndefined();
    for (const reason of cut) expect(reason).toEqual(expect.any(String));
  });
});

describe('flightPhotoStation', () => {
  it('spreads a long flight over rings of 15 to 30 m round the center, climbing slowly, secondsBetween apart', () => {
    // Prepare
    const center = { latitude: 46.5197, longitude: 6.5663 };
    const options: FlightPhotoOptions = { count: 5_000, center, secondsBetween: 2 };

    // Act
    const stations = Array.from({ length: options.count }, (_, index) => flightPhotoStation(index, options));

    // Assess
    const distances = stations.map((station) => metresBetween(station, center));
    expect(Math.min(...distances)).toBeGreaterThan(14.9);
    expect(Math.max(...distances)).toBeLessThan(30.1);
    expect(new Set(distances.map((distance) => Math.round(distance))).size).toBeGreaterThan(1);
    stations.slice(1).forEach((station, index) => {
      expect(station.altitude).toBeGreaterThanOrEqual(stations[index]!.altitude);
      expect(Date.parse(station.capturedAt) - Date.parse(stations[index]!.capturedAt)).toBe(2_000);
    });
    expect(stations.at(-1)!.altitude - stations[0]!.altitude).toBeCloseTo(40, 3);
    expect(stations[0]).toMatchObject({ capturedAt: '2026-11-28T10:00:00+01:00', make: 'DJI', model: 'FC6310' });
  });

  it('refuses an index outside the flight and a capture time without its offset', () => {
    // Act & Assess
    expect(() => flightPhotoStation(24, { count: 24 })).toThrow(RangeError);
    expect(() => flightPhotoStation(-1, { count: 24 })).toThrow(RangeError);
    expect(() => flightPhotoStation(0, { count: 24, firstCapture: '2026-11-28T10:00:00' })).toThrow(/firstCapture/);
    expect(() => flightPhotoStation(0, { count: 24, secondsBetween: -1 })).toThrow(/secondsBetween/);
  });
});
