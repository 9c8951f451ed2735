import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { decode } from 'jpeg-js';
import { load } from 'piexifjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATE_TIME_ORIGINAL,
  degreesOf,
  GPS_ALTITUDE,
  GPS_LATITUDE,
  GPS_LATITUDE_REF,
  GPS_LONGITUDE,
  GPS_LONGITUDE_REF,
  listFiles,
  OFFSET_TIME_ORIGINAL,
  PIXEL_X_DIMENSION,
  PIXEL_Y_DIMENSION,
  SAMPLE_FLIGHT_DIR,
  SAMPLE_MANIFEST,
  TOWER,
} from '../../examples/make-sample-flight';
import { skipReasonByName } from '../../src/batch/classify';
import { PHOTO_CONTENT_CHECK } from '../../src/batch/image-completeness';
import { parseManifestBytes } from '../../src/batch/manifest';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const PHOTOS = [
  ...Array.from({ length: 8 }, (_, i) => `DCIM/100MEDIA/DJI_${String(i + 1).padStart(4, '0')}.JPG`),
  ...Array.from({ length: 4 }, (_, i) => `DCIM/101MEDIA/DJI_${String(i + 9).padStart(4, '0')}.JPG`),
];

let generated: string;

/** The generator, run as the README's readers would run it, into a folder of its own. */
beforeAll(async () => {
  generated = await mkdtemp(join(tmpdir(), 'sample-flight-'));
  await promisify(execFile)(TSX, ['examples/make-sample-flight.ts', generated], { cwd: ROOT });
});

afterAll(async () => {
  await rm(generated, { recursive: true, force: true });
});

const committed = (path: string) => readFile(join(SAMPLE_FLIGHT_DIR, path));

/** Metres between two positions (equirectangular: exact enough over a few tens of metres). */
function metresBetween(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const north = (a.latitude - b.latitude) * 111_320;
  const east = (a.longitude - b.longitude) * 111_320 * Math.cos((a.latitude * Math.PI) / 180);
  return Math.hypot(north, east);
}

/** Exif's `2026:11:28 10:00:03` with its offset, as a time. */
const exifTime = (dateTime: string, offset: string) =>
  Date.parse(`${dateTime.replace(/^(\d{4}):(\d{2}):(\d{2}) /, '$1-$2-$3T')}${offset}`);

describe('examples/flight', () => {
  it('is exactly what examples/make-sample-flight.ts makes, byte for byte', async () => {
    // Prepare
    const expected = await listFiles(generated);

    // Act
    const files = await listFiles(SAMPLE_FLIGHT_DIR);

    // Assess
    expect(files).toEqual(expected);
    for (const path of files) {
      const [made, kept] = await Promise.all([readFile(join(generated, path)), committed(path)]);
      expect(
        made.equals(kept),
        `${path} differs from the generator's output: run npx tsx examples/make-sample-flight.ts`,
      ).toBe(true);
    }
  });

  it('holds 12 photos in two DJI folders, flight notes and a manifest', async () => {
    // Act
    const files = await listFiles(SAMPLE_FLIGHT_DIR);

    // Assess
    expect(files).toEqual([...PHOTOS, 'manifest.json', 'notes.txt']);
  });

  it('has small decodable JPEGs carrying the Exif of a DJI drone on an orbit around the tower, a few seconds apart', async () => {
    // Prepare
    const photos = await Promise.all(PHOTOS.map(committed));

    // Act
    const read = photos.map((bytes) => ({ bytes, exif: load(bytes.toString('latin1')), image: decode(bytes) }));

    // Assess
    const stations = read.map(({ bytes, exif, image }, index) => {
      expect(bytes.length, PHOTOS[index]).toBeLessThan(8_192);
      expect([image.width, image.height]).toEqual([exif.Exif[PIXEL_X_DIMENSION], exif.Exif[PIXEL_Y_DIMENSION]]);
      expect(exif['0th'][271]).toBe('DJI');
      expect(exif['0th'][272]).toBe('FC6310');
      const gps = exif.GPS as Record<number, unknown>;
      type Rationals = [number, number][];
      const position = {
        latitude: degreesOf(gps[GPS_LATITUDE] as Rationals, gps[GPS_LATITUDE_REF] as string),
        longitude: degreesOf(gps[GPS_LONGITUDE] as Rationals, gps[GPS_LONGITUDE_REF] as string),
      };
      // One rational: piexifjs reads it back as a plain [numerator, denominator].
      const [altitude, per] = gps[GPS_ALTITUDE] as [number, number];
      return {
        position,
        altitude: altitude / per,
        time: exifTime(exif.Exif[DATE_TIME_ORIGINAL] as string, exif.Exif[OFFSET_TIME_ORIGINAL] as string),
      };
    });
    for (const [index, station] of stations.entries()) {
      expect(metresBetween(station.position, TOWER), PHOTOS[index]).toBeCloseTo(15, 0);
      expect(station.altitude).toBeGreaterThan(TOWER.groundAltitudeMetres);
      if (index === 0) continue;
      const previous = stations[index - 1]!;
      expect(metresBetween(station.position, previous.position)).toBeGreaterThan(2);
      expect(metresBetween(station.position, previous.position)).toBeLessThan(10);
      expect((station.time - previous.time) / 1000).toBe(3);
    }
    expect(new Date(stations[0]!.time).toISOString()).toBe(
      SAMPLE_MANIFEST.inspection.inspection_date.replace('Z', '.000Z'),
    );
  });

  it("passes the copy step: every photo is complete (the thumbnail's end marker inside the Exif does not count)", async () => {
    for (const path of PHOTOS) {
      // Prepare
      const bytes = await committed(path);
      const check = PHOTO_CONTENT_CHECK.completeness!(path, bytes.subarray(0, PHOTO_CONTENT_CHECK.bytesNeeded))!;
      const truncated = PHOTO_CONTENT_CHECK.completeness!(path, bytes.subarray(0, PHOTO_CONTENT_CHECK.bytesNeeded))!;

      // Act: in chunks, as a stream delivers them; and the same photo cut just before its end-of-image marker.
      for (let at = 0; at < bytes.length; at += 1_000) check.update(bytes.subarray(at, at + 1_000));
      truncated.update(bytes.subarray(0, bytes.length - 2));

      // Assess
      expect(
        PHOTO_CONTENT_CHECK.reasonToSkip(path, bytes.subarray(0, PHOTO_CONTENT_CHECK.bytesNeeded)),
        path,
      ).toBeUndefined();
      expect(skipReasonByName(path, bytes.length, false), path).toBeUndefined();
      expect(check.finish(), path).toBeUndefined();
      expect(truncated.finish(), path).toMatch(/^truncated JPEG/);
    }
  });

  it('has a manifest the pipeline accepts, and notes the pipeline skips', async () => {
    // Act
    const manifest = parseManifestBytes(await committed('manifest.json'));
    const notes = await committed('notes.txt');

    // Assess
    expect(manifest).toEqual(SAMPLE_MANIFEST);
    expect(skipReasonByName('notes.txt', notes.length, false)).toBe('unsupported extension (.txt)');
  });
});
