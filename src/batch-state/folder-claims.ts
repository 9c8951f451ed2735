import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { RUNS_PREFIX, RunStore } from '../workflow/run-store';

/**
 * Where a folder's claim is kept: under `runs/`, so it expires with the runs' data (`runRetentionDays`) and the
 * functions that read and write run data may use it. No batch id starts with `folder-claims`.
 */
export const FOLDER_CLAIMS_PREFIX = `${RUNS_PREFIX}folder-claims/`;

export interface ClaimedObject {
  readonly key: string;
  readonly etag: string;
}

/** Which run closed a batch folder, and with which objects. */
export interface FolderClaim {
  readonly executionName: string;
  readonly closedBy: 'manifest' | 'quiet-period';
  readonly closedAt: string;
  readonly objects: readonly ClaimedObject[];
  /** The manifest run that was skipped because it named the same photos as this quiet-period run. */
  readonly manifestSkipped?: string;
  /** When the claiming run ended (its outcome published); a later manifest is then a deliberate re-run. */
  readonly endedAt?: string;
}

/**
 * One claim per batch folder (bucket and prefix), created and replaced with conditional writes, so that two runs
 * closing the same folder at once cannot both believe they own it.
 */
export class FolderClaims {
  private readonly store: RunStore;

  constructor(s3: S3Client, bucket: string) {
    this.store = new RunStore(s3, bucket);
  }

  async read(bucket: string, prefix: string): Promise<{ claim: FolderClaim; etag: string } | undefined> {
    const found = await this.store.findVersioned<FolderClaim>(FOLDER_CLAIMS_PREFIX, claimName(bucket, prefix));
    return found && { claim: found.value, etag: found.etag };
  }

  /** Writes the claim if none exists (`etag` undefined) or if it is still the one read with `etag`; false if not. */
  async write(bucket: string, prefix: string, claim: FolderClaim, etag?: string): Promise<boolean> {
    return this.store.writeIf(FOLDER_CLAIMS_PREFIX, claimName(bucket, prefix), claim, etag);
  }
}

function claimName(bucket: string, prefix: string): string {
  return `${createHash('sha256').update(`${bucket}/${prefix}`).digest('hex')}.json`;
}
