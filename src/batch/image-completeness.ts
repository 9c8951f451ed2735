import type { ContentCheck, StreamedContentCheck } from '../copy/copier';
import { detectFormat, FIRST_BYTES_NEEDED, skipReasonByContent } from './classify';
import { formatCount } from './limits';

/**
 * Whether a photo arrived whole, judged from its bytes as they stream past once (the copy reads every photo
 * anyway): no second read, no ranged read of the tail, and a few bytes of state whatever the photo's size.
 *
 * JPEG: the file is complete when its primary image is, that is when the walk of its structure reaches the
 * end-of-image marker (FF D9) that closes the primary image. The walk skips each marker segment by its length
 * (so the FF D9 of a thumbnail inside the Exif APP1 segment does not count), then scans the entropy-coded data of
 * each scan for a marker: there an FF byte is always followed by 00 (stuffing), D0-D7 (restart) or a marker, so
 * FF D9 cannot occur by chance, and a file cut anywhere before the primary image's end is refused. Whatever follows
 * that marker is accepted, because real camera files carry data there and the Exif standard (CIPA DC-008) tells
 * readers to expect it: the preview images of a Multi-Picture (MPF) file (DJI, Sony...), each ending with its own
 * FF D9; the video of a Motion Photo; vendor trailers (Samsung, Insta360, Dahua...); zero padding. So a rule on
 * the last two bytes alone would refuse real photos. The walk is as lenient as libjpeg: fill bytes (FF FF) before
 * a marker, stray bytes between segments and unknown markers with a length are passed over.
 *
 * TIFF (classic and BigTIFF): what the first image directory (IFD) tells, as far as it passes by: the directory
 * lies within the file, and so does the image data of its strips or tiles (when their offsets and byte counts are
 * inline in the directory, or stored after it so that they have not yet passed when it is read).
 */

/** A check for the format that the first bytes show, or undefined for a format that has none (videos). */
export function completenessCheck(firstBytes: Uint8Array): StreamedContentCheck | undefined {
  const format = detectFormat(firstBytes);
  if (format === 'jpeg') return new JpegCompleteness();
  if (format === 'tiff') return new TiffCompleteness();
  return undefined;
}

/** The copy function's check of a photo: its first bytes, then that it is complete, as it streams. */
export const PHOTO_CONTENT_CHECK: ContentCheck = {
  bytesNeeded: FIRST_BYTES_NEEDED,
  reasonToSkip: skipReasonByContent,
  completeness: (_relativePath, firstBytes) => completenessCheck(firstBytes),
};

const bytesText = (count: number) => `${formatCount(count)} byte${count === 1 ? '' : 's'}`;

const asBuffer = (chunk: Uint8Array) =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

const EOI = 0xd9;
const SOS = 0xda;

/** Markers without a length: TEM, RST0-7, SOI (EOI is handled apart). */
const isStandalone = (code: number) => code === 0x01 || (code >= 0xd0 && code <= 0xd8);

type JpegState =
  /** Between segments: looking for the FF of the next marker. */
  | 'marker'
  /** After an FF between segments: the marker code (or more fill bytes). */
  | 'marker-code'
  | 'length-high'
  | 'length-low'
  /** Inside a marker segment, skipping its bytes. */
  | 'segment'
  /** In entropy-coded data, looking for an FF. */
  | 'scan'
  /** After an FF in entropy-coded data. */
  | 'scan-code'
  /** Past the primary image's end-of-image marker. */
  | 'done';

class JpegCompleteness implements StreamedContentCheck {
  private state: JpegState = 'marker';
  private bytes = 0;
  private marker = 0;
  private lengthHigh = 0;
  private segmentLeft = 0;
  private scans = 0;

  update(chunk: Uint8Array): void {
    const data = asBuffer(chunk);
    this.bytes += data.length;
    let at = 0;
    while (at < data.length && this.state !== 'done') {
      switch (this.state) {
        case 'marker':
        case 'scan': {
          // indexOf is native: the entropy-coded data, nearly all of a photo, is searched, not looped over.
          const ff = data.indexOf(0xff, at);
          if (ff < 0) {
            at = data.length;
          } else {
            at = ff + 1;
            this.state = this.state === 'marker' ? 'marker-code' : 'scan-code';
          }
          break;
        }
        case 'marker-code': {
          const code = data[at++]!;
          if (code === 0xff) break;
          if (code === 0x00 || isStandalone(code)) this.state = 'marker';
          else this.startMarker(code);
          break;
        }
        case 'scan-code': {
          const code = data[at++]!;
          if (code === 0xff) break;
          // Stuffed 00, restart markers, and (for JPEG-LS) any byte below C0 belong to the scan.
          if (code < 0xc0 || isStandalone(code)) this.state = 'scan';
          else this.startMarker(code);
          break;
        }
        case 'length-high':
          this.lengthHigh = data[at++]!;
          this.state = 'length-low';
          break;
        case 'length-low': {
          const length = (this.lengthHigh << 8) | data[at++]!;
          // A length below 2 is impossible: look for the next marker, as libjpeg does after a bad segment.
          if (length < 2) this.state = 'marker';
          else this.enterSegment(length - 2);
          break;
        }
        case 'segment': {
          const skipped = Math.min(this.segmentLeft, data.length - at);
          at += skipped;
          this.enterSegment(this.segmentLeft - skipped);
          break;
        }
      }
    }
  }

  finish(): string | undefined {
    if (this.state !== 'done')
      return `truncated JPEG: its ${bytesText(this.bytes)} end before the end-of-image marker (FF D9)`;
    if (this.scans === 0)
      return 'JPEG without image data: its end-of-image marker (FF D9) comes before any scan (FF DA)';
    return undefined;
  }

  private startMarker(code: number): void {
    if (code === EOI) {
      this.state = 'done';
      return;
    }
    this.marker = code;
    this.state = 'length-high';
  }

  private enterSegment(left: number): void {
    this.segmentLeft = left;
    if (left > 0) {
      this.state = 'segment';
    } else if (this.marker === SOS) {
      this.scans += 1;
      this.state = 'scan';
    } else {
      this.state = 'marker';
    }
  }
}

/** Tags whose values locate the image data. */
const STRIP_OFFSETS = 273;
const STRIP_BYTE_COUNTS = 279;
const TILE_OFFSETS = 324;
const TILE_BYTE_COUNTS = 325;
const LOCATING_TAGS = new Set([STRIP_OFFSETS, STRIP_BYTE_COUNTS, TILE_OFFSETS, TILE_BYTE_COUNTS]);

/** Bytes of one value of each TIFF field type that can hold an offset or a byte count: SHORT, LONG, LONG8. */
const INTEGER_TYPE_SIZES: Readonly<Record<number, number>> = { 3: 2, 4: 4, 16: 8 };

/** Larger directories or arrays are not kept (a directory of a photo has a few dozen entries): not checked. */
const MAX_CAPTURE_BYTES = 256 * 1024;

interface TiffLayout {
  readonly littleEndian: boolean;
  readonly big: boolean;
  /** Bytes of an entry count, an entry, an offset (and of a value stored inline). */
  readonly countSize: number;
  readonly entrySize: number;
  readonly offsetSize: number;
}

const CLASSIC: Omit<TiffLayout, 'littleEndian'> = { big: false, countSize: 2, entrySize: 12, offsetSize: 4 };
const BIG: Omit<TiffLayout, 'littleEndian'> = { big: true, countSize: 8, entrySize: 20, offsetSize: 8 };

/** A range of the file to keep as it passes by, and what to do with it once it has. */
interface Capture {
  readonly start: number;
  readonly bytes: Uint8Array;
  filled: number;
  readonly done: (bytes: Uint8Array) => void;
}

/** The strip or tile offsets, or byte counts: inline values, or an array still to pass by. */
interface LocatingValues {
  values?: number[];
  /** Where the array lies when it is not inline (to say that it lies beyond the end). */
  readonly end?: number;
}

class TiffCompleteness implements StreamedContentCheck {
  /** Bytes fed before the current chunk (all of them between chunks). */
  private bytes = 0;
  private layout: TiffLayout | undefined;
  private firstDirectory: number | undefined;
  private directoryEnd: number | undefined;
  private directoryEntries: number | undefined;
  private readonly locating = new Map<number, LocatingValues>();
  private readonly captures: Capture[] = [];

  constructor() {
    this.capture(0, 8, (header) => this.readHeader(header));
  }

  update(chunk: Uint8Array): void {
    const start = this.bytes;
    const end = start + chunk.length;
    // One pass over the live list, nothing allocated per chunk: a capture that a completed one adds (the directory
    // after its entry count) is appended, and so visited in the same pass if it starts in this chunk.
    for (let index = 0; index < this.captures.length; ) {
      const capture = this.captures[index]!;
      const next = capture.start + capture.filled;
      if (next < start || next >= end) {
        index += 1;
        continue;
      }
      const take = Math.min(capture.bytes.length - capture.filled, end - next);
      capture.bytes.set(chunk.subarray(next - start, next - start + take), capture.filled);
      capture.filled += take;
      if (capture.filled < capture.bytes.length) {
        index += 1;
        continue;
      }
      this.captures.splice(index, 1);
      capture.done(capture.bytes);
    }
    this.bytes = end;
  }

  finish(): string | undefined {
    const size = bytesText(this.bytes);
    const { layout, firstDirectory } = this;
    if (layout === undefined || firstDirectory === undefined) {
      return this.bytes < (layout?.big ? 16 : 8)
        ? `truncated TIFF: its ${size} end inside its header`
        : 'damaged TIFF: its header is not valid';
    }
    const headerSize = layout.big ? 16 : 8;
    if (firstDirectory < headerSize)
      return `damaged TIFF: its first image directory (IFD) offset, ${firstDirectory}, points inside its header`;
    if (firstDirectory + layout.countSize > this.bytes) {
      return `truncated TIFF: its first image directory (IFD), at byte ${firstDirectory}, lies beyond its ${size}`;
    }
    if (this.directoryEntries === 0) return 'damaged TIFF: its first image directory (IFD) has no entries';
    if (this.directoryEnd !== undefined && this.directoryEnd > this.bytes) {
      return `truncated TIFF: its first image directory (IFD), at byte ${firstDirectory}, runs past the end of its ${size}`;
    }
    for (const values of this.locating.values()) {
      if (values.end !== undefined && values.end > this.bytes) {
        return `truncated TIFF: the strip or tile table of its first image lies beyond its ${size}`;
      }
    }
    const dataEnd = this.imageDataEnd();
    if (dataEnd !== undefined && dataEnd > this.bytes) {
      return `truncated TIFF: the image data of its first image ends at byte ${dataEnd}, beyond its ${size}`;
    }
    return undefined;
  }

  private capture(start: number, length: number, done: (bytes: Uint8Array) => void): void {
    // Bytes of earlier chunks are gone: that part of the file goes unchecked.
    if (start < this.bytes || length === 0) return;
    this.captures.push({ start, bytes: new Uint8Array(length), filled: 0, done });
  }

  private readHeader(header: Uint8Array): void {
    const littleEndian = header[0] === 0x49;
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const version = view.getUint16(2, littleEndian);
    if (version === 42) {
      this.layout = { ...CLASSIC, littleEndian };
      this.locateDirectory(view.getUint32(4, littleEndian));
    } else if (version === 43 && view.getUint16(4, littleEndian) === 8 && view.getUint16(6, littleEndian) === 0) {
      this.layout = { ...BIG, littleEndian };
      this.capture(8, 8, (offset) => this.locateDirectory(readUnsigned(offset, 0, 8, littleEndian)));
    }
  }

  private locateDirectory(offset: number): void {
    const layout = this.layout!;
    this.firstDirectory = offset;
    if (offset < (layout.big ? 16 : 8)) return;
    this.capture(offset, layout.countSize, (countBytes) => {
      const entries = readUnsigned(countBytes, 0, layout.countSize, layout.littleEndian);
      this.directoryEntries = entries;
      const entriesStart = offset + layout.countSize;
      const entriesLength = entries * layout.entrySize;
      this.directoryEnd = entriesStart + entriesLength + layout.offsetSize;
      if (entries > 0 && entriesLength <= MAX_CAPTURE_BYTES)
        this.capture(entriesStart, entriesLength, (bytes) => this.readEntries(bytes, entries));
    });
  }

  private readEntries(bytes: Uint8Array, entries: number): void {
    const { littleEndian, entrySize, offsetSize } = this.layout!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let index = 0; index < entries; index++) {
      const at = index * entrySize;
      const tag = view.getUint16(at, littleEndian);
      const valueSize = INTEGER_TYPE_SIZES[view.getUint16(at + 2, littleEndian)];
      if (!LOCATING_TAGS.has(tag) || valueSize === undefined) continue;
      const count = readUnsigned(bytes, at + 4, offsetSize, littleEndian);
      const valueAt = at + 4 + offsetSize;
      const length = count * valueSize;
      if (length <= offsetSize) {
        const values = Array.from({ length: count }, (_, i) =>
          readUnsigned(bytes, valueAt + i * valueSize, valueSize, littleEndian),
        );
        this.locating.set(tag, { values });
        continue;
      }
      const arrayStart = readUnsigned(bytes, valueAt, offsetSize, littleEndian);
      const values: LocatingValues = { end: arrayStart + length };
      this.locating.set(tag, values);
      if (length <= MAX_CAPTURE_BYTES) {
        this.capture(arrayStart, length, (array) => {
          values.values = Array.from({ length: count }, (_, i) =>
            readUnsigned(array, i * valueSize, valueSize, littleEndian),
          );
        });
      }
    }
  }

  /** The end of the last strip or tile, when both tables are known and agree in length. */
  private imageDataEnd(): number | undefined {
    for (const [offsetsTag, countsTag] of [
      [STRIP_OFFSETS, STRIP_BYTE_COUNTS],
      [TILE_OFFSETS, TILE_BYTE_COUNTS],
    ] as const) {
      const offsets = this.locating.get(offsetsTag)?.values;
      const counts = this.locating.get(countsTag)?.values;
      if (!offsets || !counts || offsets.length !== counts.length) continue;
      return offsets.reduce(
        (end, offset, index) => (counts[index]! > 0 ? Math.max(end, offset + counts[index]!) : end),
        0,
      );
    }
    return undefined;
  }
}

/** An unsigned integer of 2, 4 or 8 bytes (8-byte values beyond 2^53 lose precision, far beyond any file size). */
function readUnsigned(bytes: Uint8Array, at: number, size: number, littleEndian: boolean): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, size);
  if (size === 2) return view.getUint16(0, littleEndian);
  if (size === 4) return view.getUint32(0, littleEndian);
  return Number(view.getBigUint64(0, littleEndian));
}
