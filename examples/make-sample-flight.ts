/// <reference path="./piexifjs.d.ts" />
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { encode } from 'jpeg-js';
import type { ExifDict } from 'piexifjs';
import { UsageError } from '../local/cli-options';
import { parseCommandLine, runMain, versionLine } from '../local/command-line';
import {
  degreesMinutesSeconds,
  EXIF_TAG,
  exifSegment,
  gradientPixels,
  OFFSET_TIME_ORIGINAL,
  withoutJfif,
} from '../local/flight-photos';

/**
 * The sample flight of examples/flight/: what the README's commands upload. Twelve small, decodable JPEGs taken on
 * an orbit around a telecom tower, with the Exif a DJI drone writes (position, altitude, time, camera), in DJI's
 * two-folder layout, a text file the pipeline skips, and a manifest.json valid for the pipeline's strict schema.
 *
 * Deterministic: the same bytes on every run and machine (no clock, no randomness, and only arithmetic that IEEE
 * 754 rounds exactly: no Math.sin/cos, whose last bit may differ between engines), so that the committed folder
 * can be checked against this script's output.
 *
 *   npx tsx examples/make-sample-flight.ts [DIR]     (default: examples/flight)
 */

export const SAMPLE_FLIGHT_DIR = join(__dirname, 'flight');

export interface SampleFile {
  /** Relative to the flight folder, with "/". */
  readonly path: string;
  readonly bytes: Buffer;
}

export const PHOTO_COUNT = 12;
export const PHOTO_WIDTH = 160;
export const PHOTO_HEIGHT = 120;

/** The tower (a made-up one near Lausanne), the orbit around it, and the time of the flight. */
export const TOWER = { latitude: 46.5197, longitude: 6.5663, groundAltitudeMetres: 420 } as const;
const ORBIT_RADIUS_METRES = 15;
const FIRST_ALTITUDE_METRES = 455;
/** Metres per degree of latitude, and of longitude at the tower's latitude (111,320 x cos 46.5197 degrees). */
const METRES_PER_DEGREE_LATITUDE = 111_320;
const METRES_PER_DEGREE_LONGITUDE = 76_636;
/** Local time of the first photo, the zone it is in, and the seconds between photos. */
const FIRST_PHOTO = { date: '2026:11:28', hour: 10, minute: 0, second: 0, offset: '+01:00' } as const;
const SECONDS_BETWEEN_PHOTOS = 3;

/** Unit circle points every 30 degrees from exact values (0, 1/2, sqrt(3)/2): the orbit's 12 stations. */
const HALF_ROOT_THREE = Math.sqrt(3) / 2;
const ORBIT: readonly (readonly [east: number, north: number])[] = [
  [0, 1],
  [0.5, HALF_ROOT_THREE],
  [HALF_ROOT_THREE, 0.5],
  [1, 0],
  [HALF_ROOT_THREE, -0.5],
  [0.5, -HALF_ROOT_THREE],
  [0, -1],
  [-0.5, -HALF_ROOT_THREE],
  [-HALF_ROOT_THREE, -0.5],
  [-1, 0],
  [-HALF_ROOT_THREE, 0.5],
  [-0.5, HALF_ROOT_THREE],
];

// Tag numbers (Exif 2.32 / TIFF 6.0), shared with local mode's generated photos (which register
// OffsetTimeOriginal, unknown to piexifjs 1.0.6); the test of the committed flight reads them from here.
export { OFFSET_TIME_ORIGINAL };

const {
  make: MAKE,
  model: MODEL,
  orientation: ORIENTATION,
  software: SOFTWARE,
  dateTime: DATE_TIME,
  exifVersion: EXIF_VERSION,
  dateTimeDigitized: DATE_TIME_DIGITIZED,
  gpsVersionId: GPS_VERSION_ID,
  gpsAltitudeRef: GPS_ALTITUDE_REF,
  gpsMapDatum: GPS_MAP_DATUM,
} = EXIF_TAG;
export const {
  dateTimeOriginal: DATE_TIME_ORIGINAL,
  pixelXDimension: PIXEL_X_DIMENSION,
  pixelYDimension: PIXEL_Y_DIMENSION,
  gpsLatitudeRef: GPS_LATITUDE_REF,
  gpsLatitude: GPS_LATITUDE,
  gpsLongitudeRef: GPS_LONGITUDE_REF,
  gpsLongitude: GPS_LONGITUDE,
  gpsAltitude: GPS_ALTITUDE,
} = EXIF_TAG;

export interface PhotoStation {
  readonly number: number;
  readonly path: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly altitudeMetres: number;
  /** Exif form, local time: `2026:11:28 10:00:03`. */
  readonly dateTimeOriginal: string;
  readonly offsetTimeOriginal: string;
}

/** Photo `number` (1-12): where and when it was taken, and where it lies in DJI's folders (999 per folder on the drone; 8 here, to show two). */
export function photoStation(number: number): PhotoStation {
  const [east, north] = ORBIT[number - 1]!;
  const seconds =
    FIRST_PHOTO.hour * 3600 + FIRST_PHOTO.minute * 60 + FIRST_PHOTO.second + (number - 1) * SECONDS_BETWEEN_PHOTOS;
  const two = (value: number) => String(value).padStart(2, '0');
  const time = `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  return {
    number,
    path: `DCIM/${number <= 8 ? '100MEDIA' : '101MEDIA'}/DJI_${String(number).padStart(4, '0')}.JPG`,
    latitude: TOWER.latitude + (north * ORBIT_RADIUS_METRES) / METRES_PER_DEGREE_LATITUDE,
    longitude: TOWER.longitude + (east * ORBIT_RADIUS_METRES) / METRES_PER_DEGREE_LONGITUDE,
    // A slow climb, half a metre a photo, as an orbit that spirals up the tower.
    altitudeMetres: FIRST_ALTITUDE_METRES + (number - 1) * 0.5,
    dateTimeOriginal: `${FIRST_PHOTO.date} ${time}`,
    offsetTimeOriginal: FIRST_PHOTO.offset,
  };
}

/** Exif's rationals back to degrees (the inverse of degreesMinutesSeconds, for checks). */
export function degreesOf(rationals: readonly (readonly [number, number])[], ref: string): number {
  const [d, m, s] = rationals.map(([numerator, denominator]) => numerator / denominator) as [number, number, number];
  return (ref === 'S' || ref === 'W' ? -1 : 1) * (d + m / 60 + s / 3600);
}

/** 3x5 bitmaps of the digits, one string of 15 cells each, row by row. */
const DIGITS = [
  '111101101101111',
  '010110010010111',
  '111001111100111',
  '111001111001111',
  '101101111001001',
  '111100111001111',
  '111100111101111',
  '111001001001001',
  '111101111101111',
  '111101111001111',
];

/** A gradient whose colours turn with the photo number, the number drawn in white in the middle. */
function photoPixels(number: number, width: number, height: number): Buffer {
  const data = gradientPixels(width, height, (number * 21) % 256);
  // Digits a third of the height (8 pixels a cell in a photo, 2 in its thumbnail).
  const DIGIT_SCALE = Math.max(1, Math.floor(height / 15));
  const text = String(number);
  const textWidth = text.length * 4 * DIGIT_SCALE - DIGIT_SCALE;
  const left = Math.floor((width - textWidth) / 2);
  const top = Math.floor((height - 5 * DIGIT_SCALE) / 2);
  [...text].forEach((digit, index) => {
    const cells = DIGITS[Number(digit)]!;
    for (let cell = 0; cell < 15; cell++) {
      if (cells[cell] !== '1') continue;
      const cellLeft = left + index * 4 * DIGIT_SCALE + (cell % 3) * DIGIT_SCALE;
      const cellTop = top + Math.floor(cell / 3) * DIGIT_SCALE;
      for (let y = cellTop; y < cellTop + DIGIT_SCALE; y++) {
        data.fill(255, (y * width + cellLeft) * 4, (y * width + cellLeft + DIGIT_SCALE) * 4);
      }
    }
  });
  return data;
}

/** A baseline JPEG of the photo, without the JFIF APP0 segment jpeg-js writes (a DJI file has Exif APP1 only). */
function encodeJpeg(number: number, width: number, height: number, quality: number): Buffer {
  return withoutJfif(Buffer.from(encode({ data: photoPixels(number, width, height), width, height }, quality).data));
}

/** Photo `number` with the Exif of a DJI Phantom 4 Pro (camera FC6310) and a thumbnail, as the drone writes it. */
export function samplePhoto(number: number): Buffer {
  const station = photoStation(number);
  const exif: ExifDict = {
    '0th': {
      [MAKE]: 'DJI',
      [MODEL]: 'FC6310',
      [ORIENTATION]: 1,
      [SOFTWARE]: 'inspect-pipeline examples/make-sample-flight.ts',
      [DATE_TIME]: station.dateTimeOriginal,
    },
    Exif: {
      [EXIF_VERSION]: '0232',
      [DATE_TIME_ORIGINAL]: station.dateTimeOriginal,
      [DATE_TIME_DIGITIZED]: station.dateTimeOriginal,
      [OFFSET_TIME_ORIGINAL]: station.offsetTimeOriginal,
      [PIXEL_X_DIMENSION]: PHOTO_WIDTH,
      [PIXEL_Y_DIMENSION]: PHOTO_HEIGHT,
    },
    GPS: {
      [GPS_VERSION_ID]: [2, 3, 0, 0],
      [GPS_LATITUDE_REF]: station.latitude >= 0 ? 'N' : 'S',
      [GPS_LATITUDE]: degreesMinutesSeconds(station.latitude),
      [GPS_LONGITUDE_REF]: station.longitude >= 0 ? 'E' : 'W',
      [GPS_LONGITUDE]: degreesMinutesSeconds(station.longitude),
      [GPS_ALTITUDE_REF]: 0,
      [GPS_ALTITUDE]: [[Math.round(station.altitudeMetres * 1000), 1000]],
      [GPS_MAP_DATUM]: 'WGS-84',
    },
    // The thumbnail ends with its own FF D9 inside the Exif segment, as a camera's does: the pipeline's
    // completeness check must not take it for the end of the photo.
    '1st': { [ORIENTATION]: 1 },
    thumbnail: encodeJpeg(number, 40, 30, 60).toString('latin1'),
  };
  const jpeg = encodeJpeg(number, PHOTO_WIDTH, PHOTO_HEIGHT, 75);
  // SOI, then the Exif APP1 segment, then the rest (the encoded JPEG holds no Exif segment to replace).
  return Buffer.concat([jpeg.subarray(0, 2), exifSegment(exif), jpeg.subarray(2)]);
}

/** The manifest uploaded last: every field the pipeline's schema knows but `images` (all photos are taken). */
export const SAMPLE_MANIFEST = {
  asset: {
    name: 'Tower 123',
    type: 1,
    latitude: TOWER.latitude,
    longitude: TOWER.longitude,
    description: 'Sample telecom tower of inspect-pipeline (examples/flight/)',
  },
  inspection: {
    name: 'Sample orbit',
    description: `${PHOTO_COUNT} photos on a ${ORBIT_RADIUS_METRES} m orbit, a DJI FC6310 camera`,
    inspection_date: '2026-11-28T09:00:00Z',
  },
  processing_parameters: {
    is_video: false,
    generate_point_cloud: true,
    clip_point_cloud: true,
    clipping_radius: 0,
    detect_antennas: true,
  },
};

const NOTES = `Flight notes, tower 123, 28 November 2026
Pilot: A. Example. Drone: DJI Phantom 4 Pro (camera FC6310).
Orbit of ${ORBIT_RADIUS_METRES} m around the tower, ${PHOTO_COUNT} photos, one every ${SECONDS_BETWEEN_PHOTOS} s, climbing from ${FIRST_ALTITUDE_METRES} m.
Wind 3 m/s from the west, overcast. No obstacle within 30 m.
`;

/** Every file of the sample flight, in path order. */
export function sampleFlightFiles(): SampleFile[] {
  const files: SampleFile[] = Array.from({ length: PHOTO_COUNT }, (_, index) => ({
    path: photoStation(index + 1).path,
    bytes: samplePhoto(index + 1),
  }));
  files.push({ path: 'manifest.json', bytes: Buffer.from(`${JSON.stringify(SAMPLE_MANIFEST, null, 2)}\n`) });
  files.push({ path: 'notes.txt', bytes: Buffer.from(NOTES) });
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Writes the flight into `dir`; returns the files found there that the generator does not make. */
export async function writeSampleFlight(dir: string): Promise<string[]> {
  const files = sampleFlightFiles();
  for (const file of files) {
    await mkdir(dirname(join(dir, file.path)), { recursive: true });
    await writeFile(join(dir, file.path), file.bytes);
  }
  const made = new Set(files.map((file) => file.path));
  return (await listFiles(dir)).filter((path) => !made.has(path));
}

/** The files under `dir`, relative, with "/", in path order. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

const COMMAND = 'npx tsx examples/make-sample-flight.ts';
const USAGE = `Usage: ${COMMAND} [DIR]

Writes the sample flight (12 JPEGs with GPS Exif, notes.txt, manifest.json) into DIR (default examples/flight),
the same bytes on every run. Files already in DIR that it does not make are named, not deleted.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ command: COMMAND, options: {}, allowPositionals: true }, argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${versionLine('make-sample-flight')}\n`);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(
      `one folder at most (got ${positionals.length}: ${positionals.join(' ')}) (${COMMAND} --help)`,
    );
  const dir = resolve(positionals[0] ?? SAMPLE_FLIGHT_DIR);
  const extra = await writeSampleFlight(dir);
  process.stdout.write(`Wrote ${sampleFlightFiles().length} files to ${relative(process.cwd(), dir) || '.'}\n`);
  for (const path of extra) process.stderr.write(`warning: ${path} is not part of the sample flight: remove it\n`);
  return 0;
}

if (require.main === module) runMain('make-sample-flight', main);
