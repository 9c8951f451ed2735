import { decodeEventKey, isManifest, locateBatch, misplacedManifestReason } from '../batch/keys';
import { executionName } from './execution-names';

/** One object-created notification, as S3 sends it (key still URL-encoded). */
export interface ObjectCreated {
  readonly bucket: string;
  /** URL-encoded, `+` for space. */
  readonly encodedKey: string;
  readonly eTag?: string;
  readonly eventTime: string;
}

export interface BatchRef {
  readonly bucket: string;
  /** The batch folder, ending with `/`. */
  readonly prefix: string;
  readonly assetName: string;
  readonly flightName: string;
}

/** Input of the inspection workflow. */
export interface InspectionRequest {
  readonly batch: BatchRef;
  readonly closedBy: 'manifest' | 'quiet-period';
  readonly closedAt: string;
  readonly manifest?: { readonly key: string; readonly eTag: string };
}

/** Input of the batch waiter: watches a folder until nothing new has arrived for the quiet period. */
export interface BatchWatch {
  readonly batch: BatchRef;
  readonly quietPeriodSeconds: number;
}

export type IngestDecision = (
  | { readonly action: 'start-inspection'; readonly executionName: string; readonly input: InspectionRequest }
  | { readonly action: 'watch-batch'; readonly executionName: string; readonly input: BatchWatch }
  | { readonly action: 'ignore'; readonly reason: string; readonly key: string }
) & {
  /** A file named like a manifest that is not read as one: why, for the logs. */
  readonly misplacedManifest?: string;
};

export interface IngestRules {
  /** Folder levels that make a batch: `<asset>/<flight>/` is 2. */
  readonly batchDepth: number;
  /** 0: only `manifest.json` closes a batch. */
  readonly quietPeriodSeconds: number;
}

/**
 * What one S3 event asks for. The decision is a pure function of the event, so that a repeated or reordered
 * delivery gives the same execution name, which Step Functions refuses to start twice:
 * - `manifest.json` closes its batch now: one inspection per manifest version (its ETag);
 * - any other object (with a quiet period) starts a waiter for its batch, one per quiet-period window; waiters of
 *   the same batch converge on one inspection named after the batch's settled content.
 */
export function decideForEvent(event: ObjectCreated, rules: IngestRules): IngestDecision {
  const key = decodeEventKey(event.encodedKey);
  const location = locateBatch(key, rules.batchDepth);
  if (!location)
    return { action: 'ignore', key, reason: `outside any batch (fewer than ${rules.batchDepth} folder levels)` };
  const batch: BatchRef = {
    bucket: event.bucket,
    prefix: location.prefix,
    assetName: location.assetName,
    flightName: location.flightName,
  };
  if (isManifest(location)) {
    const eTag = (event.eTag ?? '').replace(/"/g, '');
    return {
      action: 'start-inspection',
      executionName: executionName('m', batch.prefix, batch.bucket, eTag),
      input: { batch, closedBy: 'manifest', closedAt: event.eventTime, manifest: { key, eTag } },
    };
  }
  const misplaced = misplacedManifestReason(location.relativePath);
  const warning = misplaced ? { misplacedManifest: misplaced } : {};
  if (rules.quietPeriodSeconds <= 0)
    return { action: 'ignore', key, reason: 'waiting for manifest.json (no quiet period)', ...warning };
  const window = Math.floor(Date.parse(event.eventTime) / 1000 / rules.quietPeriodSeconds);
  return {
    action: 'watch-batch',
    executionName: executionName('w', batch.prefix, batch.bucket, String(window)),
    input: { batch, quietPeriodSeconds: rules.quietPeriodSeconds },
    ...warning,
  };
}
