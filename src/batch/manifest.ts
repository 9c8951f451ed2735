import { z } from 'zod';
import { processingParametersSchema } from '../pix4d/schemas';
import { preflightOverridesSchema } from '../preflight/preflight';
import { MANIFEST_FILE } from './keys';
import {
  formatCount,
  keyBytes,
  MAX_DESCRIPTION_CHARS,
  MAX_INSPECTION_DESCRIPTION_CHARS,
  MAX_NAME_CHARS,
  MAX_S3_KEY_BYTES,
  textLimitProblem,
} from './limits';
import { decodeManifestBytes } from './manifest-encoding';
import { clip, MAX_MESSAGE_LENGTH, ManifestError } from './manifest-error';

export { ManifestError } from './manifest-error';

/**
 * The optional `manifest.json` of a batch (see DESIGN.md "manifest.json"). The schema is strict at every level: a
 * misspelt field silently ignored would run a paid processing with settings the person did not ask for, so an
 * unknown field is an error, reported with every other problem in one readable message. Every value is bounded as
 * Pix4Dinspect bounds it (limits.ts says where each limit comes from): a value the service refuses would fail the
 * run after its asset was created.
 */

/** The most problems a message lists; the rest are counted ("and N more"). */
const MAX_LISTED_PROBLEMS = 5;
const MAX_PROBLEM_LENGTH = 100;
const MAX_FIELD_NAME_LENGTH = 40;

/** An existing asset of the organization, by id alone. */
export interface ExistingAssetReference {
  readonly id: number;
}

/** An asset found by name in the pipeline's registry, or created with these details. */
export interface NamedAsset {
  readonly name: string;
  readonly type?: number;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly description?: string;
}

export type ManifestAsset = ExistingAssetReference | NamedAsset;

const DETAIL_FIELDS = ['name', 'type', 'latitude', 'longitude', 'description'] as const;

const positiveInteger = z.number().int('must be a whole number').positive('must be a positive whole number');

/**
 * Why a name cannot be sent to Pix4Dinspect, or undefined: empty, only whitespace (which the service trims to
 * nothing: local/simulator/api-server.ts `createAssetBody.name`, `trim().min(1)`), or past `MAX_NAME_CHARS`.
 */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.trim() === '') return 'must not be only whitespace';
  return textLimitProblem(name, MAX_NAME_CHARS);
}

/** A name field: see `nameProblem`. */
const nameSchema = z.string().superRefine((name, context) => {
  const problem = nameProblem(name);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});

/** A free-text field of at most `max` characters; `why` explains a limit that is not the service's own. */
const limitedText = (max: number, why?: string) =>
  z.string().superRefine((text, context) => {
    const problem = textLimitProblem(text, max);
    if (problem !== undefined)
      context.addIssue({ code: 'custom', message: why && text.length > max ? `${problem} (${why})` : problem });
  });

/**
 * One object with every asset field, then the two forms checked by hand: a zod union of two strict objects would
 * report "no union member matched" instead of naming the unknown field or the conflicting ones.
 */
const assetSchema = z
  .strictObject({
    // Up to 2^53 - 1 (zod's int); the vendor documents no bound, and the service answers 400 for an unknown id.
    id: positiveInteger.optional(),
    name: nameSchema.optional(),
    // Not bounded: the asset types are listed in the vendor's reference documentation only (tutorial line 127).
    type: positiveInteger.optional(),
    // Degrees, as the simulator bounds them (local/simulator/api-server.ts `createAssetBody`).
    latitude: z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90').optional(),
    longitude: z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180').optional(),
    description: limitedText(MAX_DESCRIPTION_CHARS).optional(),
  })
  .superRefine((asset, context) => {
    const details = DETAIL_FIELDS.filter((field) => asset[field] !== undefined);
    if (asset.id !== undefined && details.length > 0) {
      context.addIssue({ code: 'custom', message: `give either id or ${details.join(', ')}, not both` });
    } else if (asset.id === undefined && asset.name === undefined) {
      context.addIssue({ code: 'custom', message: 'needs either id (an existing asset) or name' });
    }
  })
  // The refinement above guarantees a name whenever there is no id.
  .transform(({ id, ...details }): ManifestAsset => (id !== undefined ? { id } : (details as NamedAsset)));

const inspectionSchema = z.strictObject({
  name: nameSchema.optional(),
  // Less than the service's limit: the workflow appends the run id.
  description: limitedText(
    MAX_INSPECTION_DESCRIPTION_CHARS,
    `${formatCount(MAX_DESCRIPTION_CHARS)} less the run id`,
  ).optional(),
  // A time zone is required: the flight's time must not depend on where the pipeline runs.
  inspection_date: z.iso
    .datetime({
      offset: true,
      // Only for the format: a wrong type keeps the general "expected string, found ..." message.
      error: (issue) =>
        issue.code === 'invalid_format' ? 'not an ISO 8601 date-time with zone, e.g. 2026-11-28T10:00:00Z' : undefined,
    })
    .optional(),
});

/**
 * Why a manifest image path is not a path relative to the batch folder, i.e. not what a key below the prefix looks
 * like; nothing may climb out of the folder.
 */
function relativePathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.startsWith('/')) return 'must be relative to the batch folder (no leading "/")';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) return 'must not contain "." or ".." segments';
  if (segments.includes('')) return 'must not contain empty segments ("//" or a trailing "/")';
  return undefined;
}

const imagePathSchema = z.string().superRefine((path, context) => {
  const problem = relativePathProblem(path);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  // A longer path names no object: S3 keys hold at most 1,024 bytes, the folder's prefix included.
  const bytes = keyBytes(path);
  if (bytes > MAX_S3_KEY_BYTES)
    context.addIssue({
      code: 'custom',
      message: `${formatCount(bytes)} bytes, over S3's key limit of ${formatCount(MAX_S3_KEY_BYTES)}`,
    });
});

const imagesSchema = z
  .array(imagePathSchema)
  // An empty selection would select nothing: a processing with no photos is never what the author meant.
  .min(1, 'must list at least one image (leave images out to take every image)')
  .superRefine((images, context) => {
    const firstIndex = new Map<string, number>();
    images.forEach((image, index) => {
      const first = firstIndex.get(image);
      if (first === undefined) firstIndex.set(image, index);
      else context.addIssue({ code: 'custom', path: [index], message: `duplicate of images[${first}]` });
    });
  });

const manifestSchema = z.strictObject({
  asset: assetSchema.optional(),
  inspection: inspectionSchema.optional(),
  // Any subset: missing parameters come from the stack's defaults. The tutorial (line 146-152) bounds none;
  // `clipping_radius` >= 0 is the simulator's check (local/simulator/api-server.ts `processingParametersBody`).
  processing_parameters: processingParametersSchema.partial().optional(),
  images: imagesSchema.optional(),
  // This flight's pre-flight thresholds over the stack's (src/preflight/preflight.ts).
  preflight: preflightOverridesSchema.optional(),
});

export type Manifest = z.output<typeof manifestSchema>;

/**
 * Parses and validates a manifest.json as stored: UTF-8 only (see manifest-encoding.ts). The workflow and the
 * operator CLI read manifests through this, so that both refuse the same files with the same message.
 */
export function parseManifestBytes(bytes: Uint8Array): Manifest {
  return parseManifest(decodeManifestBytes(bytes));
}

/**
 * The names taken from the batch's folders where the manifest gives none (DESIGN.md "Batches"), checked as the
 * manifest's own names are, so that a 300-character folder name is refused before an asset is created. One
 * problem per name, saying which manifest field would replace it.
 */
export function folderNameProblems(
  manifest: Manifest,
  folders: { readonly assetName: string; readonly flightName: string },
): string[] {
  const problems: string[] = [];
  const check = (folder: string, name: string, field: string) => {
    const problem = nameProblem(name);
    if (problem !== undefined) {
      problems.push(
        `the ${folder} folder name ${JSON.stringify(clip(name, MAX_FIELD_NAME_LENGTH))}, used as ${field}: ${problem} (set ${field} in ${MANIFEST_FILE})`,
      );
    }
  };
  if (manifest.asset === undefined) check('asset', folders.assetName, 'asset.name');
  if (manifest.inspection?.name === undefined) check('flight', folders.flightName, 'inspection.name');
  return problems;
}

/** Parses and validates the text of a manifest.json; throws `ManifestError` naming every problem. */
export function parseManifest(text: string): Manifest {
  // Editors on Windows may save a byte order mark, which JSON.parse refuses.
  const json = text.replace(/^\uFEFF/, '');
  if (json.trim() === '') throw new ManifestError(['the file is empty'], 'is empty');
  const value = parseJson(json);
  const found = jsonKind(value);
  if (found !== 'an object') {
    throw new ManifestError([`the top level is ${found}, not an object`], `must be a JSON object, not ${found}`);
  }
  const result = manifestSchema.safeParse(value, { error: readableMessage });
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap(describeIssue);
  throw new ManifestError(problems, `is invalid: ${summarize(problems)}`, { cause: result.error });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    // The parser's message says where (position or excerpt), which is what the author needs.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ManifestError([`not valid JSON: ${reason}`], `is not valid JSON: ${reason}`, { cause });
  }
}

/** A JSON value's kind as a person would name it (typeof says "object" for arrays and null). */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** `asset.latitude`, `images[2]`: the path as it would be written in JavaScript. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${clip(String(part), MAX_FIELD_NAME_LENGTH)}`,
    )
    .join('');
}

/**
 * Messages for the checks that carry none of their own (the shared processing parameters schema, types): zod's
 * defaults ("Too small: expected number to be >=0") read like a stack trace. Schema-level messages take precedence.
 */
const readableMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int') return 'must be a whole number';
      return `expected ${article(issue.expected)}, found ${jsonKind(issue.input)}`;
    case 'too_small':
      return issue.origin === 'number' ? `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}` : undefined;
    case 'too_big':
      return issue.origin === 'number' ? `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}` : undefined;
    default:
      return undefined;
  }
};

function article(expected: string): string {
  return expected === 'object' || expected === 'array' ? `an ${expected}` : expected;
}

/** One readable problem per issue, except unknown fields: one per field, so each is named. */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const field = JSON.stringify(clip(key, MAX_FIELD_NAME_LENGTH));
      return where === '' ? `unknown field ${field}` : `unknown field ${field} in ${where}`;
    });
  }
  return [where === '' ? issue.message : `${where}: ${issue.message}`];
}

/** The first problems, as many as fit in a short message, and how many more there are. */
function summarize(problems: readonly string[]): string {
  const listed: string[] = [];
  const reserve = ' and 999 more'.length + `${MANIFEST_FILE} is invalid: `.length;
  for (const problem of problems.slice(0, MAX_LISTED_PROBLEMS)) {
    const clipped = clip(problem, MAX_PROBLEM_LENGTH);
    const length = [...listed, clipped].join('; ').length;
    if (listed.length > 0 && length + reserve > MAX_MESSAGE_LENGTH) break;
    listed.push(clipped);
  }
  const more = problems.length - listed.length;
  return more > 0 ? `${listed.join('; ')}; and ${more} more` : listed.join('; ');
}
