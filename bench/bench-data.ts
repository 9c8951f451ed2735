import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../src/copy/pool';

/** Where the number of a photo is written in its content (the comment segment after SOI). */
const NUMBER_OFFSET = 6;

/**
 * The content all photos of a data set share: a complete JPEG of `size` bytes, SOI, a comment whose 4 bytes hold
 * the photo's number (0 here), a scan of random data (without FF bytes, which would start markers there) and the
 * end-of-image marker, so that the pipeline's completeness check accepts it.
 */
export function photoContent(size: number): Buffer {
  const content = randomBytes(size);
  for (let i = 0; i < content.length; i++) if (content[i] === 0xff) content[i] = 0xfe;
  content.set([
    0xff, 0xd8, 0xff, 0xfe, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f,
    0x00,
  ]);
  content.set([0xff, 0xd9], size - 2);
  return content;
}

/** Photo `index` of a data set: `content` with its number written in (into `content` itself: copy it first). */
export function numberPhoto(content: Buffer, index: number): Buffer {
  content.writeUInt32BE(index, NUMBER_OFFSET);
  return content;
}

/** The relative path of photo `index`, as a camera names it. */
export function photoPath(index: number): string {
  return `DCIM/IMG_${String(index).padStart(4, '0')}.JPG`;
}

/** `count` distinct complete JPEGs of `size` bytes under `prefix` (see `photoContent`). */
export async function putPhotos(
  s3: S3Client,
  bucket: string,
  prefix: string,
  count: number,
  size: number,
): Promise<void> {
  const content = photoContent(size);
  await mapWithConcurrency(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}${photoPath(i)}`,
          Body: numberPhoto(Buffer.from(content), i),
        }),
      );
    },
  );
}

/**
 * Deletes every object under `prefix`, so that repeated rounds do not fill the disk (each copy of the data set
 * is 800 MiB in the embedded S3 server's folder). Returns the number deleted.
 */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    await mapWithConcurrency(keys, 16, (key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    deleted += keys.length;
  }
  return deleted;
}
