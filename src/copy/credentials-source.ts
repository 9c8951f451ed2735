import type { Pix4dInspectApi } from '../pix4d/client';
import type { TemporaryS3Credentials } from '../pix4d/temporary-s3-credentials';

/** Refresh at most this long before expiry... */
export const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** ...and at most this share of the credentials' lifetime, so that short-lived credentials are still used. */
export const REFRESH_MARGIN_SHARE = 0.25;
/**
 * How long credentials that were already expired when the service sent them are used, once asking again gave no
 * better ones. STS issues no session shorter than 15 minutes, so credentials minted for the answer last at least
 * that long whatever its `expiration` says; credentials that do not, S3 refuses, and its refusal is what counts.
 */
export const UNVERIFIED_USE_MS = 15 * 60_000;

/** Where the copier gets the destination's temporary credentials from. */
export interface S3CredentialsSource {
  /**
   * The credentials to use now: the cached ones until they are due, new ones after. Concurrent callers share one
   * request.
   */
  current(): Promise<TemporaryS3Credentials>;
  /**
   * New credentials after the destination refused `refused` (absent: the cached ones). When they have already been
   * replaced since, the replacement is returned without another request, so many copies refused at the same moment
   * cause one refresh. Credentials that were themselves fetched after a refusal are kept until they are due, so that
   * a destination refusing every credentials causes one request per refresh window, not one per refused request.
   */
  refresh(refused?: TemporaryS3Credentials): Promise<TemporaryS3Credentials>;
  /**
   * True when these credentials are within their refresh margin or past their expiration, by the service's clock:
   * then a refusal that names no reason may mean that they have expired.
   */
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
  return Math.max(0, Math.min(MAX_REFRESH_MARGIN_MS, credentials.lifetimeMs * REFRESH_MARGIN_SHARE));
}

interface Held {
  readonly credentials: TemporaryS3Credentials;
  /** Local epoch ms until which credentials that arrived due are used; undefined: until `isDue`. */
  readonly usableUntil: number | undefined;
  /** Fetched because the destination refused the credentials before them. */
  readonly afterRefusal: boolean;
}

/**
 * The temporary S3 credentials of one inspection, fetched from the API when first needed and again when they come
 * within their refresh margin. Expiry is judged on the service's clock (`remainingMs`), not the local one.
 *
 * Credentials that arrive due (already expired, or with a lifetime shorter than their margin, by the service's own
 * clock) may be a stale answer: they are asked for once more at once. When the replacement arrives due as well, the
 * stated expiration is not believed: it is used until its expiration if that is still ahead, for
 * `UNVERIFIED_USE_MS` otherwise, and S3 judges. Whatever the number of concurrent callers, one request is in flight
 * at a time, and each refresh window (the time until the held credentials are due) sees at most one request when
 * it ends and one after a refusal by the destination.
 */
export class InspectionCredentials implements S3CredentialsSource {
  private held: Held | undefined;
  private pending: Promise<TemporaryS3Credentials> | undefined;
  /** Whether the last credentials taken had arrived due: credentials arriving due again are not asked for twice. */
  private lastArrivedDue = false;
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
    const held = this.held;
    if (held && !this.needsReplacement(held)) return Promise.resolve(held.credentials);
    return this.acquire(false);
  }

  refresh(refused?: TemporaryS3Credentials): Promise<TemporaryS3Credentials> {
    if (this.pending) return this.pending;
    const held = this.held;
    if (held && refused && held.credentials !== refused) return Promise.resolve(held.credentials);
    // What stops a refresh storm: when even fresh credentials are refused, asking again at once would bring no
    // better ones; the copier's attempts then fail with the destination's answer instead.
    if (held?.afterRefusal && !this.needsReplacement(held)) return Promise.resolve(held.credentials);
    return this.acquire(true);
  }

  private needsReplacement(held: Held): boolean {
    return held.usableUntil === undefined ? this.isDue(held.credentials) : this.now().getTime() >= held.usableUntil;
  }

  private arrivedDue(credentials: TemporaryS3Credentials): boolean {
    return credentials.lifetimeMs <= this.marginOf(credentials);
  }

  private acquire(afterRefusal: boolean): Promise<TemporaryS3Credentials> {
    const acquisition = (async () => {
      let credentials = await this.fetchOnce();
      if (this.arrivedDue(credentials) && !this.lastArrivedDue) {
        // The second answer is a better guess, not a need: should asking fail, the first one goes to S3 to judge.
        credentials = await this.fetchOnce().catch(() => credentials);
      }
      const arrivedDue = this.arrivedDue(credentials);
      const lifetimeMs = credentials.lifetimeMs;
      this.lastArrivedDue = arrivedDue;
      this.held = {
        credentials,
        usableUntil: arrivedDue ? this.now().getTime() + (lifetimeMs > 0 ? lifetimeMs : UNVERIFIED_USE_MS) : undefined,
        afterRefusal,
      };
      return credentials;
    })();
    const pending = acquisition.finally(() => {
      if (this.pending === pending) this.pending = undefined;
    });
    this.pending = pending;
    return pending;
  }

  private async fetchOnce(): Promise<TemporaryS3Credentials> {
    const credentials = await this.api.getS3Credentials(this.inspectionId);
    this.fetchCount += 1;
    return credentials;
  }
}
