import { encode } from 'jpeg-js';

let base: Buffer | undefined;

/** A real, decodable JPEG (a gradient), encoded once. */
function baseJpeg(): Buffer {
  if (!base) {
    const width = 320;
    const height = 240;
    const data = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const offset = (y * width + x) * 4;
        data[offset] = (x * 255) / width;
        data[offset + 1] = (y * 255) / height;
        data[offset + 2] = 160;
        data[offset + 3] = 255;
      }
    }
    base = Buffer.from(encode({ data, width, height }, 80).data);
  }
  return base;
}

/**
 * Synthetic drone photo number `index`: the same picture with a JPEG comment naming it, so that every file is a
 * valid JPEG with its own content (and checksum).
 */
export function syntheticPhoto(index: number): Buffer {
  const image = baseJpeg();
  const text = Buffer.from(`inspect-pipeline synthetic photo ${index}`);
  const comment = Buffer.alloc(4 + text.length);
  comment.writeUInt16BE(0xfffe, 0);
  comment.writeUInt16BE(text.length + 2, 2);
  text.copy(comment, 4);
  // SOI first, then the comment segment, then the rest of the file.
  return Buffer.concat([image.subarray(0, 2), comment, image.subarray(2)]);
}

export function syntheticPhotoName(index: number): string {
  return `DCIM/100MEDIA/DJI_${String(index + 1).padStart(4, '0')}.JPG`;
}
