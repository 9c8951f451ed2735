import { createHash } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { isConditionalWriteConflict } from '../aws-errors';
import { JsonObjects } from '../json-objects';
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
  /**
   * A claim older than this is taken over: its creator died before recording the id. Longer than a prepare step
   * can live (5 minute Lambda timeout), so a live creator never loses its claim. @default 360000
   */
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
  | {
      readonly state: 'creating';
      readonly name: string;
      readonly claimedAt: number;
      /** When the first run that claimed the name asked for the asset: a run that takes the claim over looks first. */
      readonly attemptedAt?: number;
    }
  | { readonly state: 'created'; readonly name: string; readonly id: number; readonly createdAt: number };

/** Where the registry keeps one record per asset name; never expired. */
export const ASSET_REGISTRY_PREFIX = 'asset-registry/';

/** Another run is creating the same asset and did not finish in time; a retry will find its id. */
export class AssetRegistryBusyError extends Error {
  override name = 'AssetRegistryBusyError';
}

export class AssetRegistry extends JsonObjects {
  private readonly prefix: string;
  private readonly staleClaimMs: number;
  private readonly waitForOtherMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: AssetRegistryOptions) {
    super(options.s3, options.bucket);
    this.prefix = options.prefix ?? ASSET_REGISTRY_PREFIX;
    this.staleClaimMs = options.staleClaimMs ?? 360_000;
    this.waitForOtherMs = options.waitForOtherMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => sleepFor(ms));
  }

  /** The id recorded for `input.name`, creating the asset through `api` when there is none. */
  async resolve(input: CreateAssetInput, api: Pix4dInspectApi): Promise<ResolvedAsset> {
    const key = this.keyFor(input.name);
    const deadline = this.now() + this.waitForOtherMs;
    for (let wait = 200; ; wait = Math.min(wait * 2, 5_000)) {
      const current = await this.read(key);
      if (current?.entry.state === 'created') return { id: current.entry.id, name: input.name, source: 'registry' };
      const claimable = !current || this.now() - current.entry.claimedAt > this.staleClaimMs;
      // A claim left behind means an earlier run asked for the asset: its request may have created it.
      const earlierAttemptAt = current ? (current.entry.attemptedAt ?? current.entry.claimedAt) : undefined;
      const claim = claimable ? await this.claim(key, input.name, current?.eTag, earlierAttemptAt) : undefined;
      if (claim !== undefined) return this.create(key, claim, input, api, earlierAttemptAt);
      if (this.now() + wait > deadline) {
        throw new AssetRegistryBusyError(`Asset "${input.name}" is being created by another run; try again`);
      }
      await this.sleep(wait);
    }
  }

  /**
   * Creates the asset under this run's claim. Both outcomes are recorded only while the claim is still this run's
   * (`If-Match`), so a run that took over a claim it thought stale keeps what it recorded.
   */
  private async create(
    key: string,
    claimETag: string,
    input: CreateAssetInput,
    api: Pix4dInspectApi,
    earlierAttemptAt: number | undefined,
  ): Promise<ResolvedAsset> {
    const attemptedAt = earlierAttemptAt ?? this.now();
    let id: number;
    try {
      id = (await api.createAsset(input, earlierAttemptAt === undefined ? {} : { earlierAttemptAt })).id;
    } catch (error) {
      // A claim that is already stale lets the next attempt take over at once, and look for what this one made.
      await this.write(key, { state: 'creating', name: input.name, claimedAt: 0, attemptedAt }, claimETag).catch(
        ignorePreconditionFailed,
      );
      throw error;
    }
    const recorded = await this.write(
      key,
      { state: 'created', name: input.name, id, createdAt: this.now() },
      claimETag,
    ).then(
      () => true,
      (error: unknown) => ignorePreconditionFailed(error).then(() => false),
    );
    if (!recorded) {
      const winner = await this.read(key);
      if (winner?.entry.state === 'created') return { id: winner.entry.id, name: input.name, source: 'registry' };
    }
    return { id, name: input.name, source: 'created' };
  }

  private keyFor(name: string): string {
    // Names may hold any character; the hash keeps keys short and safe, the entry keeps the name.
    return `${this.prefix}${createHash('sha256').update(name).digest('hex')}.json`;
  }

  private async read(key: string): Promise<{ entry: RegistryEntry; eTag: string } | undefined> {
    const found = await this.getJson(key);
    return found && { entry: found.value as RegistryEntry, eTag: found.etag };
  }

  /** The ETag of this run's claim when it now owns the creation: a new record, or a stale claim replaced. */
  private async claim(
    key: string,
    name: string,
    staleETag: string | undefined,
    attemptedAt: number | undefined,
  ): Promise<string | undefined> {
    const entry: RegistryEntry = {
      state: 'creating',
      name,
      claimedAt: this.now(),
      ...(attemptedAt === undefined ? {} : { attemptedAt }),
    };
    try {
      return await this.putJson(key, entry, staleETag ? { ifMatch: staleETag } : { ifNoneMatch: '*' });
    } catch (error) {
      await ignorePreconditionFailed(error);
      return undefined;
    }
  }

  private async write(key: string, entry: RegistryEntry, ifMatch: string): Promise<void> {
    await this.putJson(key, entry, { ifMatch });
  }
}

/** A conditional write that lost to another run is expected; anything else is not. */
async function ignorePreconditionFailed(error: unknown): Promise<void> {
  if (!isConditionalWriteConflict(error)) throw error;
}
