import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Pix4dInspectApi } from '../pix4d/client';
import type { CreateAssetInput } from '../pix4d/schemas';

/**
 * The pipeline's own record of asset name -> Pix4Dinspect asset id, one object per name in the work bucket, so
 * that inspections of one tower over time land in one asset. Two flights of a new asset may close together: the
 * first to create the record with a conditional write (`If-None-Match: *`) creates the asset; the other waits for
 * the id to appear.
 */

export interface AssetRegistryOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** @default 'asset-registry/' */
  readonly prefix?: string;
  /** A claim older than this is taken over (its creator died before recording the id). @default 120000 */
  readonly staleClaimMs?: number;
  /** How long to wait for another creator's id. @default 60000 */
  readonly waitForOtherMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ResolvedAsset {
  readonly id: number;
  readonly name: string;
  readonly source: 'manifest' | 'registry' | 'created';
}

type RegistryEntry =
  | { readonly state: 'creating'; readonly name: string; readonly claimedAt: number }
  | { readonly state: 'created'; readonly name: string; readonly id: number; readonly createdAt: number };

/** Another run is creating the same asset and did not finish in time; a retry will find its id. */
export class AssetRegistryBusyError extends Error {
  override name = 'AssetRegistryBusyError';
}

export class AssetRegistry {
  private readonly prefix: string;
  private readonly staleClaimMs: number;
  private readonly waitForOtherMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AssetRegistryOptions) {
    this.prefix = options.prefix ?? 'asset-registry/';
    this.staleClaimMs = options.staleClaimMs ?? 120_000;
    this.waitForOtherMs = options.waitForOtherMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The id recorded for `input.name`, creating the asset through `api` when there is none. */
  async resolve(input: CreateAssetInput, api: Pix4dInspectApi): Promise<ResolvedAsset> {
    const key = this.keyFor(input.name);
    const deadline = this.now() + this.waitForOtherMs;
    for (let wait = 200; ; wait = Math.min(wait * 2, 5_000)) {
      const current = await this.read(key);
      if (current?.entry.state === 'created') return { id: current.entry.id, name: input.name, source: 'registry' };
      const claimable = !current || this.now() - current.entry.claimedAt > this.staleClaimMs;
      if (claimable && (await this.claim(key, input.name, current?.eTag))) {
        const asset = await api.createAsset(input).catch(async (error: unknown) => {
          // Leave a claim that is already stale, so the next attempt takes over at once.
          await this.write(key, { state: 'creating', name: input.name, claimedAt: 0 });
          throw error;
        });
        await this.write(key, { state: 'created', name: input.name, id: asset.id, createdAt: this.now() });
        return { id: asset.id, name: input.name, source: 'created' };
      }
      if (this.now() + wait > deadline) {
        throw new AssetRegistryBusyError(`Asset "${input.name}" is being created by another run; try again`);
      }
      await this.sleep(wait);
    }
  }

  private keyFor(name: string): string {
    // Names may hold any character; the hash keeps keys short and safe, the entry keeps the name.
    return `${this.prefix}${createHash('sha256').update(name).digest('hex')}.json`;
  }

  private async read(key: string): Promise<{ entry: RegistryEntry; eTag: string } | undefined> {
    try {
      const answer = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { entry: JSON.parse(await answer.Body!.transformToString()) as RegistryEntry, eTag: answer.ETag ?? '' };
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** True when this run now owns the creation: a new record, or a stale claim replaced (`If-Match`). */
  private async claim(key: string, name: string, staleETag: string | undefined): Promise<boolean> {
    try {
      await this.options.s3.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: JSON.stringify({ state: 'creating', name, claimedAt: this.now() } satisfies RegistryEntry),
          ContentType: 'application/json',
          ...(staleETag ? { IfMatch: staleETag } : { IfNoneMatch: '*' }),
        }),
      );
      return true;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') return false;
      throw error;
    }
  }

  private async write(key: string, entry: RegistryEntry): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: JSON.stringify(entry), ContentType: 'application/json' }),
    );
  }
}
