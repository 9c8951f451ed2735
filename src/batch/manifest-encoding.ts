import { isUtf8 } from 'node:buffer';
import { formatCount, MAX_MANIFEST_BYTES } from './limits';
import { ManifestError } from './manifest-error';

/**
 * The bytes of a manifest.json as text, for every reader of it (the workflow's prepare step, the operator CLI):
 * UTF-8 only, as JSON requires (RFC 8259, section 8.1). A UTF-8 byte order mark is accepted and dropped (editors on
 * Windows save one). UTF-16 or UTF-32 (Notepad's "Unicode", PowerShell's `Out-File`) and any other invalid UTF-8
 * are refused by name: decoded anyway, they would read as garbled text or an obscure JSON syntax error.
 */

/** The ManifestError for a manifest.json of `bytes` bytes, or undefined: the size is checked before reading it. */
export function manifestSizeError(bytes: number): ManifestError | undefined {
  if (bytes <= MAX_MANIFEST_BYTES) return undefined;
  const problem = `${formatCount(bytes)} bytes, over the limit of ${formatCount(MAX_MANIFEST_BYTES)}`;
  return new ManifestError([`the file is ${problem}`], `is ${problem}`);
}

/** The text of a manifest.json; throws a ManifestError when it is too large or not UTF-8. */
export function decodeManifestBytes(bytes: Uint8Array): string {
  const tooLarge = manifestSizeError(bytes.length);
  if (tooLarge) throw tooLarge;
  const found = otherEncoding(bytes) ?? invalidUtf8(bytes);
  if (found !== undefined)
    throw new ManifestError([`must be UTF-8 (found ${found})`], `must be UTF-8 (found ${found})`);
  // TextDecoder drops a leading UTF-8 byte order mark.
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * UTF-16 or UTF-32, by their byte order mark or, without one, by the zero bytes of the first character: a JSON
 * text starts with an ASCII character (`{` or whitespace), which they write with zero bytes beside it and UTF-8
 * with none.
 */
function otherEncoding(bytes: Uint8Array): string | undefined {
  const [b0, b1, b2, b3] = bytes;
  if ((b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) || (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff))
    return 'UTF-32';
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) return 'UTF-16';
  if (
    bytes.length >= 4 &&
    ((b0 !== 0 && b1 === 0 && b2 === 0 && b3 === 0) || (b0 === 0 && b1 === 0 && b2 === 0 && b3 !== 0))
  )
    return 'UTF-32';
  if (bytes.length >= 2 && (b0 === 0) !== (b1 === 0)) return 'UTF-16';
  return undefined;
}

/**
 * `invalid UTF-8 at byte N`, N the offset of the first byte of the first invalid sequence, counted from 0 as hex
 * viewers (`xxd`, `hexdump`) show offsets; undefined for valid UTF-8. Overlong forms and surrogates are invalid.
 */
function invalidUtf8(bytes: Uint8Array): string | undefined {
  if (isUtf8(bytes)) return undefined;
  let index = 0;
  while (index < bytes.length) {
    const length = sequenceLength(bytes, index);
    if (length === 0) return `invalid UTF-8 at byte ${index}`;
    index += length;
  }
  return undefined;
}

/** The length of the valid UTF-8 sequence at `index`, 0 when there is none (RFC 3629, section 4). */
function sequenceLength(bytes: Uint8Array, index: number): number {
  const lead = bytes[index] as number;
  if (lead < 0x80) return 1;
  // The range of the byte after the lead, which rules out overlong forms, surrogates and code points past U+10FFFF.
  let second: readonly [number, number] = [0x80, 0xbf];
  let length: number;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead === 0xe0) [length, second] = [3, [0xa0, 0xbf]];
  else if (lead === 0xed) [length, second] = [3, [0x80, 0x9f]];
  else if (lead >= 0xe1 && lead <= 0xef) length = 3;
  else if (lead === 0xf0) [length, second] = [4, [0x90, 0xbf]];
  else if (lead >= 0xf1 && lead <= 0xf3) length = 4;
  else if (lead === 0xf4) [length, second] = [4, [0x80, 0x8f]];
  else return 0;
  if (index + length > bytes.length) return 0;
  for (let offset = 1; offset < length; offset++) {
    const [low, high] = offset === 1 ? second : [0x80, 0xbf];
    const byte = bytes[index + offset] as number;
    if (byte < low || byte > high) return 0;
  }
  return length;
}
