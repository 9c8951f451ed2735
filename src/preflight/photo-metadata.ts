import exifr from 'exifr';
import { withoutUndefined } from '../without-undefined';

/**
 * What a drone photo says about itself in its Exif: where (GPS position and altitude), when (capture time with its
 * zone when the camera wrote one) and with what (camera make and model, image size). Read from the photo's first
 * bytes only, so that a 30 MB photo costs one small ranged read: cameras write Exif (at most 64 KiB, one APP1
 * segment) right after the JPEG's start marker, and a TIFF's first directory usually follows its header.
 */

/**
 * Bytes read from the start of each photo: the largest Exif segment (64 KiB) with the markers before it, and the
 * frame header (image size) that follows it. Metadata past this point is not read: the photo counts as having none.
 */
export const METADATA_BYTES = 128 * 1024;

export interface PhotoMetadata {
  /** Degrees, WGS 84, north positive. */
  readonly latitude?: number;
  /** Degrees, WGS 84, east positive. */
  readonly longitude?: number;
  /** Metres above sea level (GPSAltitude, negative below it). */
  readonly altitude?: number;
  /** ISO 8601 with the zone the photo gives (OffsetTimeOriginal, or GPS time in UTC), else taken as UTC. */
  readonly capturedAt?: string;
  /** Whether the photo said which zone its capture time is in. */
  readonly captureZoneKnown?: boolean;
  readonly make?: string;
  readonly model?: string;
  /** Pixels. */
  readonly width?: number;
  readonly height?: number;
}

/** The tags read; all others are skipped by the parser. */
const PICK = [
  'Make',
  'Model',
  'DateTimeOriginal',
  'CreateDate',
  'OffsetTimeOriginal',
  'OffsetTimeDigitized',
  'OffsetTime',
  'SubSecTimeOriginal',
  'ExifImageWidth',
  'ExifImageHeight',
  'ImageWidth',
  'ImageHeight',
  'GPSLatitude',
  'GPSLatitudeRef',
  'GPSLongitude',
  'GPSLongitudeRef',
  'GPSAltitude',
  'GPSAltitudeRef',
  'GPSDateStamp',
  'GPSTimeStamp',
];

/**
 * exifr options: raw values (its date revival would read a zone-less time in the zone of the machine that parses
 * it), no XMP, ICC, IPTC or thumbnail, and no throw on a file cut short: what was read is kept.
 */
const PARSE_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  ifd1: false,
  interop: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  makerNote: false,
  userComment: false,
  pick: PICK,
  reviveValues: false,
  translateValues: false,
  translateKeys: true,
  mergeOutput: true,
  silentErrors: true,
};

type Tags = Record<string, unknown>;

/** The metadata of a photo from its first bytes (`METADATA_BYTES` of them, or the whole photo if shorter). */
export async function readPhotoMetadata(head: Uint8Array): Promise<PhotoMetadata> {
  let tags: Tags | undefined;
  try {
    tags = (await exifr.parse(Buffer.from(head.buffer, head.byteOffset, head.byteLength), PARSE_OPTIONS)) as
      | Tags
      | undefined;
  } catch {
    // A photo whose metadata cannot be parsed is judged as one without metadata: the pre-flight says so.
    tags = undefined;
  }
  const frame = jpegFrameSize(head);
  const position = gpsPosition(tags ?? {});
  const time = captureTime(tags ?? {});
  const width = positiveNumber(tags?.ExifImageWidth) ?? positiveNumber(tags?.ImageWidth) ?? frame?.width;
  const height = positiveNumber(tags?.ExifImageHeight) ?? positiveNumber(tags?.ImageHeight) ?? frame?.height;
  return withoutUndefined({
    ...position,
    ...time,
    make: text(tags?.Make),
    model: text(tags?.Model),
    width,
    height,
  });
}

function text(value: unknown): string | undefined {
  // Cameras pad their strings with NULs and spaces.
  const trimmed = typeof value === 'string' ? value.replace(/\0/g, '').trim() : '';
  return trimmed === '' ? undefined : trimmed;
}

function positiveNumber(value: unknown): number | undefined {
  const number = firstNumber(value);
  return number !== undefined && number > 0 ? number : undefined;
}

/** A number, or the first of an array of them (exifr keeps single-value BYTE tags as arrays). */
function firstNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return firstNumber((value as ArrayLike<unknown>)[0]);
  return undefined;
}

/** Degrees, minutes, seconds (or decimal degrees) and the hemisphere, as the GPS IFD holds them. */
function degrees(value: unknown, ref: unknown, negative: string): number | undefined {
  const parts =
    typeof value === 'number'
      ? [value]
      : Array.isArray(value) || ArrayBuffer.isView(value)
        ? Array.from(value as ArrayLike<number>)
        : [];
  if (parts.length === 0 || parts.some((part) => typeof part !== 'number' || !Number.isFinite(part))) return undefined;
  const [d = 0, m = 0, s = 0] = parts;
  const absolute = d + m / 60 + s / 3600;
  return text(ref)?.toUpperCase() === negative ? -absolute : absolute;
}

function gpsPosition(tags: Tags): Pick<PhotoMetadata, 'latitude' | 'longitude' | 'altitude'> {
  const latitude = degrees(tags.GPSLatitude, tags.GPSLatitudeRef, 'S');
  const longitude = degrees(tags.GPSLongitude, tags.GPSLongitudeRef, 'W');
  // (0, 0) is what a camera without a fix writes, in the Gulf of Guinea: no position.
  const valid =
    latitude !== undefined &&
    longitude !== undefined &&
    Math.abs(latitude) <= 90 &&
    Math.abs(longitude) <= 180 &&
    !(latitude === 0 && longitude === 0);
  if (!valid) return {};
  const altitude = firstNumber(tags.GPSAltitude);
  const belowSeaLevel = firstNumber(tags.GPSAltitudeRef) === 1;
  return { latitude, longitude, ...(altitude === undefined ? {} : { altitude: belowSeaLevel ? -altitude : altitude }) };
}

const EXIF_DATE_TIME = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const EXIF_OFFSET = /^[+-]\d{2}:\d{2}$/;

/**
 * The capture time: DateTimeOriginal (else CreateDate) with its sub-seconds and its offset (Exif 2.31); without an
 * offset, the GPS date and time stamps (UTC, to the second) when they are there; else the local time as written,
 * taken as UTC, and said so (`captureZoneKnown: false`).
 */
function captureTime(tags: Tags): Pick<PhotoMetadata, 'capturedAt' | 'captureZoneKnown'> {
  const written = text(tags.DateTimeOriginal) ?? text(tags.CreateDate);
  const match = written === undefined ? null : EXIF_DATE_TIME.exec(written);
  const gps = gpsTime(tags);
  if (!match) return gps === undefined ? {} : { capturedAt: gps, captureZoneKnown: true };
  const [, year, month, day, hour, minute, second] = match;
  const subSeconds = text(tags.SubSecTimeOriginal);
  const fraction =
    subSeconds !== undefined && /^\d+$/.test(subSeconds) ? `.${subSeconds.slice(0, 3).padEnd(3, '0')}` : '';
  const local = `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}`;
  const offset = [tags.OffsetTimeOriginal, tags.OffsetTimeDigitized, tags.OffsetTime]
    .map(text)
    .find((value) => value !== undefined && EXIF_OFFSET.test(value));
  const candidate = offset !== undefined ? `${local}${offset}` : gps === undefined ? `${local}Z` : undefined;
  if (candidate !== undefined && !Number.isNaN(Date.parse(candidate)))
    return { capturedAt: candidate, captureZoneKnown: offset !== undefined };
  return gps === undefined ? {} : { capturedAt: gps, captureZoneKnown: true };
}

function gpsTime(tags: Tags): string | undefined {
  const date = text(tags.GPSDateStamp);
  const stamp = tags.GPSTimeStamp;
  const parts = Array.isArray(stamp) || ArrayBuffer.isView(stamp) ? Array.from(stamp as ArrayLike<number>) : [];
  const dateMatch = date === undefined ? null : /^(\d{4})[:-](\d{2})[:-](\d{2})$/.exec(date);
  if (!dateMatch || parts.length !== 3 || parts.some((part) => typeof part !== 'number' || !Number.isFinite(part)))
    return undefined;
  const [h, m, s] = parts as [number, number, number];
  const two = (value: number) => String(Math.floor(value)).padStart(2, '0');
  const iso = `${dateMatch[1]}-${dateMatch[2]}-${dateMatch[3]}T${two(h)}:${two(m)}:${two(s)}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/** Start-of-frame markers (SOF0-SOF15 but DHT C4, JPG C8 and DAC CC): they carry the image's size. */
const isStartOfFrame = (code: number) =>
  code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;

/** A JPEG's size from its frame header, walking the marker segments of its first bytes. */
function jpegFrameSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const code = bytes[at + 1]!;
    if (code === 0xff) {
      at += 1;
      continue;
    }
    if (code === 0xd9 || code === 0xda) return undefined;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (isStartOfFrame(code)) {
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    at += 2 + length;
  }
  return undefined;
}
