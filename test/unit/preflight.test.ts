/// <reference path="../../examples/piexifjs.d.ts" />
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dump, type ExifDict, insert } from 'piexifjs';
import { describe, expect, it } from 'vitest';
import { photoStation, samplePhoto } from '../../examples/make-sample-flight';
import { parseManifest } from '../../src/batch/manifest';
import { METADATA_BYTES, type PhotoMetadata, readPhotoMetadata } from '../../src/preflight/photo-metadata';
import {
  assessFlight,
  DEFAULT_PREFLIGHT_THRESHOLDS,
  type FlightPhoto,
  MAX_LISTED_PHOTOS,
  withOverrides,
} from '../../src/preflight/preflight';
import { jpegBytes } from '../helpers/flights';

const FIXTURES = join(__dirname, '..', 'fixtures', 'photos');

/** A small JPEG with the given Exif (tags by number, as piexifjs takes them). */
function jpegWithExif(exif: ExifDict): Buffer {
  return Buffer.from(insert(dump(exif), jpegBytes(4_096, 7).toString('latin1')), 'latin1');
}

/** Photos named `P0001.JPG`... with the metadata `at(index)` gives. */
function flight(count: number, at: (index: number) => PhotoMetadata): FlightPhoto[] {
  return Array.from({ length: count }, (_, index) => ({
    name: `P${String(index + 1).padStart(4, '0')}.JPG`,
    metadata: at(index),
  }));
}

const TOWER = { latitude: 46.5197, longitude: 6.5663 };
const located = (index: number): PhotoMetadata => ({
  latitude: TOWER.latitude + index * 1e-5,
  longitude: TOWER.longitude - index * 1e-5,
  altitude: 450 + index,
  capturedAt: new Date(Date.parse('2026-11-28T09:00:00Z') + index * 3_000).toISOString(),
  captureZoneKnown: true,
  make: 'DJI',
  model: 'FC6310',
});

describe('readPhotoMetadata', () => {
  it('reads position, altitude, capture time with its offset, camera and size from a DJI photo', async () => {
    // Prepare
    const photo = samplePhoto(4);
    const station = photoStation(4);

    // Act
    const metadata = await readPhotoMetadata(photo.subarray(0, METADATA_BYTES));

    // Assess
    expect(metadata.latitude).toBeCloseTo(station.latitude, 6);
    expect(metadata.longitude).toBeCloseTo(station.longitude, 6);
    expect(metadata).toMatchObject({
      altitude: station.altitudeMetres,
      capturedAt: '2026-11-28T10:00:09+01:00',
      captureZoneKnown: true,
      make: 'DJI',
      model: 'FC6310',
      width: 160,
      height: 120,
    });
  });

  it('gives southern and western positions and altitudes below sea level their sign', async () => {
    // Prepare
    const photo = jpegWithExif({
      GPS: {
        1: 'S',
        2: [
          [33, 1],
          [51, 1],
          [3_000, 100],
        ],
        3: 'W',
        4: [
          [70, 1],
          [30, 1],
          [0, 1],
        ],
        5: 1,
        6: [[12_500, 1000]],
      },
    });

    // Act
    const metadata = await readPhotoMetadata(photo);

    // Assess
    expect(metadata.latitude).toBeCloseTo(-(33 + 51 / 60 + 30 / 3600), 9);
    expect(metadata.longitude).toBeCloseTo(-70.5, 9);
    expect(metadata.altitude).toBe(-12.5);
  });

  it('takes the GPS time (UTC) when the photo gives no offset, else its local time as UTC, and says so', async () => {
    // Prepare
    const withGpsTime = jpegWithExif({
      Exif: { 36867: '2026:11:28 11:00:00' },
      GPS: {
        29: '2026:11:28',
        7: [
          [10, 1],
          [0, 1],
          [5, 1],
        ],
      },
    });
    const withoutZone = jpegWithExif({ Exif: { 36867: '2026:11:28 11:00:00' } });

    // Act
    const [gps, zoneless] = await Promise.all([readPhotoMetadata(withGpsTime), readPhotoMetadata(withoutZone)]);

    // Assess
    expect(gps).toMatchObject({ capturedAt: '2026-11-28T10:00:05Z', captureZoneKnown: true });
    expect(zoneless).toMatchObject({ capturedAt: '2026-11-28T11:00:00Z', captureZoneKnown: false });
  });

  it('finds nothing in a photo without Exif, no position where a camera without a fix wrote 0, 0, and survives a cut', async () => {
    // Prepare
    const plain = jpegBytes(4_096, 3);
    const noFix = jpegWithExif({
      '0th': { 271: 'DJI' },
      GPS: {
        1: 'N',
        2: [
          [0, 1],
          [0, 1],
          [0, 1],
        ],
        3: 'E',
        4: [
          [0, 1],
          [0, 1],
          [0, 1],
        ],
      },
    });
    const cut = samplePhoto(1).subarray(0, 200);

    // Act
    const [none, zero, partial] = await Promise.all([
      readPhotoMetadata(plain),
      readPhotoMetadata(noFix),
      readPhotoMetadata(cut),
    ]);

    // Assess
    expect(none).toEqual({});
    expect(zero).toEqual({ make: 'DJI' });
    expect(partial.latitude).toBeUndefined();
  });

  it('reads the size of a TIFF from its first directory', async () => {
    // Prepare
    const tiff = await readFile(join(FIXTURES, 'strips-big-endian.tif'));

    // Act
    const metadata = await readPhotoMetadata(tiff);

    // Assess
    expect(metadata).toMatchObject({ width: 90, height: 60 });
    expect(metadata.latitude).toBeUndefined();
  });
});

describe('assessFlight', () => {
  it('summarizes a geotagged flight: centroid, altitude range, capture span, camera; no warning, no refusal', () => {
    // Prepare
    const photos = flight(30, located);

    // Act
    const result = assessFlight(photos, DEFAULT_PREFLIGHT_THRESHOLDS);

    // Assess
    expect(result.refusal).toBeUndefined();
    expect(result.warnings).toEqual([]);
    expect(result.flight).toMatchObject({
      photos: 30,
      geotagged: 30,
      capturedFrom: '2026-11-28T09:00:00.000Z',
      capturedTo: '2026-11-28T09:01:27.000Z',
      cameras: ['DJI FC6310'],
      altitude: { min: 450, max: 479 },
    });
    expect(result.flight.centroid!.latitude).toBeCloseTo(TOWER.latitude + 14.5e-5, 6);
    expect(result.flight.centroid!.longitude).toBeCloseTo(TOWER.longitude - 14.5e-5, 6);
  });

  it('refuses fewer than minPhotos photos, naming the rule, the figure, the threshold and the photos', () => {
    // Prepare
    const photos = flight(3, located);

    // Act
    const result = assessFlight(photos, DEFAULT_PREFLIGHT_THRESHOLDS);

    // Assess
    expect(result.refusal).toBe('3 photos, fewer than minPhotos 6: P0001.JPG, P0002.JPG, P0003.JPG');
  });

  it('refuses more than maxPhotos photos, and no limit by default', () => {
    // Prepare
    const photos = flight(4_001, located);

    // Act
    const limited = assessFlight(photos, { ...DEFAULT_PREFLIGHT_THRESHOLDS, maxPhotos: 4_000 });
    const unlimited = assessFlight(photos, DEFAULT_PREFLIGHT_THRESHOLDS);

    // Assess
    expect(limited.refusal).toMatch(/^4,001 photos, more than maxPhotos 4,000; split the flight/);
    expect(unlimited.refusal).toBeUndefined();
  });

  it('refuses a geotagged share below minGeotaggedShare, listing at most 20 photos without GPS; warns only by default', () => {
    // Prepare
    const photos = flight(30, (index) => (index < 3 ? located(index) : { make: 'DJI', model: 'FC6310' }));

    // Act
    const strict = assessFlight(photos, { ...DEFAULT_PREFLIGHT_THRESHOLDS, minGeotaggedShare: 0.9 });
    const lenient = assessFlight(photos, DEFAULT_PREFLIGHT_THRESHOLDS);

    // Assess
    expect(strict.refusal).toMatch(
      /^3 of 30 photos geotagged \(10%\), below minGeotaggedShare 0\.9 \(90%\); without GPS: P0004\.JPG, /,
    );
    expect(strict.refusal).toContain(`P${String(3 + MAX_LISTED_PHOTOS).padStart(4, '0')}.JPG and 7 more`);
    expect(strict.refusal).not.toContain(`P${String(4 + MAX_LISTED_PHOTOS).padStart(4, '0')}.JPG`);
    expect(lenient.refusal).toBeUndefined();
    expect(lenient.warnings).toEqual([
      '27 of 30 photos have no GPS position (P0004.JPG, P0005.JPG, P0006.JPG and 24 more)',
    ]);
  });

  it('warns on mixed cameras, a long capture span, a wide spread and zone-less capture times', () => {
    // Prepare
    const photos = flight(8, (index) => ({
      ...located(index),
      model: index % 2 === 0 ? 'FC6310' : 'FC3411',
      capturedAt: new Date(Date.parse('2026-11-28T06:00:00Z') + index * 3_600_000).toISOString(),
      captureZoneKnown: index !== 0,
      latitude: TOWER.latitude + (index === 7 ? 0.05 : 0),
    }));

    // Act
    const result = assessFlight(photos, DEFAULT_PREFLIGHT_THRESHOLDS);

    // Assess
    expect(result.refusal).toBeUndefined();
    expect(result.warnings).toEqual([
      'photos from 2 cameras: DJI FC3411 (4), DJI FC6310 (4)',
      '1 photos give their capture time without a time zone; it is taken as UTC (P0001.JPG)',
      'capture times span 7 hours (2026-11-28T06:00:00.000Z to 2026-11-28T13:00:00.000Z), more than maxFlightHours 6: more than one flight in one folder?',
      expect.stringMatching(
        /^positions spread over 5,\d{3} m, more than maxSpreadMeters 2,000: photos of more than one site\?$/,
      ),
    ]);
  });

  it('takes a centroid across the antimeridian where the photos are, not on the other side of the Earth', () => {
    // Prepare
    const photos = flight(6, (index) => ({ latitude: -16.5, longitude: index % 2 === 0 ? 179.9999 : -179.9999 }));

    // Act
    const result = assessFlight(photos, DEFAULT_PREFLIGHT_THRESHOLDS);

    // Assess
    expect(Math.abs(result.flight.centroid!.longitude)).toBeCloseTo(180, 6);
    expect(result.warnings).toEqual([]);
  });
});

describe('pre-flight thresholds in manifest.json', () => {
  it('overrides the stack thresholds per flight', () => {
    // Prepare
    const manifest = parseManifest('{"preflight": {"minPhotos": 2, "maxPhotos": null, "minGeotaggedShare": 0.5}}');

    // Act
    const thresholds = withOverrides({ ...DEFAULT_PREFLIGHT_THRESHOLDS, maxPhotos: 4_000 }, manifest.preflight);

    // Assess
    expect(thresholds).toEqual({
      minPhotos: 2,
      maxPhotos: null,
      minGeotaggedShare: 0.5,
      maxFlightHours: 6,
      maxSpreadMeters: 2_000,
    });
  });

  it.each([
    ['{"preflight": {"minPhoto": 2}}', 'unknown field "minPhoto" in preflight'],
    ['{"preflight": {"minGeotaggedShare": 1.5}}', 'preflight.minGeotaggedShare: must be between 0 and 1'],
    ['{"preflight": {"minPhotos": 0}}', 'preflight.minPhotos: must be at least 1'],
    ['{"preflight": {"minPhotos": 10, "maxPhotos": 5}}', 'preflight.maxPhotos: must be at least minPhotos (10)'],
    ['{"preflight": {"maxSpreadMeters": "far"}}', 'preflight.maxSpreadMeters: expected number, found a string'],
  ])('refuses %s naming the problem', (text, problem) => {
    // Act
    const refuse = () => parseManifest(text);

    // Assess
    expect(refuse).toThrow(problem);
  });
});
