/// <reference path="../examples/piexifjs.d.ts" />
import { encode } from 'jpeg-js';
import { dump, type ExifDict, type Ifd, TAGS } from 'piexifjs';

/**
 * Generated drone photos for local mode and the tests: small decodable JPEGs with the Exif a DJI drone writes
 * (GPS position and altitude, capture time with its zone, camera make and model, image size), taken on rings around
 * a tower, a few seconds apart. The pixels are encoded once; each photo only gets its own Exif and a JPEG comment
 * naming it, so that a flight of thousands generates in a few seconds and every file has its own bytes.
 */

export interface FlightPhotoOptions {
  /** Photos in the flight (positions are spread over it). */
  readonly count: number;
  /** @default true */
  readonly gps?: boolean;
  /** 'one' (every photo from DJI FC6310) or 'mixed' (alternating two cameras, DJI FC6310 and DJI FC3411). @default 'one' */
  readonly cameras?: 'one' | 'mixed';
  /** @default a made-up tower near Lausanne, 46.5197, 6.5663 */
  readonly center?: { readonly latitude: number; readonly longitude: number };
  /** Capture time of the first photo, ISO with offset. @default '2026-11-28T10:00:00+01:00' */
  readonly firstCapture?: string;
  /** @default 3 */
  readonly secondsBetween?: number;
}

export interface FlightPhotoStation {
  readonly latitude: number;
  readonly longitude: number;
  /** Metres above sea level, to the millimetre (what the photo's GPSAltitude holds). */
  readonly altitude: number;
  /** ISO with the offset, e.g. 2026-11-28T10:00:03+01:00 (milliseconds only when not whole seconds). */
  readonly capturedAt: string;
  readonly make: string;
  readonly model: string;
}

/** piexifjs 1.0.6 predates Exif 2.31's OffsetTimeOriginal; it writes and reads only the tags in its table. */
export const OFFSET_TIME_ORIGINAL = 36881;
TAGS.Exif[OFFSET_TIME_ORIGINAL] ??= { name: 'OffsetTimeOriginal', type: 'Ascii' };

/** Tag numbers (Exif 2.32 / TIFF 6.0). */
export const EXIF_TAG = {
  make: 271,
  model: 272,
  orientation: 274,
  software: 305,
  dateTime: 306,
  exifVersion: 36864,
  dateTimeOriginal: 36867,
  dateTimeDigitized: 36868,
  offsetTimeOriginal: OFFSET_TIME_ORIGINAL,
  subSecTimeOriginal: 37521,
  pixelXDimension: 40962,
  pixelYDimension: 40963,
  gpsVersionId: 0,
  gpsLatitudeRef: 1,
  gpsLatitude: 2,
  gpsLongitudeRef: 3,
  gpsLongitude: 4,
  gpsAltitudeRef: 5,
  gpsAltitude: 6,
  gpsMapDatum: 18,
} as const;

const DEFAULT_CENTER = { latitude: 46.5197, longitude: 6.5663 } as const;
const DEFAULT_FIRST_CAPTURE = '2026-11-28T10:00:00+01:00';
const DEFAULT_SECONDS_BETWEEN = 3;
const MAKE = 'DJI';
/** DJI Phantom 4 Pro's camera, and DJI Air 2S's for the second one of a mixed flight. */
const MODELS = ['FC6310', 'FC3411'] as const;

export const FLIGHT_PHOTO_WIDTH = 320;
export const FLIGHT_PHOTO_HEIGHT = 240;

/**
 * The rings: at most 36 photos each (10 degrees apart), one ring of the whole flight when it is shorter; the radius
 * turns through 15, 22.5 and 30 m ring after ring, and the altitude climbs from 455 m, half a metre a photo at most
 * and 40 m over the whole flight (a tower's height), so that a long flight stays a few rings up one tower.
 */
const PHOTOS_PER_RING = 36;
const RING_RADII_METRES = [15, 22.5, 30] as const;
const FIRST_ALTITUDE_METRES = 455;
const CLIMB_PER_PHOTO_METRES = 0.5;
const CLIMB_METRES = 40;
const METRES_PER_DEGREE_LATITUDE = 111_320;

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Where, when and with which camera photo `index` (0-based) of the flight was taken. */
export function flightPhotoStation(index: number, options: FlightPhotoOptions): FlightPhotoStation {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`count must be a whole number of at least 1 (got ${count})`);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new RangeError(`index must be a whole number from 0 to ${count - 1} (got ${index})`);
  const center = options.center ?? DEFAULT_CENTER;
  const ring = Math.floor(index / PHOTOS_PER_RING);
  const photosInRing = Math.min(count, PHOTOS_PER_RING);
  // Each ring starts a little further round than the one below it, so that no two photos share a bearing.
  const angle = (2 * Math.PI * ((index % PHOTOS_PER_RING) + ring / RING_RADII_METRES.length)) / photosInRing;
  const radius = RING_RADII_METRES[ring % RING_RADII_METRES.length]!;
  const metresPerDegreeLongitude = METRES_PER_DEGREE_LATITUDE * Math.cos((center.latitude * Math.PI) / 180);
  const climb = Math.min(CLIMB_PER_PHOTO_METRES, count > 1 ? CLIMB_METRES / (count - 1) : 0);
  return {
    latitude: center.latitude + (Math.cos(angle) * radius) / METRES_PER_DEGREE_LATITUDE,
    longitude: center.longitude + (Math.sin(angle) * radius) / metresPerDegreeLongitude,
    altitude: Math.round((FIRST_ALTITUDE_METRES + index * climb) * 1000) / 1000,
    capturedAt: captureTime(index, options).iso,
    make: MAKE,
    model: options.cameras === 'mixed' ? MODELS[index % 2]! : MODELS[0],
  };
}

interface CaptureTime {
  /** ISO 8601 local time with its offset. */
  readonly iso: string;
  /** Exif form, local time: `2026:11:28 10:00:03`. */
  readonly exif: string;
  /** Milliseconds as Exif's SubSecTime, or undefined on a whole second. */
  readonly subSeconds: string | undefined;
  /** `+01:00`. */
  readonly offset: string;
}

/** The first capture plus `index` intervals, written in the first capture's zone. */
function captureTime(index: number, options: FlightPhotoOptions): CaptureTime {
  const first = options.firstCapture ?? DEFAULT_FIRST_CAPTURE;
  const seconds = options.secondsBetween ?? DEFAULT_SECONDS_BETWEEN;
  const match = ISO_WITH_OFFSET.exec(first);
  if (!match || Number.isNaN(Date.parse(first)))
    throw new RangeError(
      `firstCapture must be an ISO time with its offset, e.g. ${DEFAULT_FIRST_CAPTURE} (got "${first}")`,
    );
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new RangeError(`secondsBetween must be 0 or more (got ${seconds})`);
  const [, zone, sign, hours, minutes] = match;
  const offsetMinutes = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
  const offset = zone === 'Z' ? '+00:00' : zone!;
  const instant = Date.parse(first) + Math.round(index * seconds * 1000);
  // The local time is the instant moved by the offset, read as if it were UTC.
  const local = new Date(instant + offsetMinutes * 60_000).toISOString();
  const milliseconds = local.slice(20, 23);
  const subSeconds = milliseconds === '000' ? undefined : milliseconds;
  return {
    iso: `${local.slice(0, 19)}${subSeconds === undefined ? '' : `.${subSeconds}`}${offset}`,
    exif: `${local.slice(0, 10).replace(/-/g, ':')} ${local.slice(11, 19)}`,
    subSeconds,
    offset,
  };
}

/** Degrees as Exif's three rationals (degrees, minutes, seconds to 1/10,000: well under a centimetre). */
export function degreesMinutesSeconds(degrees: number): [number, number][] {
  const tenThousandths = Math.round(Math.abs(degrees) * 3600 * 10_000);
  const whole = Math.floor(tenThousandths / (3600 * 10_000));
  const minutes = Math.floor(tenThousandths / (60 * 10_000)) % 60;
  const seconds = tenThousandths % (60 * 10_000);
  return [
    [whole, 1],
    [minutes, 1],
    [seconds, 10_000],
  ];
}

/** The JPEG without the JFIF APP0 segment jpeg-js writes (a DJI file has Exif APP1 only). */
export function withoutJfif(jpeg: Buffer): Buffer {
  const app0 = jpeg[2] === 0xff && jpeg[3] === 0xe0 ? 2 + jpeg.readUInt16BE(4) : 0;
  return Buffer.concat([jpeg.subarray(0, 2), jpeg.subarray(2 + app0)]);
}

/** The APP1 segment of these tags (marker, length, "Exif\0\0", TIFF), as piexifjs's `insert` writes it. */
export function exifSegment(exif: ExifDict): Buffer {
  const payload = Buffer.from(dump(exif), 'latin1');
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xffe1, 0);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}

interface EncodedPictures {
  /** The photo, without JFIF APP0: SOI, then what follows the Exif and the comment. */
  readonly photo: Buffer;
  /** The thumbnail for the 1st IFD, as piexifjs takes it. */
  readonly thumbnail: string;
}

let pictures: EncodedPictures | undefined;

/** RGBA pixels: red across, green down, a fixed blue. */
export function gradientPixels(width: number, height: number, blue: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      data[at] = Math.floor((x * 255) / width);
      data[at + 1] = Math.floor((y * 255) / height);
      data[at + 2] = blue;
      data[at + 3] = 255;
    }
  }
  return data;
}

/** A gradient (and its thumbnail), encoded once for every photo. */
function encodedPictures(): EncodedPictures {
  if (!pictures) {
    const gradient = (width: number, height: number) =>
      withoutJfif(Buffer.from(encode({ data: gradientPixels(width, height, 160), width, height }, 80).data));
    pictures = {
      photo: gradient(FLIGHT_PHOTO_WIDTH, FLIGHT_PHOTO_HEIGHT),
      thumbnail: gradient(40, 30).toString('latin1'),
    };
  }
  return pictures;
}

/** A JPEG comment (COM) segment. */
function commentSegment(text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const segment = Buffer.alloc(4 + body.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(body.length + 2, 2);
  body.copy(segment, 4);
  return segment;
}

/**
 * Photo `index` (0-based) of the flight: a decodable JPEG with the Exif of `flightPhotoStation(index, options)` (no
 * GPS IFD with `gps: false`) and a thumbnail, whose FF D9 inside the Exif segment the pipeline's completeness check
 * must not take for the end of the photo, as with a camera's.
 */
export function flightPhoto(index: number, options: FlightPhotoOptions): Buffer {
  const station = flightPhotoStation(index, options);
  const time = captureTime(index, options);
  const { photo, thumbnail } = encodedPictures();
  const exif: ExifDict = {
    '0th': {
      [EXIF_TAG.make]: station.make,
      [EXIF_TAG.model]: station.model,
      [EXIF_TAG.orientation]: 1,
      [EXIF_TAG.software]: 'inspect-pipeline local/flight-photos.ts',
      [EXIF_TAG.dateTime]: time.exif,
    },
    Exif: {
      [EXIF_TAG.exifVersion]: '0232',
      [EXIF_TAG.dateTimeOriginal]: time.exif,
      [EXIF_TAG.dateTimeDigitized]: time.exif,
      [EXIF_TAG.offsetTimeOriginal]: time.offset,
      ...(time.subSeconds === undefined ? {} : ({ [EXIF_TAG.subSecTimeOriginal]: time.subSeconds } as Ifd)),
      [EXIF_TAG.pixelXDimension]: FLIGHT_PHOTO_WIDTH,
      [EXIF_TAG.pixelYDimension]: FLIGHT_PHOTO_HEIGHT,
    },
    ...(options.gps === false
      ? {}
      : {
          GPS: {
            [EXIF_TAG.gpsVersionId]: [2, 3, 0, 0],
            [EXIF_TAG.gpsLatitudeRef]: station.latitude >= 0 ? 'N' : 'S',
            [EXIF_TAG.gpsLatitude]: degreesMinutesSeconds(station.latitude),
            [EXIF_TAG.gpsLongitudeRef]: station.longitude >= 0 ? 'E' : 'W',
            [EXIF_TAG.gpsLongitude]: degreesMinutesSeconds(station.longitude),
            [EXIF_TAG.gpsAltitudeRef]: station.altitude < 0 ? 1 : 0,
            [EXIF_TAG.gpsAltitude]: [[Math.round(Math.abs(station.altitude) * 1000), 1000]],
            [EXIF_TAG.gpsMapDatum]: 'WGS-84',
          },
        }),
    '1st': { [EXIF_TAG.orientation]: 1 },
    thumbnail,
  };
  // As a camera writes it: SOI, Exif APP1 first, then the rest; the comment makes every file's bytes its own.
  return Buffer.concat([
    photo.subarray(0, 2),
    exifSegment(exif),
    commentSegment(`inspect-pipeline flight photo ${index}`),
    photo.subarray(2),
  ]);
}
