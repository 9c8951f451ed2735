import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { RUNS_PREFIX } from '../workflow/run-store';

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
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  static keyFor(bucket: string, prefix: string): string {
    return `${FOLDER_CLAIMS_PREFIX}${createHash('sha256').update(`${bucket}/${prefix}`).digest('hex')}.json`;
  }

  async read(bucket: string, prefix: string): Promise<{ claim: FolderClaim; etag: string } | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: FolderClaims.keyFor(bucket, prefix) }));
      return { claim: JSON.parse(await answer.Body!.transformToString()) as FolderClaim, etag: answer.ETag ?? '' };
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** Writes the claim if none exists (`etag` undefined) or if it is still the one read with `etag`; false if not. */
  async write(bucket: string, prefix: string, claim: FolderClaim, etag?: string): Promise<boolean> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: FolderClaims.keyFor(bucket, prefix),
          Body: JSON.stringify(claim),
          ContentType: 'application/json',
          ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
        }),
      );
      return true;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') return false;
      throw error;
    }
  }
}
