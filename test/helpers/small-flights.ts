import { DEFAULT_PREFLIGHT_THRESHOLDS, type PreflightThresholds } from '../../src/preflight/preflight';

/**
 * The pre-flight's thresholds for tests of the plumbing, which drop flights of a few photos: a real flight needs 6
 * (`minPhotos`), and the pre-flight's own tests keep that. Everything else is the product's default.
 */
export const SMALL_FLIGHT_PREFLIGHT: PreflightThresholds = { ...DEFAULT_PREFLIGHT_THRESHOLDS, minPhotos: 1 };
