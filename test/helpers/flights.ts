import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../../src/copy/pool';

/** The first bytes of a JPEG (SOI + APP0 marker), then filler: enough for the pipeline's content check. */
export function jpegBytes(size = 2_048, seed = 0): Buffer {
  const body = Buffer.alloc(size, seed % 251);
  body.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
  body.writeUInt32BE(seed, 12);
  return body;
}

export interface DroppedFile {
  readonly relativePath: string;
  readonly body: Buffer | string;
}

/** Photos `DCIM/IMG_0000.JPG`... of distinct content. */
export function photos(count: number, size = 2_048): DroppedFile[] {
  return Array.from({ length: count }, (_, i) => ({ relativePath: `DCIM/IMG_${String(i).padStart(4, '0')}.JPG`, body: jpegBytes(size, i) }));
}

/** Uploads the files under `prefix` (in parallel, as a drone sync would), then the manifest last when given. */
export async function dropFlight(
  s3: S3Client,
  bucket: string,
  prefix: string,
  files: readonly DroppedFile[],
  manifest?: string | object,
): Promise<void> {
  await mapWithConcurrency(files, 16, (file) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${file.relativePath}`, Body: file.body })));
  if (manifest !== undefined) {
    const body = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json`, Body: body }));
  }
}
