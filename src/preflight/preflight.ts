import { z } from 'zod';
import { formatCount } from '../batch/limits';
import { withoutUndefined } from '../without-undefined';
import type { PhotoMetadata } from './photo-metadata';

/**
 * The pre-flight check of a flight, from its photos' own metadata, before an inspection is created: Pix4Dinspect
 * spends processing allowance on a flight it cannot process well all the same. A rule that refuses stops the run
 * with nothing created in Pix4Dinspect; a rule that warns lets it go on and says so in the notification. The
 * workflow's prepare step and the operator CLI's `upload` run this same code, on the photos' first bytes.
 */

/** The thresholds; each can be set as stack context and overridden per flight in manifest.json `preflight`. */
export interface PreflightThresholds {
  /** Refuse a flight with fewer photos. */
  readonly minPhotos: number;
  /** Refuse a flight with more photos; null: no limit. */
  readonly maxPhotos: number | null;
  /** Refuse a flight with a smaller share (0 to 1) of geotagged photos; 0 turns the rule off. */
  readonly minGeotaggedShare: number;
  /** Warn when the capture times span more hours. */
  readonly maxFlightHours: number;
  /** Warn when the positions spread wider (the diagonal of the box around them), in metres. */
  readonly maxSpreadMeters: number;
}

/**
 * Six photos: fewer give Pix4Dinspect too little overlap to reconstruct anything. No photo limit: PIX4Dcloud
 * documents 4,000 for its own projects, not confirmed for Inspect. No geotag share: cameras without GPS exist.
 */
export const DEFAULT_PREFLIGHT_THRESHOLDS: PreflightThresholds = {
  minPhotos: 6,
  maxPhotos: null,
  minGeotaggedShare: 0,
  maxFlightHours: 6,
  maxSpreadMeters: 2_000,
};

/** The ranges of each threshold, shared by manifest.json `preflight`, the stack's context and the environment. */
export const PREFLIGHT_THRESHOLD_SCHEMAS = {
  minPhotos: z.number().int('must be a whole number').min(1, 'must be at least 1'),
  maxPhotos: z.number().int('must be a whole number').min(1, 'must be at least 1').nullable(),
  minGeotaggedShare: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
  maxFlightHours: z.number().gt(0, 'must be above 0'),
  maxSpreadMeters: z.number().gt(0, 'must be above 0'),
} as const;

/** Some thresholds, unknown fields refused: manifest.json `preflight` and the `PREFLIGHT_THRESHOLDS` environment. */
export const preflightOverridesSchema = z
  .strictObject({
    minPhotos: PREFLIGHT_THRESHOLD_SCHEMAS.minPhotos.optional(),
    maxPhotos: PREFLIGHT_THRESHOLD_SCHEMAS.maxPhotos.optional(),
    minGeotaggedShare: PREFLIGHT_THRESHOLD_SCHEMAS.minGeotaggedShare.optional(),
    maxFlightHours: PREFLIGHT_THRESHOLD_SCHEMAS.maxFlightHours.optional(),
    maxSpreadMeters: PREFLIGHT_THRESHOLD_SCHEMAS.maxSpreadMeters.optional(),
  })
  .superRefine((thresholds, context) => {
    if (
      thresholds.minPhotos !== undefined &&
      thresholds.maxPhotos !== undefined &&
      thresholds.maxPhotos !== null &&
      thresholds.maxPhotos < thresholds.minPhotos
    ) {
      context.addIssue({
        code: 'custom',
        path: ['maxPhotos'],
        message: `must be at least minPhotos (${thresholds.minPhotos})`,
      });
    }
  });

export type PreflightOverrides = z.output<typeof preflightOverridesSchema>;

/** `base` with the overrides that are set. */
export function withOverrides(
  base: PreflightThresholds,
  overrides: PreflightOverrides | undefined,
): PreflightThresholds {
  return { ...base, ...withoutUndefined(overrides ?? {}) };
}

/** A photo as the check sees it: its name (key or relative path) and what its first bytes told. */
export interface FlightPhoto {
  readonly name: string;
  readonly metadata: PhotoMetadata;
}

/** The flight as its photos describe it; the notification's `flight` block. */
export interface FlightSummary {
  readonly photos: number;
  /** Photos with a GPS position. */
  readonly geotagged: number;
  /** Earliest and latest capture time (ISO 8601), null when no photo has one. */
  readonly capturedFrom: string | null;
  readonly capturedTo: string | null;
  /** "Make Model" of each camera, most photos first. */
  readonly cameras: readonly string[];
  /** Mean position of the geotagged photos, to 1e-7 degrees (about a centimetre). */
  readonly centroid: { readonly latitude: number; readonly longitude: number } | null;
  /** Metres above sea level, of the geotagged photos that give one. */
  readonly altitude: { readonly min: number; readonly max: number } | null;
}

export interface PreflightResult {
  readonly flight: FlightSummary;
  /** Plain sentences; the run goes on. */
  readonly warnings: readonly string[];
  /** Set when a rule refuses the flight: the rule, the figure, the threshold and up to 20 offending photos. */
  readonly refusal?: string;
}

/** Offending photos a refusal lists; a warning names a few. */
export const MAX_LISTED_PHOTOS = 20;
const WARNING_EXAMPLES = 3;

/** The flight's photos were refused by a pre-flight rule: nothing was created in Pix4Dinspect. */
export class PreflightError extends Error {
  // A fixed string: Step Functions Catch matches on it, and bundlers rename classes.
  override name = 'PreflightError';
}

/** Judges a flight by its photos' metadata against `thresholds`. */
export function assessFlight(photos: readonly FlightPhoto[], thresholds: PreflightThresholds): PreflightResult {
  const flight = summarizeFlight(photos);
  const refusal = refusalOf(photos, flight, thresholds);
  const warnings = warningsOf(photos, flight, thresholds);
  return refusal === undefined ? { flight, warnings } : { flight, warnings, refusal };
}

export function summarizeFlight(photos: readonly FlightPhoto[]): FlightSummary {
  const located = photos.filter(isGeotagged);
  const times = photos.flatMap(({ metadata }) => (metadata.capturedAt === undefined ? [] : [metadata.capturedAt]));
  const altitudes = located.flatMap(({ metadata }) => (metadata.altitude === undefined ? [] : [metadata.altitude]));
  return {
    photos: photos.length,
    geotagged: located.length,
    capturedFrom: earliest(times),
    capturedTo: latest(times),
    cameras: camerasOf(photos).map(([camera]) => camera),
    centroid: centroidOf(located.map(({ metadata }) => metadata as Located)),
    altitude:
      altitudes.length === 0 ? null : { min: round(Math.min(...altitudes), 3), max: round(Math.max(...altitudes), 3) },
  };
}

type Located = PhotoMetadata & { readonly latitude: number; readonly longitude: number };

function isGeotagged(photo: FlightPhoto): boolean {
  return photo.metadata.latitude !== undefined && photo.metadata.longitude !== undefined;
}

function refusalOf(
  photos: readonly FlightPhoto[],
  flight: FlightSummary,
  thresholds: PreflightThresholds,
): string | undefined {
  if (photos.length < thresholds.minPhotos) {
    return `${formatCount(photos.length)} photo${photos.length === 1 ? '' : 's'}, fewer than minPhotos ${formatCount(thresholds.minPhotos)}${listed(photos)}`;
  }
  if (thresholds.maxPhotos !== null && photos.length > thresholds.maxPhotos) {
    return `${formatCount(photos.length)} photos, more than maxPhotos ${formatCount(thresholds.maxPhotos)}; split the flight into batches of at most ${formatCount(thresholds.maxPhotos)}`;
  }
  const share = photos.length === 0 ? 0 : flight.geotagged / photos.length;
  if (share < thresholds.minGeotaggedShare) {
    const unlocated = photos.filter((photo) => !isGeotagged(photo));
    return (
      `${formatCount(flight.geotagged)} of ${formatCount(photos.length)} photos geotagged (${percent(share)}), ` +
      `below minGeotaggedShare ${thresholds.minGeotaggedShare} (${percent(thresholds.minGeotaggedShare)}); without GPS${listed(unlocated)}`
    );
  }
  return undefined;
}

function warningsOf(photos: readonly FlightPhoto[], flight: FlightSummary, thresholds: PreflightThresholds): string[] {
  const warnings: string[] = [];
  const unlocated = photos.filter((photo) => !isGeotagged(photo));
  if (unlocated.length > 0) {
    warnings.push(
      `${formatCount(unlocated.length)} of ${formatCount(photos.length)} photos have no GPS position${examples(unlocated)}`,
    );
  }
  const cameras = camerasOf(photos);
  if (cameras.length > 1) {
    warnings.push(
      `photos from ${cameras.length} cameras: ${cameras.map(([camera, count]) => `${camera} (${formatCount(count)})`).join(', ')}`,
    );
  }
  const zoneless = photos.filter(
    ({ metadata }) => metadata.capturedAt !== undefined && metadata.captureZoneKnown === false,
  );
  if (zoneless.length > 0) {
    warnings.push(
      `${formatCount(zoneless.length)} photos give their capture time without a time zone; it is taken as UTC${examples(zoneless)}`,
    );
  }
  if (flight.capturedFrom !== null && flight.capturedTo !== null) {
    const hours = (Date.parse(flight.capturedTo) - Date.parse(flight.capturedFrom)) / 3_600_000;
    if (hours > thresholds.maxFlightHours) {
      warnings.push(
        `capture times span ${round(hours, 1)} hours (${flight.capturedFrom} to ${flight.capturedTo}), more than maxFlightHours ${thresholds.maxFlightHours}: ` +
          'more than one flight in one folder?',
      );
    }
  }
  const spread = spreadMeters(photos.filter(isGeotagged).map(({ metadata }) => metadata as Located));
  if (spread > thresholds.maxSpreadMeters) {
    warnings.push(
      `positions spread over ${formatCount(Math.round(spread))} m, more than maxSpreadMeters ${formatCount(thresholds.maxSpreadMeters)}: photos of more than one site?`,
    );
  }
  return warnings;
}

/** `a, b and 3 more`: the first `limit` photos' names, and how many are left out. */
function named(photos: readonly FlightPhoto[], limit: number): string {
  const shown = photos.slice(0, limit).map((photo) => photo.name);
  const more = photos.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${formatCount(more)} more` : ''}`;
}

function listed(photos: readonly FlightPhoto[]): string {
  return photos.length === 0 ? '' : `: ${named(photos, MAX_LISTED_PHOTOS)}`;
}

function examples(photos: readonly FlightPhoto[]): string {
  return ` (${named(photos, WARNING_EXAMPLES)})`;
}

function percent(share: number): string {
  return `${round(share * 100, 1)}%`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Cameras by photo count (most first, then by name); photos that name no camera are left out. */
function camerasOf(photos: readonly FlightPhoto[]): [camera: string, photos: number][] {
  const counts = new Map<string, number>();
  for (const { metadata } of photos) {
    const camera = [metadata.make, metadata.model].filter((part) => part !== undefined).join(' ');
    if (camera !== '') counts.set(camera, (counts.get(camera) ?? 0) + 1);
  }
  return [...counts].sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0));
}

/** By instant, written as the photo wrote it (its zone kept). */
function earliest(times: readonly string[]): string | null {
  return times.reduce<string | null>(
    (best, time) => (best === null || Date.parse(time) < Date.parse(best) ? time : best),
    null,
  );
}

function latest(times: readonly string[]): string | null {
  return times.reduce<string | null>(
    (best, time) => (best === null || Date.parse(time) > Date.parse(best) ? time : best),
    null,
  );
}

/**
 * Longitudes taken around the first photo's, so that a flight over the antimeridian (179.9 and -179.9) is 20 m
 * wide, not 40,000 km.
 */
function unwrappedLongitudes(positions: readonly Located[]): number[] {
  const reference = positions[0]?.longitude ?? 0;
  return positions.map(({ longitude }) => reference + ((((longitude - reference + 540) % 360) + 360) % 360) - 180);
}

function centroidOf(positions: readonly Located[]): FlightSummary['centroid'] {
  if (positions.length === 0) return null;
  const latitude = positions.reduce((sum, position) => sum + position.latitude, 0) / positions.length;
  const longitudes = unwrappedLongitudes(positions);
  const longitude = longitudes.reduce((sum, value) => sum + value, 0) / positions.length;
  const normalized = ((((longitude + 180) % 360) + 360) % 360) - 180;
  return { latitude: round(latitude, 7), longitude: round(normalized, 7) };
}

const EARTH_RADIUS_METERS = 6_371_008.8;

/** The diagonal of the box around the positions, in metres (equirectangular: exact enough below a few hundred km). */
function spreadMeters(positions: readonly Located[]): number {
  if (positions.length < 2) return 0;
  const latitudes = positions.map(({ latitude }) => latitude);
  const longitudes = unwrappedLongitudes(positions);
  const north = Math.max(...latitudes);
  const south = Math.min(...latitudes);
  const middle = ((north + south) / 2) * (Math.PI / 180);
  const height = (north - south) * (Math.PI / 180) * EARTH_RADIUS_METERS;
  const width =
    (Math.max(...longitudes) - Math.min(...longitudes)) * (Math.PI / 180) * EARTH_RADIUS_METERS * Math.cos(middle);
  return Math.hypot(width, height);
}
