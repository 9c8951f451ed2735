import { z } from 'zod';
import { processingParametersSchema } from '../pix4d/schemas';
import { MANIFEST_FILE } from './keys';

/**
 * The optional `manifest.json` of a batch (see DESIGN.md "manifest.json"). The schema is strict at every level: a
 * misspelt field silently ignored would run a paid processing with settings the person did not ask for, so an
 * unknown field is an error, reported with every other problem in one readable message.
 */

/** The most problems a message lists; the rest are counted ("and N more"). */
const MAX_LISTED_PROBLEMS = 5;
/** Messages travel into notifications and e-mail subjects: keep them short. */
const MAX_MESSAGE_LENGTH = 300;
const MAX_PROBLEM_LENGTH = 100;
const MAX_FIELD_NAME_LENGTH = 40;

/** manifest.json cannot be used; `problems` names each problem found. */
export class ManifestError extends Error {
  // A fixed string: Step Functions Retry/Catch match on it, and bundlers rename classes.
  override name = 'ManifestError';

  /** @param headline what follows `manifest.json ` in the message, e.g. `is empty` */
  constructor(
    readonly problems: string[],
    headline: string,
    options?: { cause?: unknown },
  ) {
    super(clip(`${MANIFEST_FILE} ${headline}`, MAX_MESSAGE_LENGTH), options);
  }
}

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
 * One object with every asset field, then the two forms checked by hand: a zod union of two strict objects would
 * report "no union member matched" instead of naming the unknown field or the conflicting ones.
 */
const assetSchema = z
  .strictObject({
    id: positiveInteger.optional(),
    name: z.string().min(1, 'must not be empty').optional(),
    type: positiveInteger.optional(),
    latitude: z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90').optional(),
    longitude: z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180').optional(),
    description: z.string().optional(),
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
  name: z.string().min(1, 'must not be empty').optional(),
  description: z.string().optional(),
  // A time zone is required: the flight's time must not depend on where the pipeline runs.
  inspection_date: z.iso
    .datetime({
      offset: true,
      // Only for the format: a wrong type keeps the general "expected string, found ..." message.
      error: (issue) => (issue.code === 'invalid_format' ? 'not an ISO 8601 date-time with zone, e.g. 2026-11-28T10:00:00Z' : undefined),
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
  // Any subset: missing parameters come from the stack's defaults.
  processing_parameters: processingParametersSchema.partial().optional(),
  images: imagesSchema.optional(),
});

export type Manifest = z.output<typeof manifestSchema>;

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
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${clip(String(part), MAX_FIELD_NAME_LENGTH)}`))
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

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
