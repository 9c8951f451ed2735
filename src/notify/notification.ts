import { z } from 'zod';
import type { InspectionStatus } from '../pix4d/schemas';
import type { FlightSummary } from '../preflight/preflight';
import { redact } from '../redact';

/**
 * The version-1 notification of DESIGN.md ("Notification (SNS message, version 1)"): one SNS message per outcome of
 * a batch, with the attributes `type` and `asset` for filter policies, a one-line subject and, for email
 * subscribers, a readable text body (SNS `MessageStructure: 'json'`).
 *
 * Pure: no AWS SDK, no Lambda types. Every text that goes out passes through `redact()` with the secrets of the
 * input first, and is capped after that (so that a cut never leaves half of a secret behind).
 */

export const NOTIFICATION_TYPES = [
  'inspection.completed',
  'inspection.failed',
  'inspection.timed_out',
  'inspection.late_photos',
  'inspection.skipped',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** The types of a run of an already closed folder: it started nothing, and says why in a `notice`. */
export type NoticeType = 'inspection.late_photos' | 'inspection.skipped';

export function isNoticeType(type: NotificationType): type is NoticeType {
  return type === 'inspection.late_photos' || type === 'inspection.skipped';
}

export const DEFAULT_INSPECT_BASE_URL = 'https://inspect.pix4d.com';
/** Skipped images listed in the JSON message by default; `images.skippedTotal` always has the full count. */
export const DEFAULT_MAX_SKIPPED_LISTED = 100;
/** Skipped images listed in the email body. */
export const EMAIL_SKIPPED_LISTED = 20;
/** An error message longer than this is cut, ending with '…'. */
export const MAX_ERROR_MESSAGE_CHARS = 2_000;
/**
 * The longest subject built. SNS wants a Subject "less than 100 characters long" (Publish API reference): 99 at most.
 */
export const MAX_SUBJECT_CHARS = 99;
/** The whole `snsMessage` stays below this many bytes (UTF-8); SNS allows 256 KiB, attributes included. */
export const MAX_SNS_MESSAGE_BYTES = 200 * 1024;
/** Stands for a missing name: SNS attribute values must not be empty. */
export const UNKNOWN_NAME = '(unknown)';

/** Safety rails for the other texts (far above realistic values; an S3 key has at most 1,024 bytes). */
const MAX_CHARS = Object.freeze({ name: 256, key: 1_024, reason: 500, stage: 64, subjectStage: 24 });
const ELLIPSIS = '…';

// ---------------------------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------------------------

const isoTimestamp = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();
const integerId = z.number().int();

const batchSchema = z.strictObject({
  bucket: z.string().min(1),
  prefix: z.string().min(1),
  id: z.string().min(1),
});

const assetSchema = z.strictObject({
  id: integerId.nullable(),
  name: z.string().min(1),
});

const inspectionSchema = z
  .strictObject({
    id: integerId,
    projectId: integerId.nullable(),
    name: z.string().min(1),
    status: z.strictObject({ id: integerId, name: z.string() }).nullable(),
    url: z.url({ protocol: /^https?$/ }).nullable(),
  })
  .refine((inspection) => (inspection.projectId === null) === (inspection.url === null), {
    message: 'url must be present exactly when projectId is',
    path: ['url'],
  });

const skippedImageSchema = z.strictObject({
  key: z.string().min(1),
  reason: z.string().min(1),
});

const imagesSchema = z
  .strictObject({
    found: count,
    copied: count,
    registered: count,
    skipped: z.array(skippedImageSchema),
    skippedTotal: count,
  })
  .refine((images) => images.skipped.length <= images.skippedTotal, {
    message: 'skippedTotal must count at least the listed skipped images',
    path: ['skippedTotal'],
  });

const errorSchema = z.strictObject({
  stage: z.string().min(1).max(MAX_CHARS.stage),
  message: z.string().min(1).max(MAX_ERROR_MESSAGE_CHARS),
});

const timingsSchema = z.strictObject({
  closedAt: isoTimestamp,
  processingStartedAt: isoTimestamp.nullable(),
  finishedAt: isoTimestamp,
});

/** The most cameras and warnings a message lists. */
export const MAX_CAMERAS_LISTED = 20;
export const MAX_WARNINGS_LISTED = 20;
const MAX_WARNING_CHARS = 1_000;

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);

/** What the photos' own metadata says of the flight (added to version 1): null when it was not read. */
const flightSchema = z.strictObject({
  capturedFrom: isoTimestamp.nullable(),
  capturedTo: isoTimestamp.nullable(),
  cameras: z.array(z.string().min(1).max(MAX_CHARS.name)).max(MAX_CAMERAS_LISTED),
  /** Photos with a GPS position, of `photos`. */
  geotagged: count,
  photos: count,
  centroid: z.strictObject({ latitude, longitude }).nullable(),
  altitude: z.strictObject({ min: z.number(), max: z.number() }).nullable(),
});

const common = {
  version: z.literal(1),
  batch: batchSchema,
  asset: assetSchema,
  inspection: inspectionSchema.nullable(),
  images: imagesSchema,
  flight: flightSchema.nullable(),
  /** The pre-flight's warnings, in plain words (added to version 1). */
  warnings: z.array(z.string().min(1).max(MAX_WARNING_CHARS)).max(MAX_WARNINGS_LISTED),
  timings: timingsSchema,
};

const completedSchema = z.strictObject({ ...common, type: z.literal('inspection.completed') });
const failedSchema = z.strictObject({ ...common, type: z.literal('inspection.failed'), error: errorSchema });
const timedOutSchema = z.strictObject({ ...common, type: z.literal('inspection.timed_out'), error: errorSchema });
/** Why a run of an already closed folder started nothing, and what to do. */
const noticeSchema = z.strictObject({ message: z.string().min(1).max(MAX_ERROR_MESSAGE_CHARS) });
const latePhotosSchema = z.strictObject({ ...common, type: z.literal('inspection.late_photos'), notice: noticeSchema });
const skippedSchema = z.strictObject({ ...common, type: z.literal('inspection.skipped'), notice: noticeSchema });

/**
 * The version-1 message. `error` is present exactly on `inspection.failed` and `inspection.timed_out`; a completed
 * or timed-out inspection exists and had started processing. `inspection.late_photos` (files that came after the
 * folder closed, listed in `images.skipped`) and `inspection.skipped` (a run that would have processed the same
 * photos again) have a `notice` instead, and no inspection of their own.
 */
export const notificationSchema = z
  .discriminatedUnion('type', [completedSchema, failedSchema, timedOutSchema, latePhotosSchema, skippedSchema])
  .superRefine((message, ctx) => {
    if (message.type === 'inspection.failed') return;
    if (isNoticeType(message.type)) {
      if (message.inspection !== null)
        ctx.addIssue({ code: 'custom', message: `${message.type} has no inspection`, path: ['inspection'] });
      return;
    }
    if (message.inspection === null) {
      ctx.addIssue({ code: 'custom', message: `${message.type} needs an inspection`, path: ['inspection'] });
    }
    if (message.timings.processingStartedAt === null) {
      ctx.addIssue({
        code: 'custom',
        message: `${message.type} needs processingStartedAt`,
        path: ['timings', 'processingStartedAt'],
      });
    }
  });

export type NotificationV1 = z.infer<typeof notificationSchema>;
export type SkippedImage = z.infer<typeof skippedImageSchema>;
export type FlightBlock = z.infer<typeof flightSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------------------------

export interface NotificationInput {
  readonly type: NotificationType;
  readonly batch: { readonly bucket: string; readonly prefix: string; readonly id: string };
  /** `name` may be missing (e.g. a manifest that failed before the asset was resolved): it becomes '(unknown)'. */
  readonly asset: { readonly id: number | null; readonly name?: string | null };
  /** null when the batch failed before the inspection was created. */
  readonly inspection: {
    readonly id: number;
    readonly projectId: number | null | undefined;
    readonly name?: string | null;
    /** The last status read; only `id` and `name` are kept. */
    readonly status: InspectionStatus | null | undefined;
  } | null;
  readonly images: {
    readonly found: number;
    readonly copied: number;
    readonly registered: number;
    /** The skipped images (or the first of them); the message lists at most `maxSkippedListed`. */
    readonly skipped: readonly SkippedImage[];
    /** Full count of skipped images when `skipped` is not the whole list; defaults to `skipped.length`. */
    readonly skippedTotal?: number;
  };
  /** What the photos' metadata says of the flight. @default null: not read (a video, or a run that stopped before) */
  readonly flight?: FlightSummary | null;
  /** The pre-flight's warnings. @default none */
  readonly warnings?: readonly string[];
  /** Required for `inspection.failed` and refused otherwise: the builder writes the timed-out error itself. */
  readonly error?: { readonly stage: string; readonly message: string };
  /** Required for `inspection.late_photos` and `inspection.skipped`, refused otherwise: why nothing started. */
  readonly notice?: string;
  readonly timings: {
    readonly closedAt: Date | string;
    readonly processingStartedAt: Date | string | null | undefined;
    readonly finishedAt: Date | string;
  };
  /** The processing deadline, named in the timed-out error message when given. */
  readonly deadline?: Date | string;
  /** Values to remove from every outgoing text (password, API key, username...). Never copied into the message. */
  readonly secrets?: readonly (string | undefined)[];
}

export interface NotificationOptions {
  /** Default `https://inspect.pix4d.com`; the inspection link is `${inspectBaseUrl}/project/${projectId}/`. */
  readonly inspectBaseUrl?: string;
  /** Default 100. */
  readonly maxSkippedListed?: number;
}

type MessageAttribute = { readonly DataType: 'String'; readonly StringValue: string };

export interface BuiltNotification {
  readonly message: NotificationV1;
  readonly subject: string;
  readonly messageAttributes: Record<'type' | 'asset', MessageAttribute>;
  /** For `Publish` with `MessageStructure: 'json'`: `{ default: <message JSON>, email: <text body> }`. */
  readonly snsMessage: string;
}

/** The Pix4Dinspect link of a project, or null without a project id. */
export function inspectionUrl(
  projectId: number | null | undefined,
  inspectBaseUrl: string = DEFAULT_INSPECT_BASE_URL,
): string | null {
  if (projectId === null || projectId === undefined) return null;
  return `${inspectBaseUrl.replace(/\/+$/, '')}/project/${projectId}/`;
}

/**
 * Builds the version-1 message, its subject, attributes and the SNS `MessageStructure: 'json'` body. Throws when the
 * input contradicts the type (an error on a completed inspection, none on a failure) or when the built message does
 * not match `notificationSchema`.
 */
export function buildNotification(input: NotificationInput, options: NotificationOptions = {}): BuiltNotification {
  const maxSkippedListed = options.maxSkippedListed ?? DEFAULT_MAX_SKIPPED_LISTED;
  if (!Number.isInteger(maxSkippedListed) || maxSkippedListed < 0) {
    throw new RangeError(`maxSkippedListed must be a non-negative integer, got ${maxSkippedListed}`);
  }
  if (input.type === 'inspection.failed' && !input.error) {
    throw new Error('An inspection.failed notification needs an error (stage and message)');
  }
  if (input.type !== 'inspection.failed' && input.error) {
    throw new Error(`An ${input.type} notification takes no error from its input`);
  }
  const needsNotice = isNoticeType(input.type);
  if (needsNotice !== (input.notice !== undefined)) {
    throw new Error(
      needsNotice ? `An ${input.type} notification needs a notice` : `An ${input.type} notification takes no notice`,
    );
  }

  const clean = textCleaner(input.secrets ?? []);
  const skipped = input.images.skipped.map((image) => ({
    key: clean(image.key, MAX_CHARS.key) || UNKNOWN_NAME,
    reason: clean(image.reason, MAX_CHARS.reason) || 'unknown reason',
  }));
  const skippedTotal = Math.max(input.images.skippedTotal ?? skipped.length, skipped.length);

  const inspectBaseUrl = options.inspectBaseUrl ?? DEFAULT_INSPECT_BASE_URL;

  const compose = (listed: number) => {
    const message = assembleMessage(input, clean, inspectBaseUrl, skipped.slice(0, listed), skippedTotal);
    const snsMessage = JSON.stringify({ default: JSON.stringify(message), email: buildEmailBody(message) });
    return { message, snsMessage, fits: Buffer.byteLength(snsMessage, 'utf8') < MAX_SNS_MESSAGE_BYTES };
  };

  // The listed skipped images are the only part of unbounded size: list as many as fit (a binary search; the other
  // texts are capped, so the message without any skipped image always fits).
  let built = compose(Math.min(maxSkippedListed, skipped.length, affordableSkipped(skipped)));
  if (!built.fits) {
    let fitting = 0;
    let tooMany = built.message.images.skipped.length;
    while (tooMany - fitting > 1) {
      const middle = Math.floor((fitting + tooMany) / 2);
      if (compose(middle).fits) fitting = middle;
      else tooMany = middle;
    }
    built = compose(fitting);
    if (!built.fits) {
      throw new Error(`The notification does not fit in ${MAX_SNS_MESSAGE_BYTES} bytes even without skipped images`);
    }
  }

  const { message, snsMessage } = built;
  validate(message);
  const messageAttributes = {
    type: { DataType: 'String', StringValue: message.type },
    asset: { DataType: 'String', StringValue: message.asset.name },
  } as const;
  return { message, subject: buildSubject(message), messageAttributes, snsMessage };
}

type Cleaner = (text: string | null | undefined, maxChars: number) => string;

/**
 * Redacts first, then caps (ending with '…'), so that a cut never leaves the start of a secret behind. Keys and
 * prefixes keep their spaces; names are trimmed by the caller.
 */
function textCleaner(secrets: readonly (string | undefined)[]): Cleaner {
  return (text, maxChars) => truncate(redact(text ?? '', secrets), maxChars);
}

/** A name, or '(unknown)' when missing or blank. */
function nameOr(clean: Cleaner, text: string | null | undefined, maxChars = MAX_CHARS.name): string {
  return clean(text?.trim(), maxChars).trim() || UNKNOWN_NAME;
}

function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars - ELLIPSIS.length;
  // Never split a surrogate pair.
  if (cut > 0 && /[\uD800-\uDBFF]/.test(text.charAt(cut - 1))) cut -= 1;
  return text.slice(0, cut) + ELLIPSIS;
}

function toIsoTimestamp(value: Date | string, field: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`timings.${field} is not a date: ${String(value)}`);
  return date.toISOString();
}

/** The message, its keys in the order of DESIGN.md. */
function assembleMessage(
  input: NotificationInput,
  clean: Cleaner,
  inspectBaseUrl: string,
  skipped: SkippedImage[],
  skippedTotal: number,
): NotificationV1 {
  const inspection = input.inspection
    ? {
        id: input.inspection.id,
        projectId: input.inspection.projectId ?? null,
        name: nameOr(clean, input.inspection.name),
        status: input.inspection.status
          ? { id: input.inspection.status.id, name: clean(input.inspection.status.name, MAX_CHARS.name) }
          : null,
        url: inspectionUrl(input.inspection.projectId, inspectBaseUrl),
      }
    : null;

  const head = {
    version: 1 as const,
    type: input.type,
    batch: {
      bucket: clean(input.batch.bucket, MAX_CHARS.name),
      prefix: clean(input.batch.prefix, MAX_CHARS.key),
      id: clean(input.batch.id, MAX_CHARS.name),
    },
    asset: { id: input.asset.id, name: nameOr(clean, input.asset.name) },
    inspection,
    images: {
      found: input.images.found,
      copied: input.images.copied,
      registered: input.images.registered,
      skipped,
      skippedTotal,
    },
    flight: flightBlock(input.flight ?? null, clean),
    warnings: (input.warnings ?? [])
      .slice(0, MAX_WARNINGS_LISTED)
      .map((warning) => clean(warning, MAX_WARNING_CHARS))
      .filter((warning) => warning !== ''),
  };
  const timings = {
    closedAt: toIsoTimestamp(input.timings.closedAt, 'closedAt'),
    processingStartedAt:
      input.timings.processingStartedAt === null || input.timings.processingStartedAt === undefined
        ? null
        : toIsoTimestamp(input.timings.processingStartedAt, 'processingStartedAt'),
    finishedAt: toIsoTimestamp(input.timings.finishedAt, 'finishedAt'),
  };

  switch (input.type) {
    case 'inspection.completed':
      return { ...head, type: input.type, timings };
    case 'inspection.failed':
      return {
        ...head,
        type: input.type,
        error: {
          stage: clean(input.error?.stage?.trim(), MAX_CHARS.stage).trim() || 'unknown',
          message: clean(input.error?.message?.trim(), MAX_ERROR_MESSAGE_CHARS).trim() || 'no error message',
        },
        timings,
      };
    case 'inspection.timed_out': {
      const deadline = input.deadline === undefined ? '' : ` (${toIsoTimestamp(input.deadline, 'deadline')})`;
      const status = inspection?.status ? `"${inspection.status.name}" (id ${inspection.status.id})` : 'unknown';
      return {
        ...head,
        type: input.type,
        error: {
          stage: 'processing',
          message: clean(`The processing deadline${deadline} passed; last status: ${status}`, MAX_ERROR_MESSAGE_CHARS),
        },
        timings,
      };
    }
    case 'inspection.late_photos':
    case 'inspection.skipped':
      return {
        ...head,
        type: input.type,
        notice: { message: clean(input.notice?.trim(), MAX_ERROR_MESSAGE_CHARS).trim() || 'no details' },
        timings,
      };
    default:
      throw new Error(`Unknown notification type: ${String((input as { type: unknown }).type)}`);
  }
}

/** The flight block in the message's key order, camera names cleaned like every other text. */
function flightBlock(flight: NotificationInput['flight'], clean: Cleaner): FlightBlock | null {
  if (!flight) return null;
  return {
    capturedFrom: flight.capturedFrom === null ? null : toIsoWithZone(flight.capturedFrom),
    capturedTo: flight.capturedTo === null ? null : toIsoWithZone(flight.capturedTo),
    cameras: flight.cameras
      .slice(0, MAX_CAMERAS_LISTED)
      .map((camera) => clean(camera, MAX_CHARS.name))
      .filter((camera) => camera !== ''),
    geotagged: flight.geotagged,
    photos: flight.photos,
    centroid: flight.centroid ? { latitude: flight.centroid.latitude, longitude: flight.centroid.longitude } : null,
    altitude: flight.altitude ? { min: flight.altitude.min, max: flight.altitude.max } : null,
  };
}

/** A capture time as the photo gave it (its zone kept), or in UTC when it is not an ISO 8601 time with a zone. */
function toIsoWithZone(value: string): string {
  return isoTimestamp.safeParse(value).success ? value : toIsoTimestamp(value, 'flight');
}

/** How many skipped images fit in the byte budget, counted as they appear twice-encoded in `default`. */
function affordableSkipped(skipped: readonly SkippedImage[]): number {
  let bytes = 0;
  for (let index = 0; index < skipped.length; index += 1) {
    bytes += Buffer.byteLength(JSON.stringify(JSON.stringify(skipped[index])), 'utf8');
    if (bytes >= MAX_SNS_MESSAGE_BYTES) return index;
  }
  return skipped.length;
}

function validate(message: NotificationV1): void {
  const result = notificationSchema.safeParse(message);
  if (!result.success) {
    throw new Error(`The built notification does not match the version-1 schema: ${z.prettifyError(result.error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Subject and email body
// ---------------------------------------------------------------------------------------------------------------

/** The batch as a person named it: the folder, without the trailing slash. */
function batchLabel(message: NotificationV1): string {
  return message.batch.prefix.replace(/\/+$/, '') || message.asset.name;
}

function buildSubject(message: NotificationV1): string {
  const label = toAscii(batchLabel(message));
  switch (message.type) {
    case 'inspection.completed':
      return fitSubject('Inspection completed: ', label, ` (${message.images.registered} photos)`);
    case 'inspection.failed':
      return fitSubject(
        `Inspection failed at ${asciiTruncate(toAscii(message.error.stage), MAX_CHARS.subjectStage)}: `,
        label,
        '',
      );
    case 'inspection.timed_out':
      return fitSubject('Inspection timed out: ', label, '');
    case 'inspection.late_photos':
      return fitSubject('Late photos not processed: ', label, ` (${message.images.skippedTotal})`);
    case 'inspection.skipped':
      return fitSubject('Already processing, not started again: ', label, '');
  }
}

/** Keeps the head and the tail, shortening the label in between with '...'. */
function fitSubject(head: string, label: string, tail: string): string {
  return head + asciiTruncate(label, MAX_SUBJECT_CHARS - head.length - tail.length) + tail;
}

function asciiTruncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, Math.max(0, maxChars - 3)).trimEnd()}...`;
}

/** SNS subjects are printable ASCII: accents dropped, typographic punctuation mapped, anything else '?'. */
function toAscii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C-\u201F\u2033]/g, '"')
    .replace(/\u2026/g, '...')
    .replace(/\s+/gu, ' ')
    .replace(/[^\x20-\x7E]/gu, '?')
    .trim();
}

function outcomeLine(message: NotificationV1): string {
  switch (message.type) {
    case 'inspection.completed':
      return `Inspection completed for ${batchLabel(message)}.`;
    case 'inspection.failed':
      return `Inspection failed at stage ${message.error.stage} for ${batchLabel(message)}.`;
    case 'inspection.timed_out':
      return `Inspection timed out for ${batchLabel(message)}: processing did not finish before the deadline.`;
    case 'inspection.late_photos':
      return `Files arrived in ${batchLabel(message)} after it closed; they are not processed.`;
    case 'inspection.skipped':
      return `No second inspection of ${batchLabel(message)}: it is already being processed with the same photos.`;
  }
}

/** The photos' metadata and the pre-flight's warnings, in plain words. */
function flightLines(message: NotificationV1): string[] {
  const lines: string[] = [];
  const flight = message.flight;
  if (flight) {
    lines.push('');
    if (flight.capturedFrom !== null && flight.capturedTo !== null)
      lines.push(`Captured:   ${flight.capturedFrom} to ${flight.capturedTo}`);
    else lines.push('Captured:   the photos give no capture time');
    const where = flight.centroid
      ? `, centred on ${flight.centroid.latitude.toFixed(6)}, ${flight.centroid.longitude.toFixed(6)}`
      : '';
    lines.push(`Geotagged:  ${flight.geotagged} of ${flight.photos} photos${where}`);
    if (flight.altitude) lines.push(`Altitude:   ${flight.altitude.min} to ${flight.altitude.max} m above sea level`);
    const label = flight.cameras.length === 1 ? 'Camera:' : 'Cameras:';
    lines.push(
      `${label.padEnd(12)}${flight.cameras.length === 0 ? 'not named by the photos' : flight.cameras.join(', ')}`,
    );
  }
  if (message.warnings.length > 0) {
    lines.push('', 'Warnings:');
    for (const warning of message.warnings) lines.push(`  - ${warning}`);
  }
  return lines;
}

/** A few lines a person reads; plain text. */
function buildEmailBody(message: NotificationV1): string {
  const lines: string[] = [];
  const folder = `s3://${message.batch.bucket}/${message.batch.prefix}`;
  lines.push(outcomeLine(message), '');

  lines.push(`Asset:      ${message.asset.name}${message.asset.id === null ? '' : ` (id ${message.asset.id})`}`);
  if (message.inspection) {
    const project = message.inspection.projectId === null ? '' : `, project ${message.inspection.projectId}`;
    lines.push(`Flight:     ${message.inspection.name} (inspection ${message.inspection.id}${project})`);
    if (message.inspection.status) {
      lines.push(`Status:     ${message.inspection.status.name} (${message.inspection.status.id})`);
    }
    if (message.inspection.url) lines.push(`Link:       ${message.inspection.url}`);
  } else {
    lines.push('Flight:     no inspection was created');
  }
  lines.push(`Folder:     ${folder}`, `Batch id:   ${message.batch.id}`, '');

  const images = message.images;
  lines.push(
    `Photos: ${images.found} found, ${images.copied} copied, ${images.registered} registered, ` +
      `${images.skippedTotal} skipped`,
  );
  if (images.skippedTotal > 0) {
    const shown = images.skipped.slice(0, EMAIL_SKIPPED_LISTED);
    lines.push('Skipped:');
    for (const image of shown) lines.push(`  - ${image.key}: ${image.reason}`);
    const more = images.skippedTotal - shown.length;
    if (more > 0) lines.push(`  ... and ${more} more`);
  }

  lines.push(...flightLines(message));

  if ('error' in message) {
    lines.push('', `Error at stage ${message.error.stage}:`, message.error.message);
  }
  if ('notice' in message) lines.push('', message.notice.message);

  lines.push(
    '',
    `Batch closed:        ${message.timings.closedAt}`,
    `Processing started:  ${message.timings.processingStartedAt ?? 'not started'}`,
    `Finished:            ${message.timings.finishedAt}`,
  );
  return `${lines.join('\n')}\n`;
}
