/**
 * Object keys of the drop bucket: decoding them from S3 events and finding the batch (`<asset>/<flight>/`) that an
 * object belongs to. Pure functions, no AWS types, so that the ingest handler, the workflow and the local runner
 * share one definition of "a batch".
 */

/** The file that closes a batch and configures its inspection; only directly in the batch folder. */
export const MANIFEST_FILE = 'manifest.json';

/**
 * Why a file named like a manifest is not read as one (`Manifest.JSON`, or a manifest.json in a sub-folder), or
 * undefined for any other file. Such a file never closes the batch; the ingest logs say so, and the batch's
 * notification lists it as skipped with this reason.
 */
export function misplacedManifestReason(relativePath: string): string | undefined {
  const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  if (relativePath === MANIFEST_FILE || name.toLowerCase() !== MANIFEST_FILE) return undefined;
  const where = relativePath.includes('/')
    ? 'it is in a sub-folder'
    : `its name is not "${MANIFEST_FILE}" in lower case`;
  return `not read as the batch's manifest (${where}): only "${MANIFEST_FILE}", in lower case and directly in the batch folder, closes a batch`;
}

/** How many leading key segments make a batch unless configured otherwise (`<asset>/<flight>/`). */
export const DEFAULT_BATCH_DEPTH = 2;

/** An S3 event carried a key that is not valid URL encoding; retrying cannot fix it. */
export class InvalidEventKeyError extends Error {
  // A fixed string: Step Functions Retry/Catch match on it, and bundlers rename classes.
  override name = 'InvalidEventKeyError';

  constructor(
    readonly encodedKey: string,
    options?: { cause?: unknown },
  ) {
    super(`S3 event key is not valid URL encoding: ${JSON.stringify(encodedKey)}`, options);
  }
}

/**
 * The real key of an S3 event notification's `object.key`: S3 URL-encodes it with `+` for a space (form encoding),
 * so `+` must become a space before percent-decoding, and a literal plus arrives as `%2B`.
 */
export function decodeEventKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch (cause) {
    throw new InvalidEventKeyError(encoded, { cause });
  }
}

/** Where an object sits relative to its batch. */
export interface BatchLocation {
  /** The batch folder, e.g. `tower-123/flight-1/`; always ends with `/`. */
  readonly prefix: string;
  /** The first segment of the key: the asset's name unless the manifest says otherwise. */
  readonly assetName: string;
  /** The last segment of the prefix: the inspection's name unless the manifest says otherwise. */
  readonly flightName: string;
  /** The rest of the key after the prefix, sub-folders kept (e.g. `DCIM/100MEDIA/DJI_0001.JPG`). */
  readonly relativePath: string;
}

/**
 * The batch of a (decoded) key: its first `depth` segments. Undefined for keys that belong to no batch, which the
 * pipeline leaves alone: too shallow (nothing below the batch folder), folder markers (keys ending with `/`, which
 * consoles create for "new folder"), and keys with an empty segment in the batch part (`tower//x.jpg`), which
 * would give a batch without a name.
 */
export function locateBatch(key: string, depth: number = DEFAULT_BATCH_DEPTH): BatchLocation | undefined {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`batch depth must be an integer >= 1, got ${depth}`);
  if (key.endsWith('/')) return undefined;
  const segments = key.split('/');
  // One more segment than the depth at least: the object itself must lie below the batch folder.
  if (segments.length <= depth) return undefined;
  const folders = segments.slice(0, depth);
  if (folders.some((segment) => segment === '')) return undefined;
  return {
    prefix: `${folders.join('/')}/`,
    assetName: folders[0] as string,
    flightName: folders[depth - 1] as string,
    relativePath: segments.slice(depth).join('/'),
  };
}

/** True only for `manifest.json` directly in the batch folder: one in a sub-folder is just another file. */
export function isManifest(location: BatchLocation): boolean {
  return location.relativePath === MANIFEST_FILE;
}
