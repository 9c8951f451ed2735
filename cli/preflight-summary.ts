import { formatCount } from '../src/batch/limits';
import {
  assessFlight,
  DEFAULT_PREFLIGHT_THRESHOLDS,
  type FlightPhoto,
  type FlightSummary,
  type PreflightOverrides,
  type PreflightThresholds,
  withOverrides,
} from '../src/preflight/preflight';
import { formatDuration } from './progress';
import type { Targets } from './targets';

/**
 * `upload`'s pre-flight: the workflow's own check (src/preflight/preflight.ts) on the local photos it would upload,
 * with the thresholds the workflow will use as far as the CLI can know them (the stack's PreflightThresholds output
 * with --stack, else the defaults) under the manifest's `preflight`, exactly as the workflow puts them together.
 * A flight the pipeline would refuse is refused before the first byte goes up, unless --force.
 */

/** Where the thresholds under the manifest's come from. */
export type ThresholdsBase = 'stack' | 'defaults';

/** `upload --json`: the pre-flight line (with --dry-run, the `preflight` field of the one object, without `event`). */
export interface PreflightReport {
  readonly event: 'preflight';
  /** False when the workflow does not run the check either: a video batch, or no photo it would process. */
  readonly assessed: boolean;
  /** Why not assessed. */
  readonly reason?: string;
  /** The thresholds checked against: the base's, with the manifest's over them. */
  readonly thresholds: PreflightThresholds;
  readonly thresholdsFrom: ThresholdsBase;
  /** For people: which stack, or why the defaults. */
  readonly thresholdsSource: string;
  /** manifest.json `preflight` as written (null when it has none). */
  readonly manifestPreflight: PreflightOverrides | null;
  readonly flight: FlightSummary | null;
  readonly warnings: readonly string[];
  /** The rule, the figure, the threshold and up to 20 photos, as the workflow would say it; null when it passes. */
  readonly refusal: string | null;
  /** A refusal overridden by --force: the flight is uploaded anyway. */
  readonly forced: boolean;
}

export interface PreflightInput {
  /** The photos the workflow would assess (accepted and uploaded), named by their path in the flight folder. */
  readonly photos: readonly FlightPhoto[];
  /** Set when the check does not apply. */
  readonly notAssessed?: string | undefined;
  readonly targets: Pick<Targets, 'source' | 'preflightThresholds' | 'preflightThresholdsProblem'>;
  readonly manifestPreflight: PreflightOverrides | undefined;
  readonly force: boolean;
}

/** The base thresholds and, for people, where they come from. */
export function thresholdsBase(targets: PreflightInput['targets']): {
  thresholds: PreflightThresholds;
  from: ThresholdsBase;
  source: string;
} {
  if (targets.preflightThresholds !== undefined) {
    return {
      thresholds: targets.preflightThresholds,
      from: 'stack',
      source: `${targets.source}, its PreflightThresholds output`,
    };
  }
  const why =
    targets.preflightThresholdsProblem !== undefined
      ? `${targets.source}: ${targets.preflightThresholdsProblem}`
      : 'no --stack to read the deployed ones from';
  return { thresholds: DEFAULT_PREFLIGHT_THRESHOLDS, from: 'defaults', source: `the defaults (${why})` };
}

export function preflightReport(input: PreflightInput): PreflightReport {
  const base = thresholdsBase(input.targets);
  const thresholds = withOverrides(base.thresholds, input.manifestPreflight);
  const common = {
    thresholds,
    thresholdsFrom: base.from,
    thresholdsSource: base.source,
    manifestPreflight: input.manifestPreflight ?? null,
  };
  if (input.notAssessed !== undefined) {
    return {
      event: 'preflight',
      assessed: false,
      reason: input.notAssessed,
      ...common,
      flight: null,
      warnings: [],
      refusal: null,
      forced: false,
    };
  }
  const result = assessFlight(input.photos, thresholds);
  const refusal = result.refusal ?? null;
  return {
    event: 'preflight',
    assessed: true,
    ...common,
    flight: result.flight,
    warnings: result.warnings,
    refusal,
    forced: refusal !== null && input.force,
  };
}

function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** `minPhotos 6, maxPhotos none, ...`: the thresholds that are set. */
function thresholdsText(thresholds: PreflightThresholds | PreflightOverrides): string {
  return (
    Object.entries(thresholds)
      .filter(([, value]) => value !== undefined)
      // Whole numbers grouped (2,000); shares as written (toLocaleString would round 0.9999 to 1).
      .map(
        ([name, value]) =>
          `${name} ${value === null ? 'none' : Number.isInteger(value) ? formatCount(value as number) : String(value)}`,
      )
      .join(', ')
  );
}

/** The pre-flight for people: what the photos say, the thresholds and where they come from, the verdict. */
export function preflightLines(report: PreflightReport): string[] {
  const overrides =
    report.manifestPreflight === null
      ? ''
      : `, under manifest.json "preflight" (${thresholdsText(report.manifestPreflight)})`;
  if (!report.assessed || report.flight === null)
    return [`Pre-flight: not run: ${report.reason ?? 'nothing to assess'}.`];
  const { flight } = report;
  const share = flight.photos === 0 ? 0 : Math.round((flight.geotagged / flight.photos) * 1000) / 10;
  const span =
    flight.capturedFrom !== null && flight.capturedTo !== null
      ? `${flight.capturedFrom} to ${flight.capturedTo} (${formatDuration((Date.parse(flight.capturedTo) - Date.parse(flight.capturedFrom)) / 1000)})`
      : 'unknown: no photo gives a capture time';
  const verdict =
    report.refusal !== null
      ? report.forced
        ? 'refused, but --force uploads it anyway'
        : 'refused: nothing is uploaded'
      : report.warnings.length > 0
        ? `passes, with ${plural(report.warnings.length, 'warning')}`
        : 'passes';
  return [
    `Pre-flight of ${plural(flight.photos, 'photo')}; thresholds: ${report.thresholdsSource}${overrides}:`,
    `  geotagged   ${formatCount(flight.geotagged)} of ${formatCount(flight.photos)} (${share}%)`,
    `  captured    ${span}`,
    `  cameras     ${flight.cameras.length > 0 ? flight.cameras.join(', ') : 'none named in the photos'}`,
    `  centroid    ${flight.centroid === null ? 'none: no photo is geotagged' : `${flight.centroid.latitude}, ${flight.centroid.longitude}`}`,
    `  altitude    ${flight.altitude === null ? 'none given' : `${flight.altitude.min} to ${flight.altitude.max} m`}`,
    `  thresholds  ${thresholdsText(report.thresholds)}`,
    `  verdict     ${verdict}`,
  ];
}

/**
 * Where to set `preflight`, for the refusal's way forward: the manifest file used, or (built from the flags) where
 * one would be read.
 */
export type ManifestOrigin =
  | { readonly source: 'flags'; readonly folderManifest: string }
  | { readonly source: 'file' | 'folder'; readonly path: string };

/** The refusal as one line: the workflow's words, then how to go on. */
export function refusalLine(refusal: string, manifest: ManifestOrigin): string {
  const where =
    manifest.source === 'flags' ? `a manifest.json (${manifest.folderManifest}, or --manifest FILE)` : manifest.path;
  return (
    `upload: the pre-flight refuses the flight, as the pipeline would: ${refusal}. ` +
    `Fix the flight, set "preflight" thresholds for it in ${where}, or add --force to upload it anyway`
  );
}
