import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type FlightPhotoOptions, flightPhoto } from '../../local/flight-photos';
import { mapWithConcurrency } from '../../src/copy/pool';

/** SOI, and an APP0 (JFIF) segment of 16 bytes whose last 4 bytes carry the seed. */
const JPEG_HEAD = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01];
/** A start-of-scan segment (one component): what follows it is entropy-coded data, up to the end-of-image marker. */
const START_OF_SCAN = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
const END_OF_IMAGE = [0xff, 0xd9];
/** The smallest photo that is complete: head, seed, scan header, end-of-image marker. */
const COMPLETE_JPEG_BYTES = 32;

/**
 * A JPEG's structure around filler: SOI + APP0 (with the seed), a scan whose data is the filler, and the
 * end-of-image marker (FF D9) last, so that the pipeline's content and completeness checks take it for a
 * complete photo. Below 32 bytes, only the head and the seed (a photo cut short).
 */
export function jpegBytes(size = 2_048, seed = 0): Buffer {
  // The filler never holds an FF byte, which in scan data would start a marker.
  const body = Buffer.alloc(size, seed % 251);
  body.set(JPEG_HEAD.slice(0, size));
  if (size >= 16) body.writeUInt32BE(seed, 12);
  if (size >= COMPLETE_JPEG_BYTES) {
    body.set(START_OF_SCAN, 20);
    body.set(END_OF_IMAGE, size - 2);
  }
  return body;
}

export interface DroppedFile {
  readonly relativePath: string;
  readonly body: Buffer | string;
}

/** Photos `DCIM/IMG_0000.JPG`... of distinct content. */
export function photos(count: number, size = 2_048): DroppedFile[] {
  return Array.from({ length: count }, (_, i) => ({
    relativePath: `DCIM/IMG_${String(i).padStart(4, '0')}.JPG`,
    body: jpegBytes(size, i),
  }));
}

/**
 * Drone photos `DCIM/DJI_0001.JPG`... with the Exif a DJI drone writes (GPS, capture time, camera, size): see
 * local/flight-photos.ts, whose `flightPhotoStation(index, {count, ...options})` says what photo `index` carries.
 */
export function geotaggedPhotos(count: number, options: Omit<FlightPhotoOptions, 'count'> = {}): DroppedFile[] {
  const flight = { ...options, count };
  return Array.from({ length: count }, (_, i) => ({
    relativePath: `DCIM/DJI_${String(i + 1).padStart(4, '0')}.JPG`,
    body: flightPhoto(i, flight),
  }));
}

/** Uploads the files under `prefix` (in parallel, as a drone sync would), then the manifest last when given. */
export async function dropFlight(
  s3: S3Client,
  bucket: string,
  prefix: string,
  files: readonly DroppedFile[],
  manifest?: string | object,
): Promise<void> {
  await mapWithConcurrency(files, 16, (file) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${file.relativePath}`, Body: file.body })),
  );
  if (manifest !== undefined) {
    const body = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json`, Body: body }));
  }
}
