import { posix } from 'node:path';

/**
 * Which objects of a batch are photos (or videos) that Pix4Dinspect can process: by name and size first (free,
 * from the listing), then by their first bytes (one small ranged read each), so that a text file named `.jpg` is
 * skipped with a reason instead of failing the processing after the allowance is spent.
 */

/** Photo extensions Pix4Dinspect accepts, lower case; names are compared case-insensitively. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.tif', '.tiff'];
/** Video extensions, accepted only when `processing_parameters.is_video` is true. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.mov'];

export type DetectedFormat = 'jpeg' | 'tiff' | 'mp4' | 'mov';

/** Enough bytes to see a JPEG/TIFF signature and an ISO base media `ftyp` box with its major brand. */
export const FIRST_BYTES_NEEDED = 12;

/** Box types that may open a QuickTime file that has no `ftyp` box (older cameras). */
const QUICKTIME_LEADING_BOXES = ['moov', 'mdat', 'wide', 'free'];

/** The format that a file's first bytes show, or undefined when they match none we accept. */
export function detectFormat(firstBytes: Uint8Array): DetectedFormat | undefined {
  if (startsWith(firstBytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (isTiffHeader(firstBytes)) return 'tiff';
  return detectIsoMedia(firstBytes);
}

/** Classic TIFF (`II*\0`, `MM\0*`) or BigTIFF (`II+\0`, `MM\0+`), little or big endian. */
function isTiffHeader(bytes: Uint8Array): boolean {
  return (
    startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])
  );
}

/** ISO base media (MP4) and QuickTime: a box size (4 bytes) then the box type; `ftyp` names the major brand. */
function detectIsoMedia(bytes: Uint8Array): DetectedFormat | undefined {
  if (bytes.length < 8) return undefined;
  const boxType = ascii(bytes.subarray(4, 8));
  if (boxType === 'ftyp') return ascii(bytes.subarray(8, 12)) === 'qt  ' ? 'mov' : 'mp4';
  return QUICKTIME_LEADING_BOXES.includes(boxType) ? 'mov' : undefined;
}

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return bytes.length >= signature.length && signature.every((byte, index) => bytes[index] === byte);
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** The extension as written (`.JPG`), or '' when the file name has none (`README`, `.hidden`). */
function extensionOf(relativePath: string): string {
  return posix.extname(posix.basename(relativePath));
}

type Family = 'image' | 'video';

function familyOf(extension: string): Family | undefined {
  const lower = extension.toLowerCase();
  if (IMAGE_EXTENSIONS.includes(lower)) return 'image';
  if (VIDEO_EXTENSIONS.includes(lower)) return 'video';
  return undefined;
}

/**
 * Why an object is skipped judging by its name and size only, or undefined when it may be processed. A batch is
 * either photos or a video (`is_video`): the other kind is skipped rather than sent to a processing that fails.
 */
export function skipReasonByName(relativePath: string, size: number, isVideo: boolean): string | undefined {
  const extension = extensionOf(relativePath);
  const family = familyOf(extension);
  if (family === undefined) return `unsupported extension (${extension === '' ? 'no extension' : extension})`;
  if (family === 'video' && !isVideo) return 'video file but processing_parameters.is_video is false';
  if (family === 'image' && isVideo) return 'photo file but processing_parameters.is_video is true';
  if (size === 0) return 'empty file (0 bytes)';
  return undefined;
}

/** Formats that each extension family accepts: a `.mov` may well hold an `isom` MP4 and the other way round. */
const FORMATS_BY_EXTENSION: Readonly<Record<string, readonly DetectedFormat[]>> = {
  '.jpg': ['jpeg'],
  '.jpeg': ['jpeg'],
  '.tif': ['tiff'],
  '.tiff': ['tiff'],
  '.mp4': ['mp4', 'mov'],
  '.mov': ['mp4', 'mov'],
};

const EXPECTED_CONTENT: Readonly<Record<DetectedFormat, string>> = {
  jpeg: 'a JPEG image',
  tiff: 'a TIFF image',
  mp4: 'a video',
  mov: 'a video',
};

/**
 * Why an object is skipped judging by its first bytes, or undefined when they match its extension. A format that
 * contradicts the extension (TIFF bytes in a `.jpg`) is a reason too: the name is what Pix4Dinspect goes by.
 */
export function skipReasonByContent(relativePath: string, firstBytes: Uint8Array): string | undefined {
  const extension = extensionOf(relativePath);
  const accepted = FORMATS_BY_EXTENSION[extension.toLowerCase()];
  if (accepted === undefined) return `unsupported extension (${extension === '' ? 'no extension' : extension})`;
  const detected = detectFormat(firstBytes);
  if (detected !== undefined && accepted.includes(detected)) return undefined;
  const expected = EXPECTED_CONTENT[accepted[0] as DetectedFormat];
  const found = detected === undefined ? '' : `, looks like ${EXPECTED_CONTENT[detected]}`;
  return `content is not ${expected} (named ${extension}${found})`;
}
