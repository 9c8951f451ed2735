import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { syntheticPhoto } from '../../local/synthetic-photos';
import { completenessCheck } from '../../src/batch/image-completeness';
import { jpegBytes } from '../helpers/flights';

/**
 * Whether a photo is complete, judged from its bytes fed in chunks as the copy streams them. Files in
 * test/fixtures/photos were written by real encoders (Debian's libjpeg-turbo-progs, libtiff-tools and exiftool):
 *   cjpeg -progressive -restart 1 (with a thumbnail added by exiftool "-ThumbnailImage<=thumb.jpg" -Make=DJI)
 *   cjpeg -arithmetic; tiffcp -c zip -r 4 -B (15 strips, big endian); tiffcp -8 -t -w 16 -l 16 -c zip (BigTIFF, tiles)
 */

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'photos', name));

/** The check's verdict on `bytes` fed `chunkSize` bytes at a time (one chunk by default). */
function judge(bytes: Uint8Array, chunkSize = bytes.length || 1): string | undefined {
  const check = completenessCheck(bytes.subarray(0, 12));
  if (!check) throw new Error('no completeness check for these bytes');
  for (let at = 0; at < bytes.length; at += chunkSize) check.update(bytes.subarray(at, at + chunkSize));
  return check.finish();
}

/** The lengths (of `0..length - 1`) at which a cut copy of the file is accepted: none for a check that holds. */
function acceptedCuts(bytes: Uint8Array, chunkSize = 97): number[] {
  const accepted: number[] = [];
  for (let cut = 4; cut < bytes.length; cut++)
    if (judge(bytes.subarray(0, cut), chunkSize) === undefined) accepted.push(cut);
  return accepted;
}

/** A real JPEG from jpeg-js: a gradient with noise, so that its scan has stuffed FF 00 bytes. */
function encodedJpeg(width = 48, height = 32, seed = 1): Buffer {
  const data = Buffer.alloc(width * height * 4);
  let state = seed;
  for (let i = 0; i < width * height; i++) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    data.set([(i % width) * 5, Math.floor(i / width) * 7, state % 256, 255], i * 4);
  }
  return Buffer.from(encode({ data, width, height }, 90).data);
}

const bytes = (...values: number[]) => Buffer.from(values);
/** A marker segment: FF, the marker, the length (which counts itself), the payload. */
const segment = (marker: number, payload: Buffer) =>
  Buffer.concat([bytes(0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff), payload]);

/** `primary` with an Exif APP1 segment holding `thumbnail` (with its own FF D9) inserted after its SOI. */
function withExifThumbnail(primary: Buffer, thumbnail: Buffer): { file: Buffer; thumbnailEnd: number } {
  const exif = segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0II*\0\x08\0\0\0\0\0', 'latin1'), thumbnail]));
  const file = Buffer.concat([primary.subarray(0, 2), exif, primary.subarray(2)]);
  return { file, thumbnailEnd: 2 + exif.length };
}

/** A Multi-Picture file as DJI and Sony cameras write them: APP2 "MPF" in the primary, the preview after its EOI. */
function withMpfPreview(primary: Buffer, preview: Buffer): { file: Buffer; primaryEnd: number } {
  const mpf = segment(0xe2, Buffer.from('MPF\0MM\0*\0\0\0\x08', 'latin1'));
  const first = Buffer.concat([primary.subarray(0, 2), mpf, primary.subarray(2)]);
  return { file: Buffer.concat([first, preview]), primaryEnd: first.length };
}

/** A progressive-like JPEG: two scans with a DHT between, stuffed FF 00, restart markers, fill bytes before EOI. */
const TWO_SCANS = Buffer.concat([
  bytes(0xff, 0xd8),
  segment(0xdb, Buffer.alloc(65, 1)),
  segment(0xc2, bytes(8, 0, 2, 0, 2, 1, 1, 0x11, 0)),
  segment(0xda, bytes(1, 1, 0, 0, 0, 0)),
  bytes(0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xd7, 0x78),
  segment(0xc4, Buffer.alloc(20, 2)),
  segment(0xda, bytes(1, 1, 0, 1, 63, 0)),
  bytes(0x9a, 0xff, 0x00, 0xbc, 0xff, 0xff, 0xff, 0xd9),
]);

describe('completenessCheck for JPEG', () => {
  it.each([
    ['a jpeg-js photo', encodedJpeg()],
    ['a larger jpeg-js photo', encodedJpeg(320, 240, 7)],
    ['the synthetic photo of npm start', syntheticPhoto(3)],
    ['the test photo of the flights helper', jpegBytes(4_096, 255)],
    [
      'a progressive JPEG with restart markers and an Exif thumbnail (cjpeg, exiftool)',
      fixture('progressive-restart.jpg'),
    ],
    ['an arithmetic-coded JPEG (cjpeg)', fixture('arithmetic.jpg')],
    ['two scans, stuffing, restart markers and fill bytes', TWO_SCANS],
  ])('accepts %s, in chunks of any size', (_what, photo) => {
    // Prepare
    const chunkSizes = [1, 2, 3, 64, 1_000, photo.length];

    // Act
    const verdicts = chunkSizes.map((size) => judge(photo, size));

    // Assess
    expect(verdicts).toEqual(chunkSizes.map(() => undefined));
  });

  it.each([
    ['a jpeg-js photo', encodedJpeg()],
    [
      'a progressive JPEG with restart markers and an Exif thumbnail (cjpeg, exiftool)',
      fixture('progressive-restart.jpg'),
    ],
    ['an arithmetic-coded JPEG (cjpeg)', fixture('arithmetic.jpg')],
    ['two scans, stuffing, restart markers and fill bytes', TWO_SCANS],
  ])('refuses %s cut at any length', (_what, photo) => {
    // Prepare
    const whole = photo;

    // Act
    const accepted = acceptedCuts(whole);

    // Assess
    expect(accepted).toEqual([]);
  });

  it('refuses the 3 bytes FF D8 FF, naming what is missing', () => {
    // Prepare
    const stub = bytes(0xff, 0xd8, 0xff);

    // Act
    const reason = judge(stub);

    // Assess
    expect(reason).toBe('truncated JPEG: its 3 bytes end before the end-of-image marker (FF D9)');
  });

  it('refuses a photo cut in its image data, with its size in the reason', () => {
    // Prepare
    const cut = encodedJpeg(320, 240, 7).subarray(0, 12_345);

    // Act
    const reason = judge(cut, 4_096);

    // Assess
    expect(reason).toBe('truncated JPEG: its 12,345 bytes end before the end-of-image marker (FF D9)');
  });

  it('refuses a photo cut just after the FF D9 of the thumbnail in its Exif segment', () => {
    // Prepare: the file's last two bytes are FF D9, but they close the thumbnail, not the photo.
    const { file, thumbnailEnd } = withExifThumbnail(encodedJpeg(320, 240, 7), encodedJpeg(16, 16, 2));
    const cut = file.subarray(0, thumbnailEnd);

    // Act
    const whole = judge(file, 512);
    const reason = judge(cut, 512);

    // Assess
    expect([...cut.subarray(-2)]).toEqual([0xff, 0xd9]);
    expect(whole).toBeUndefined();
    expect(reason).toMatch(/^truncated JPEG/);
  });

  it('accepts a Multi-Picture file (primary, then a preview image), and refuses it cut inside the primary image', () => {
    // Prepare
    const { file, primaryEnd } = withMpfPreview(encodedJpeg(320, 240, 7), encodedJpeg(64, 48, 3));

    // Act
    const whole = judge(file, 1_000);
    const cutInPrimary = judge(file.subarray(0, primaryEnd - 100), 1_000);
    // Only the primary image is processed: a preview cut short does not make the photo incomplete.
    const cutInPreview = judge(file.subarray(0, primaryEnd + 300), 1_000);

    // Assess
    expect(whole).toBeUndefined();
    expect(cutInPrimary).toMatch(/^truncated JPEG/);
    expect(cutInPreview).toBeUndefined();
  });

  it.each([
    [
      'the video of a Motion Photo',
      Buffer.concat([bytes(0, 0, 0, 0x18), Buffer.from('ftypmp42'), Buffer.alloc(500, 7)]),
    ],
    ['zero padding', Buffer.alloc(4_096)],
    ['a vendor trailer', Buffer.from('dhav\x59\x19\x01\x00', 'latin1')],
  ])('accepts data after the end of the image: %s', (_what, trailer) => {
    // Prepare
    const photo = Buffer.concat([encodedJpeg(), trailer]);

    // Act
    const reason = judge(photo, 333);

    // Assess
    expect(reason).toBeUndefined();
  });

  it('refuses a JPEG whose end-of-image marker comes before any image data', () => {
    // Prepare
    const noScan = Buffer.concat([
      bytes(0xff, 0xd8),
      segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')),
      bytes(0xff, 0xd9),
    ]);

    // Act
    const reason = judge(noScan);

    // Assess
    expect(reason).toBe('JPEG without image data: its end-of-image marker (FF D9) comes before any scan (FF DA)');
  });
});

interface TiffOptions {
  readonly littleEndian?: boolean;
  /** Where the directory goes: before the image data (its arrays after it), or after it (as libtiff writes). */
  readonly directory?: 'first' | 'last';
  readonly strips?: number;
}

/** A classic TIFF of 8 x `strips` 8-bit grey pixels, one row per strip. */
function tiff({ littleEndian = true, directory = 'last', strips = 4 }: TiffOptions = {}): Buffer {
  const SHORT = 3;
  const LONG = 4;
  const entryCount = 8;
  const directorySize = 2 + entryCount * 12 + 4;
  const arraysSize = strips > 1 ? 2 * strips * 4 : 0;
  const dataSize = strips * 8;
  const directoryAt = directory === 'first' ? 8 : 8 + dataSize;
  const arraysAt = directoryAt + directorySize;
  const dataAt = directory === 'first' ? arraysAt + arraysSize : 8;
  const file = Buffer.alloc(8 + directorySize + arraysSize + dataSize);
  const u16 = (value: number, at: number) =>
    littleEndian ? file.writeUInt16LE(value, at) : file.writeUInt16BE(value, at);
  const u32 = (value: number, at: number) =>
    littleEndian ? file.writeUInt32LE(value, at) : file.writeUInt32BE(value, at);
  file.write(littleEndian ? 'II' : 'MM', 0, 'latin1');
  u16(42, 2);
  u32(directoryAt, 4);
  u16(entryCount, directoryAt);
  const offsets = Array.from({ length: strips }, (_, i) => dataAt + i * 8);
  const entries: [tag: number, type: number, count: number, value: number][] = [
    [256, SHORT, 1, 8],
    [257, SHORT, 1, strips],
    [258, SHORT, 1, 8],
    [259, SHORT, 1, 1],
    [262, SHORT, 1, 1],
    [273, LONG, strips, strips > 1 ? arraysAt : offsets[0]!],
    [278, SHORT, 1, 1],
    [279, LONG, strips, strips > 1 ? arraysAt + strips * 4 : 8],
  ];
  entries.forEach(([tag, type, count, value], index) => {
    const at = directoryAt + 2 + index * 12;
    u16(tag, at);
    u16(type, at + 2);
    u32(count, at + 4);
    if (type === SHORT && count === 1) u16(value, at + 8);
    else u32(value, at + 8);
  });
  if (strips > 1) {
    for (const [i, offset] of offsets.entries()) u32(offset, arraysAt + i * 4);
    for (const i of offsets.keys()) u32(8, arraysAt + strips * 4 + i * 4);
  }
  for (let i = 0; i < dataSize; i++) file[dataAt + i] = (i * 37) & 0xff;
  return file;
}

describe('completenessCheck for TIFF', () => {
  it.each([
    ['little endian, directory after the data', tiff()],
    ['big endian, directory before the data', tiff({ littleEndian: false, directory: 'first' })],
    ['one strip, directory before the data', tiff({ directory: 'first', strips: 1 })],
    ['15 strips, big endian (tiffcp)', fixture('strips-big-endian.tif')],
    ['BigTIFF with tiles (tiffcp)', fixture('bigtiff-tiled.tif')],
  ])('accepts %s, in chunks of any size', (_what, file) => {
    // Prepare
    const chunkSizes = [1, 5, 64, file.length];

    // Act
    const verdicts = chunkSizes.map((size) => judge(file, size));

    // Assess
    expect(verdicts).toEqual(chunkSizes.map(() => undefined));
  });

  it.each([
    ['little endian, directory after the data', tiff()],
    ['big endian, directory before the data', tiff({ littleEndian: false, directory: 'first' })],
    ['one strip, directory before the data', tiff({ directory: 'first', strips: 1 })],
  ])('refuses %s cut at any length', (_what, file) => {
    // Prepare
    const whole = file;

    // Act
    const accepted = acceptedCuts(whole, 7);

    // Assess
    expect(accepted).toEqual([]);
  });

  it.each([
    ['15 strips, big endian (tiffcp)', fixture('strips-big-endian.tif')],
    ['BigTIFF with tiles (tiffcp)', fixture('bigtiff-tiled.tif')],
  ])('refuses %s cut anywhere in its image data or directory', (_what, file) => {
    // Prepare: tiffcp writes the data, then the directory and the arrays it points to.
    const cuts = Array.from({ length: 200 }, (_, i) => 4 + Math.floor(((file.length - 5) * i) / 199));

    // Act
    const accepted = cuts.filter((cut) => judge(file.subarray(0, cut), 1_024) === undefined);

    // Assess
    expect(accepted).toEqual([]);
  });

  it('refuses a TIFF whose first directory offset lies beyond the file', () => {
    // Prepare
    const file = tiff();
    file.writeUInt32LE(file.length + 1_000, 4);

    // Act
    const reason = judge(file);

    // Assess
    expect(reason).toBe(
      `truncated TIFF: its first image directory (IFD), at byte ${file.length + 1_000}, lies beyond its ${file.length} bytes`,
    );
  });

  it('refuses a TIFF whose first directory offset points inside its header', () => {
    // Prepare
    const file = tiff();
    file.writeUInt32LE(4, 4);

    // Act
    const reason = judge(file);

    // Assess
    expect(reason).toBe('damaged TIFF: its first image directory (IFD) offset, 4, points inside its header');
  });

  it('names the end of the image data when the strips run past the end of the file', () => {
    // Prepare: the directory (before the data) is whole, the last strip is cut.
    const file = tiff({ directory: 'first', strips: 1 });
    const cut = file.subarray(0, file.length - 3);

    // Act
    const reason = judge(cut, 16);

    // Assess
    expect(reason).toBe(
      `truncated TIFF: the image data of its first image ends at byte ${file.length}, beyond its ${cut.length} bytes`,
    );
  });

  it('refuses the 4 bytes of a TIFF signature', () => {
    // Prepare
    const stub = Buffer.from('II*\0', 'latin1');

    // Act
    const reason = judge(stub);

    // Assess
    expect(reason).toBe('truncated TIFF: its 4 bytes end inside its header');
  });
});

describe('completenessCheck for other formats', () => {
  it('has no check for a video', () => {
    // Prepare
    const mp4 = Buffer.concat([bytes(0, 0, 0, 0x18), Buffer.from('ftypmp42')]);

    // Act
    const check = completenessCheck(mp4);

    // Assess
    expect(check).toBeUndefined();
  });
});
