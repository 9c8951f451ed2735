import { z } from 'zod';

/**
 * Shapes of the Pix4Dinspect API answers, after the vendor's tutorial, its only contract. Reading is tolerant:
 *
 * - only the fields the pipeline uses are checked; every other field is kept as sent, unchecked (loose objects),
 *   so a new, renamed-away, null or oddly typed field the pipeline ignores cannot fail a run;
 * - a number may come as a JSON number or as a string of digits (`"1417"`), as serialisers of decimal and
 *   big-integer columns do;
 * - a field the pipeline needs must be there and readable: missing, null or mistyped, it is an issue whose path
 *   names the field;
 * - a field the pipeline reads with a fallback may be null or absent; present, it must be readable.
 */

/** How a value that was refused looks, for the issue's message. */
function received(input: unknown): string {
  if (input === undefined) return 'missing';
  if (input === null) return 'null';
  if (typeof input === 'string')
    return input.trim() === '' ? 'an empty string' : `"${input.length > 40 ? `${input.slice(0, 40)}…` : input}"`;
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  if (Array.isArray(input)) return 'an array';
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}

const refused = (expected: string) => (issue: { input: unknown }) =>
  `expected ${expected}, got ${received(issue.input)}`;

/** A number sent as a JSON number or as a string matching `pattern`; `check` bounds it. */
function numeric(expected: string, pattern: RegExp, check: z.ZodNumber) {
  return z
    .union([z.number(), z.string()], { error: refused(expected) })
    .transform((value, ctx) => {
      if (typeof value === 'number') return value;
      const text = value.trim();
      if (pattern.test(text)) return Number(text);
      ctx.issues.push({ code: 'custom', message: refused(expected)({ input: value }), input: value });
      return z.NEVER;
    })
    .pipe(check);
}

const DIGITS = /^\d+$/;
const UNSIGNED_DECIMAL = /^\d+(\.\d+)?$/;

/** Ids, counts, type and status codes: whole numbers, never negative. */
const wholeNumber = (expected: string) =>
  numeric(
    expected,
    DIGITS,
    z
      .number({ error: refused(expected) })
      .int({ error: refused(expected) })
      .nonnegative({ error: refused(expected) }),
  );

const id = wholeNumber('an id (a whole number or a string of digits)');

/** A string the pipeline needs: present and not empty. */
const requiredText = (expected: string) => z.string({ error: refused(expected) }).min(1, { error: refused(expected) });

/**
 * ISO 8601, as Django REST framework writes it: `2021-06-15T15:20:39.576966+02:00`, `2021-05-10T21:55:47Z`. Only
 * this form is read: `Date.parse` alone turns text such as `"1"` into a date, and a wrong creation time could
 * match the wrong resource.
 */
const ISO_INSTANT =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch ms of an ISO 8601 date and time; a time without offset is taken as UTC. Undefined when unreadable. */
function parseInstant(text: string): number | undefined {
  const match = ISO_INSTANT.exec(text.trim());
  if (!match) return undefined;
  const [, date, minutes = '00:00', seconds = '00', fraction = '', zone = 'Z'] = match;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  const at = Date.parse(`${date}T${minutes}:${seconds}.${fraction.padEnd(3, '0').slice(0, 3)}${offset}`);
  return Number.isNaN(at) ? undefined : at;
}

/** A date and time the pipeline needs, as a Date. */
const instant = z.string({ error: refused('a date and time') }).transform((value, ctx) => {
  const at = parseInstant(value);
  if (at !== undefined) return new Date(at);
  ctx.issues.push({ code: 'custom', message: refused('a date and time')({ input: value }), input: value });
  return z.NEVER;
});

/** A date and time read when given: null, absent or empty is undefined; anything else must be a date. */
const optionalInstant = z
  .string({ error: refused('a date and time or null') })
  .nullish()
  .transform((value, ctx) => {
    if (value === null || value === undefined || value.trim() === '') return undefined;
    const at = parseInstant(value);
    if (at !== undefined) return new Date(at);
    ctx.issues.push({ code: 'custom', message: refused('a date and time or null')({ input: value }), input: value });
    return z.NEVER;
  });

export const tokenResponseSchema = z.looseObject({
  api_token: requiredText('a token'),
  expires_in: numeric(
    'a number of seconds',
    UNSIGNED_DECIMAL,
    z.number({ error: refused('a number of seconds') }).positive({ error: refused('a positive number of seconds') }),
  ),
});

export const processingParametersSchema = z.strictObject({
  is_video: z.boolean(),
  generate_point_cloud: z.boolean(),
  clip_point_cloud: z.boolean(),
  clipping_radius: z.number().nonnegative(),
  detect_antennas: z.boolean(),
});
export type ProcessingParameters = z.infer<typeof processingParametersSchema>;

/** The tutorial's processing parameters: photos, point cloud clipped to the tower, antennas detected. */
export const DEFAULT_PROCESSING_PARAMETERS: Readonly<ProcessingParameters> = Object.freeze({
  is_video: false,
  generate_point_cloud: true,
  clip_point_cloud: true,
  clipping_radius: 0,
  detect_antennas: true,
});

/** An asset: the answer to its creation, an item of the asset list. `created_at` finds one a lost answer created. */
export const assetSchema = z.looseObject({
  id,
  name: z.string({ error: refused('a name') }),
  type: wholeNumber('an asset type (a whole number or a string of digits)'),
  created_at: optionalInstant,
});
export type Asset = z.infer<typeof assetSchema>;

export const inspectionStatusSchema = z.looseObject(
  {
    id: wholeNumber('a status id (a whole number or a string of digits)'),
    name: z.string({ error: refused('a status name') }),
  },
  { error: refused('a status object') },
);
export type InspectionStatus = z.infer<typeof inspectionStatusSchema>;

/**
 * `object` when the value is an object (not an array), else `other`: unlike a union, the issues of the chosen
 * schema keep their paths, so that they name the field.
 */
function objectOr<O extends z.ZodType, A extends z.ZodType>(object: O, other: A) {
  return z.unknown().transform((value, ctx): z.output<O> | z.output<A> => {
    const result = (typeof value === 'object' && value !== null && !Array.isArray(value) ? object : other).safeParse(
      value,
    );
    if (result.success) return result.data;
    for (const issue of result.error.issues)
      ctx.issues.push({ code: 'custom', message: issue.message, path: issue.path, input: value });
    return z.NEVER;
  });
}

/** The asset of an inspection: only its id is used, the rest is kept unchecked. */
const inspectionAssetSchema = objectOr(z.looseObject({ id }), wholeNumber('an asset or an asset id'));

export const inspectionSchema = z.looseObject({
  id,
  project_id: wholeNumber('a project id or null').nullish(),
  // The detail view nests the asset; a creation answer may give its id only.
  asset: inspectionAssetSchema,
  status: inspectionStatusSchema,
  pcs_task_uuid: z.string({ error: refused('a task uuid or null') }).nullish(),
  name: z.string({ error: refused('a name or null') }).nullish(),
  created_at: optionalInstant,
});
export type Inspection = z.infer<typeof inspectionSchema>;

export const s3CredentialsResponseSchema = z.looseObject({
  access_key: requiredText('an access key'),
  secret_key: requiredText('a secret key'),
  session_token: requiredText('a session token'),
  expiration: instant,
  bucket: requiredText('a bucket name'),
  key: requiredText('a key prefix'),
  server_time: instant,
  // Absent, null or empty: undefined, and the reader chooses the region.
  region: z
    .string({ error: refused('a region name or null') })
    .nullish()
    .transform((value) => (value === null || value === undefined || value.trim() === '' ? undefined : value)),
});

export const registerImagesResponseSchema = z.looseObject({
  nb_images_registered: wholeNumber('a count (a whole number or a string of digits)'),
});

/** One page of a list: its items, the items it could not read, and the URL of the next page when there is one. */
export interface ListPage<T> {
  readonly items: T[];
  /** Items with an id that fail the item schema, as sent: a lookup judges whether one could be the resource it seeks. */
  readonly unreadable: unknown[];
  readonly next: string | undefined;
}

/**
 * A list answer of the Django REST framework kind: a plain JSON array of items, or a page
 * `{ count, next, previous, results }`. An item without a usable id is skipped: nothing could refer to it. An item
 * with one that fails its schema is kept apart, unread: one odd resource of the account must not stop every lookup,
 * and the lookup decides whether it could be the one it seeks.
 */
function listSchema<S extends z.ZodType<{ id: number }>>(item: S) {
  const items = z.array(z.unknown(), { error: refused('a list') }).transform((values) => {
    const kept: z.output<S>[] = [];
    const unreadable: unknown[] = [];
    for (const value of values) {
      if (!hasUsableId(value)) continue;
      const result = item.safeParse(value);
      if (result.success) kept.push(result.data);
      else unreadable.push(value);
    }
    return { kept, unreadable };
  });
  const plain = items.transform(
    ({ kept, unreadable }): ListPage<z.output<S>> => ({ items: kept, unreadable, next: undefined }),
  );
  const paginated = z
    .looseObject({
      results: items,
      next: z.string({ error: refused('the URL of the next page or null') }).nullish(),
    })
    .transform(
      ({ results, next }): ListPage<z.output<S>> => ({
        items: results.kept,
        unreadable: results.unreadable,
        next: next?.trim() ? next : undefined,
      }),
    );
  return objectOr(paginated, plain);
}

function hasUsableId(value: unknown): boolean {
  return typeof value === 'object' && value !== null && id.safeParse((value as { id?: unknown }).id).success;
}

export const assetListSchema = listSchema(assetSchema);
export const inspectionListSchema = listSchema(inspectionSchema);

export interface CreateAssetInput {
  readonly name: string;
  readonly type: number;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly description?: string;
}

export interface CreateInspectionInput {
  /** Id of the asset the inspection belongs to. */
  readonly asset: number;
  readonly processing_parameters: ProcessingParameters;
  readonly name?: string;
  readonly description?: string;
  /** ISO 8601 date and time of the flight. */
  readonly inspection_date?: string;
}
