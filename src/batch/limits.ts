/**
 * What Pix4Dinspect and S3 accept, checked before anything is created: a value refused by the service once the run
 * has created an asset or an inspection leaves that resource behind, so the manifest check, the workflow's prepare
 * step and the operator CLI's pre-check all take their limits from here. Each limit says where it comes from.
 *
 * Text lengths are counted as JavaScript counts them (UTF-16 code units: an emoji counts 2), as the simulator does.
 * A service that counts code points (Python's `len`, as Django does) counts no more, so a text within these limits
 * is within its limits too.
 */

/**
 * Names: `asset.name`, `inspection.name`, and the folder names that stand in for them: 255 characters. Not in the
 * vendor's tutorial: issue 17 gives it as Pix4Dinspect's limit for its name fields, and the simulator enforces it
 * (local/simulator/api-server.ts, `createAssetBody.name` and `createInspectionBody.name`: `max(255)`).
 */
export const MAX_NAME_CHARS = 255;

/**
 * Descriptions of assets and inspections: 2,000 characters. Assumed, not documented by the vendor (the tutorial
 * shows descriptions, line 249 and 258, with no limit): the simulator's limit (local/simulator/api-server.ts,
 * `description: max(2000)`), a sane bound for a free-text field that a 5 MB text would otherwise pass.
 */
export const MAX_DESCRIPTION_CHARS = 2_000;

/**
 * The run id the workflow appends to every inspection's description is a Step Functions execution name: at most
 * 80 characters (AWS Step Functions quota; src/ingest/execution-names.ts builds them).
 */
export const MAX_RUN_ID_CHARS = 80;

/** What the workflow appends to an inspection's description: the client finds its own inspection by it. */
export function runIdSuffix(runId: string): string {
  return ` (run ${runId})`;
}

/**
 * A manifest's `inspection.description`: what is left of the 2,000 once the longest run id is appended (1,913), so
 * that the description sent is always within the limit.
 */
export const MAX_INSPECTION_DESCRIPTION_CHARS =
  MAX_DESCRIPTION_CHARS - runIdSuffix('x'.repeat(MAX_RUN_ID_CHARS)).length;

/** S3 object keys: at most 1,024 bytes of UTF-8 (AWS S3 User Guide, "Naming Amazon S3 objects"). */
export const MAX_S3_KEY_BYTES = 1_024;

/**
 * The longest key prefix Pix4Dinspect's `s3_credentials/` is assumed to give, for estimates made before any
 * inspection exists (the operator CLI). Assumed, not documented by the vendor: the tutorial's prefix
 * `user-<uuid>/project-883349` (line 179, 56 bytes; the simulator's have the same form) with a project id of up to
 * 10 digits instead of 6: 60 bytes. The workflow does not estimate: it uses the inspection's own prefix.
 */
export const ASSUMED_MAX_INSPECT_PREFIX_BYTES = 'user-199a56ab-7ac6-d6d1-4778-5b4d338fc9de/project-'.length + 10;

/**
 * manifest.json itself: 16 MiB. Assumed, not documented by the vendor: a bound on what the prepare function
 * (1,024 MB) reads into memory; it holds every field at its limit and some 100,000 image paths, and leaves a 5 MB
 * description to be refused by name.
 */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** `1,024`: counts in messages, as people read them. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/**
 * Why a text cannot be sent where at most `max` characters are accepted, or undefined. NUL characters are
 * refused too: assumed, not documented by the vendor: Django REST framework's text fields refuse them.
 */
export function textLimitProblem(text: string, max: number): string | undefined {
  if (text.length > max) return `${formatCount(text.length)} characters, over the limit of ${formatCount(max)}`;
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  return undefined;
}

/** The UTF-8 size of a key. */
export function keyBytes(key: string): number {
  return Buffer.byteLength(key, 'utf8');
}

/**
 * The size of a photo's key in Inspect's bucket, `<prefix>/<relative path>` as the copy writes it, with the longest
 * prefix assumed (`ASSUMED_MAX_INSPECT_PREFIX_BYTES`): for estimates before the inspection exists.
 */
export function estimatedDestinationKeyBytes(relativePath: string): number {
  return ASSUMED_MAX_INSPECT_PREFIX_BYTES + 1 + keyBytes(relativePath);
}

/**
 * The skip reason of a photo whose key in Inspect's bucket would pass S3's limit, or undefined. `estimated`: the
 * prefix is `ASSUMED_MAX_INSPECT_PREFIX_BYTES`, not the inspection's own.
 */
export function destinationKeyProblem(bytes: number, options: { estimated?: boolean } = {}): string | undefined {
  if (bytes <= MAX_S3_KEY_BYTES) return undefined;
  const about = options.estimated ? 'about ' : '';
  return `key too long for Inspect's bucket: ${about}${formatCount(bytes)} bytes with Inspect's prefix (limit ${formatCount(MAX_S3_KEY_BYTES)})`;
}
