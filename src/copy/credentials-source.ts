import type { Pix4dInspectApi } from '../pix4d/client';
import type { TemporaryS3Credentials } from '../pix4d/temporary-s3-credentials';

/** Refresh at most this long before expiry... */
export const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** ...and at most this share of the credentials' lifetime, so that short-lived credentials are still used. */
export const REFRESH_MARGIN_SHARE = 0.25;

/** Where the copier gets the destination's temporary credentials from. */
export interface S3CredentialsSource {
  /** Credentials that are not yet within their refresh margin; fetched when the cached ones are. */
  current(): Promise<TemporaryS3Credentials>;
  /**
   * New credentials, whatever the cached ones look like (after the destination refused them). Pass the
   * credentials that were refused: when they have already been replaced since, the replacement is returned
   * without another request, so many copies refused at the same moment cause one refresh.
   */
  refresh(refused?: TemporaryS3Credentials): Promise<TemporaryS3Credentials>;
  /** True when these credentials are within their refresh margin or past their expiration. */
  isDue(credentials: TemporaryS3Credentials): boolean;
}

export interface InspectionCredentialsOptions {
  /**
   * How long before `expiration` (on the service's clock) credentials are replaced, in ms, or a function of the
   * credentials. @default min(5 minutes, 25% of the credentials' lifetime) — see `defaultRefreshMarginMs`
   */
  readonly refreshMarginMs?: number | ((credentials: TemporaryS3Credentials) => number);
  /** Local clock, as given to `TemporaryS3Credentials.remainingMs`. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * min(5 minutes, 25% of the lifetime `expiration - serverTime`): one-hour credentials are replaced five minutes
 * early, five-second ones 1.25 s early.
 */
export function defaultRefreshMarginMs(credentials: TemporaryS3Credentials): number {
  const lifetimeMs = credentials.expiration.getTime() - credentials.serverTime.getTime();
  return Math.max(0, Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs * REFRESH_MARGIN_SHARE));
}

/**
 * The temporary S3 credentials of one inspection, fetched from the API when first needed and again when they come
 * within their refresh margin. Expiry is judged on the service's clock (`remainingMs`), not the local one.
 * Concurrent callers share one request.
 */
export class InspectionCredentials implements S3CredentialsSource {
  private cached: TemporaryS3Credentials | undefined;
  private pending: Promise<TemporaryS3Credentials> | undefined;
  private fetchCount = 0;
  private readonly marginOf: (credentials: TemporaryS3Credentials) => number;
  private readonly now: () => Date;

  constructor(
    private readonly api: Pix4dInspectApi,
    readonly inspectionId: number,
    options: InspectionCredentialsOptions = {},
  ) {
    const margin = options.refreshMarginMs;
    this.marginOf = margin === undefined ? defaultRefreshMarginMs : typeof margin === 'number' ? () => margin : margin;
    this.now = options.now ?? (() => new Date());
  }

  /** Credentials fetched from the API so far. */
  get fetches(): number {
    return this.fetchCount;
  }

  /** The margin applied to these credentials, in ms. */
  refreshMarginFor(credentials: TemporaryS3Credentials): number {
    return this.marginOf(credentials);
  }

  isDue(credentials: TemporaryS3Credentials): boolean {
    return credentials.remainingMs(this.now()) <= this.marginOf(credentials);
  }

  current(): Promise<TemporaryS3Credentials> {
    if (this.pending) return this.pending;
    const cached = this.cached;
    if (cached && !this.isDue(cached)) return Promise.resolve(cached);
    return this.fetch();
  }

  refresh(refused?: TemporaryS3Credentials): Promise<TemporaryS3Credentials> {
    if (this.pending) return this.pending;
    const cached = this.cached;
    if (refused && cached && cached !== refused) return Promise.resolve(cached);
    return this.fetch();
  }

  private fetch(): Promise<TemporaryS3Credentials> {
    this.pending = this.api.getS3Credentials(this.inspectionId).then(
      (credentials) => {
        this.cached = credentials;
        this.fetchCount += 1;
        this.pending = undefined;
        return credentials;
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }
}
