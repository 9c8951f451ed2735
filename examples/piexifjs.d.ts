/**
 * The part of piexifjs 1.0.6 (which ships no types) that the sample flight's generator and its test use. piexifjs
 * works on "binary strings": one character per byte (Buffer's 'latin1' encoding).
 */
declare module 'piexifjs' {
  /** One tag's value as piexifjs takes and gives it: ASCII text, numbers, or rationals as [numerator, denominator]. */
  export type TagValue = string | number | readonly number[] | readonly (readonly [number, number])[];

  /** Tag number -> value, per image file directory. */
  export type Ifd = Record<number, TagValue>;

  export interface ExifDict {
    '0th'?: Ifd;
    Exif?: Ifd;
    GPS?: Ifd;
    Interop?: Ifd;
    '1st'?: Ifd;
    /** A JPEG (binary string) stored as the thumbnail of the 1st IFD. */
    thumbnail?: string | null;
  }

  /** The APP1 Exif payload ("Exif\0\0" + TIFF) for these tags. */
  export function dump(exif: ExifDict): string;
  /** The JPEG with this Exif payload as its APP1 segment (replacing any Exif segment it had). */
  export function insert(exif: string, jpeg: string): string;
  /** The tags of a JPEG's Exif segment (only tags piexifjs knows are read). */
  export function load(jpeg: string): Required<ExifDict>;

  /** What piexifjs knows of each tag; a tag absent here cannot be written, and is skipped when read. */
  export const TAGS: Record<'Image' | 'Exif' | 'GPS' | 'Interop', Record<number, { name: string; type: string }>>;
  export const ImageIFD: Readonly<Record<string, number>>;
  export const ExifIFD: Readonly<Record<string, number>>;
  export const GPSIFD: Readonly<Record<string, number>>;
}
