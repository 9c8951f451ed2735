import { describe, expect, it } from 'vitest';
import {
  detectFormat,
  FIRST_BYTES_NEEDED,
  IMAGE_EXTENSIONS,
  skipReasonByContent,
  skipReasonByName,
  VIDEO_EXTENSIONS,
} from '../../src/batch/classify';

/** Classification of batch objects by name, size and first bytes. */

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...Buffer.from(part, 'latin1')] : part)));

/** First 12 bytes of real files, as cameras and tools write them. */
const HEADERS = {
  jpegJfif: bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0x00, 0x01]),
  jpegExif: bytes([0xff, 0xd8, 0xff, 0xe1, 0x2a, 0x5e], 'Exif', [0x00, 0x00]),
  tiffLittleEndian: bytes('II', [0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x10, 0x00, 0xfe, 0x00]),
  tiffBigEndian: bytes('MM', [0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, 0x00, 0x10, 0x00, 0xfe]),
  bigTiffLittleEndian: bytes('II', [0x2b, 0x00, 0x08, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00]),
  bigTiffBigEndian: bytes('MM', [0x00, 0x2b, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
  mp4Isom: bytes([0x00, 0x00, 0x00, 0x20], 'ftypisom'),
  mp4Dji: bytes([0x00, 0x00, 0x00, 0x18], 'ftypmp42'),
  movFtyp: bytes([0x00, 0x00, 0x00, 0x14], 'ftypqt  '),
  movWide: bytes([0x00, 0x00, 0x00, 0x08], 'wide', [0x00, 0x1c, 0x2a, 0x1d]),
  movMoov: bytes([0x00, 0x00, 0x6b, 0x3c], 'moov', [0x00, 0x00, 0x00, 0x6c]),
  movMdat: bytes([0x00, 0x00, 0x00, 0x01], 'mdat', [0x00, 0x00, 0x00, 0x00]),
  movFree: bytes([0x00, 0x00, 0x00, 0x08], 'free', [0x00, 0x00, 0x00, 0x00]),
  text: bytes('Flight notes'),
  png: bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]),
  pdf: bytes('%PDF-1.7\n%\xe2\xe3'),
};

describe('detectFormat', () => {
  it.each([
    ['jpegJfif', 'jpeg'],
    ['jpegExif', 'jpeg'],
    ['tiffLittleEndian', 'tiff'],
    ['tiffBigEndian', 'tiff'],
    ['bigTiffLittleEndian', 'tiff'],
    ['bigTiffBigEndian', 'tiff'],
    ['mp4Isom', 'mp4'],
    ['mp4Dji', 'mp4'],
    ['movFtyp', 'mov'],
    ['movWide', 'mov'],
    ['movMoov', 'mov'],
    ['movMdat', 'mov'],
    ['movFree', 'mov'],
  ] as const)('recognizes %s as %s', (header, format) => {
    // Prepare
    const firstBytes = HEADERS[header];

    // Act
    const detected = detectFormat(firstBytes);

    // Assess
    expect(firstBytes).toHaveLength(FIRST_BYTES_NEEDED);
    expect(detected).toBe(format);
  });

  it.each([
    ['text', HEADERS.text],
    ['PNG', HEADERS.png],
    ['PDF', HEADERS.pdf],
    ['nothing', new Uint8Array(0)],
    ['a JPEG cut short', bytes([0xff, 0xd8])],
    ['a TIFF cut short', bytes('II*')],
    ['a box header cut before its type', bytes([0x00, 0x00, 0x00, 0x20], 'fty')],
  ])('recognizes nothing in %s', (_what, firstBytes) => {
    // Prepare
    const input = firstBytes;

    // Act
    const detected = detectFormat(input);

    // Assess
    expect(detected).toBeUndefined();
  });
});

describe('extension lists', () => {
  it('are the lower-case extensions of the design', () => {
    // Prepare
    const expected = { images: ['.jpg', '.jpeg', '.tif', '.tiff'], videos: ['.mp4', '.mov'] };

    // Act
    const actual = { images: [...IMAGE_EXTENSIONS], videos: [...VIDEO_EXTENSIONS] };

    // Assess
    expect(actual).toEqual(expected);
  });
});

describe('skipReasonByName', () => {
  it.each([
    ['DCIM/DJI_0001.JPG', 1, false],
    ['DCIM/DJI_0001.jpg', 1, false],
    ['scan.JPEG', 1, false],
    ['ortho/tile 1.tif', 1, false],
    ['ortho/tile+2.TIFF', 1, false],
    ['video/DJI_0002.MP4', 1, true],
    ['video/DJI_0003.mov', 1, true],
  ])('accepts %s (size %d, is_video %s)', (path, size, isVideo) => {
    // Prepare
    const args = [path, size, isVideo] as const;

    // Act
    const reason = skipReasonByName(...args);

    // Assess
    expect(reason).toBeUndefined();
  });

  it.each([
    ['notes.txt', 10, false, 'unsupported extension (.txt)'],
    ['DCIM/DJI_0001.DNG', 10, false, 'unsupported extension (.DNG)'],
    ['README', 10, false, 'unsupported extension (no extension)'],
    ['DCIM/.hidden', 10, false, 'unsupported extension (no extension)'],
    ['photo.jpg.part', 10, false, 'unsupported extension (.part)'],
    ['DJI_0002.MP4', 10, false, 'video file but processing_parameters.is_video is false'],
    ['DJI_0003.mov', 10, false, 'video file but processing_parameters.is_video is false'],
    ['DJI_0001.JPG', 10, true, 'photo file but processing_parameters.is_video is true'],
    ['tile.tif', 10, true, 'photo file but processing_parameters.is_video is true'],
    ['DJI_0001.JPG', 0, false, 'empty file (0 bytes)'],
    ['DJI_0002.mp4', 0, true, 'empty file (0 bytes)'],
    ['empty.txt', 0, false, 'unsupported extension (.txt)'],
  ])('skips %s (size %d, is_video %s): %s', (path, size, isVideo, expected) => {
    // Prepare
    const args = [path, size, isVideo] as const;

    // Act
    const reason = skipReasonByName(...args);

    // Assess
    expect(reason).toBe(expected);
  });
});

describe('skipReasonByContent', () => {
  it.each([
    ['DJI_0001.JPG', HEADERS.jpegExif],
    ['scan.jpeg', HEADERS.jpegJfif],
    ['tile.tif', HEADERS.tiffLittleEndian],
    ['tile.TIFF', HEADERS.bigTiffBigEndian],
    ['DJI_0002.MP4', HEADERS.mp4Dji],
    ['DJI_0003.MOV', HEADERS.movFtyp],
    // Phones write MP4 brands into .mov files and the other way round: both are videos.
    ['IMG_0004.mov', HEADERS.mp4Isom],
    ['clip.mp4', HEADERS.movWide],
  ])('accepts %s with matching bytes', (path, firstBytes) => {
    // Prepare
    const input = firstBytes;

    // Act
    const reason = skipReasonByContent(path, input);

    // Assess
    expect(reason).toBeUndefined();
  });

  it.each([
    ['notes.jpg', HEADERS.text, 'content is not a JPEG image (named .jpg)'],
    ['DJI_0001.JPG', HEADERS.png, 'content is not a JPEG image (named .JPG)'],
    ['DJI_0001.JPG', HEADERS.tiffLittleEndian, 'content is not a JPEG image (named .JPG, looks like a TIFF image)'],
    ['tile.tif', HEADERS.jpegExif, 'content is not a TIFF image (named .tif, looks like a JPEG image)'],
    ['tile.tiff', HEADERS.pdf, 'content is not a TIFF image (named .tiff)'],
    ['DJI_0002.MP4', HEADERS.jpegJfif, 'content is not a video (named .MP4, looks like a JPEG image)'],
    ['clip.mov', HEADERS.text, 'content is not a video (named .mov)'],
    ['short.jpg', bytes([0xff]), 'content is not a JPEG image (named .jpg)'],
    ['notes.txt', HEADERS.text, 'unsupported extension (.txt)'],
  ])('skips %s: %s', (path, firstBytes, expected) => {
    // Prepare
    const input = firstBytes;

    // Act
    const reason = skipReasonByContent(path, input);

    // Assess
    expect(reason).toBe(expected);
  });
});
