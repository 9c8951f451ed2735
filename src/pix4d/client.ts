import type { z } from 'zod';
import { version as PIPELINE_VERSION } from '../../package.json';
import { type StatusClass, statusClassOf } from '../observability/pipeline-metrics';
import { redact } from '../redact';
import { systemTimers, type Timers } from '../timers';
import { type BackoffPolicy, DEFAULT_BACKOFF, fullJitterDelay, parseRetryAfter } from './backoff';
import {
  ImageRegistrationMismatchError,
  Pix4dApiError,
  Pix4dAuthenticationError,
  Pix4dBadRequestError,
  Pix4dClientError,
  Pix4dCreateUnconfirmedError,
  type Pix4dErrorDetails,
  Pix4dForbiddenError,
  Pix4dNetworkError,
  Pix4dNotFoundError,
  Pix4dProcessingUnconfirmedError,
  Pix4dRedirectError,
  Pix4dServerError,
  Pix4dThrottledError,
  Pix4dTimeoutError,
  Pix4dUnauthorizedError,
  Pix4dUnexpectedResponseError,
} from './errors';
import {
  type Asset,
  assetListSchema,
  assetSchema,
  type CreateAssetInput,
  type CreateInspectionInput,
  type Inspection,
  type InspectionStatus,
  inspectionListSchema,
  inspectionSchema,
  type ListPage,
  registerImagesResponseSchema,
  s3CredentialsResponseSchema,
  tokenResponseSchema,
} from './schemas';
import { TemporaryS3Credentials } from './temporary-s3-credentials';

export const DEFAULT_AUTH_URL = 'https://inspect.pix4d.com';
export const DEFAULT_API_URL = 'https://api.inspect.pix4d.com';
/** The service takes fewer than 500 keys per `register_images` call. */
export const MAX_KEYS_PER_REGISTRATION = 499;
/** Sent with every request, so that the service's operators can tell the pipeline's traffic and its version. */
export const USER_AGENT = `inspect-pipeline/${PIPELINE_VERSION}`;

/** What the pipeline asks of Pix4Dinspect. The HTTP client implements it; so could any other transport. */
export interface Pix4dInspectApi {
  createAsset(input: CreateAssetInput, options?: CreateOptions): Promise<Asset>;
  createInspection(input: CreateInspectionInput, options?: CreateOptions): Promise<Inspection>;
  getInspection(inspectionId: number): Promise<Inspection>;
  getS3Credentials(inspectionId: number): Promise<TemporaryS3Credentials>;
  registerImages(inspectionId: number, imageKeys: readonly string[]): Promise<ImageRegistration>;
  startProcessing(inspectionId: number, options?: StartProcessingOptions): Promise<ProcessingStart>;
}

/**
 * A create is never sent twice blindly: after a failure that may have reached the service (a lost answer), the
 * client looks for what the request created before it sends it again.
 */
export interface CreateOptions {
  /**
   * When an earlier attempt of the same create began (epoch ms), if one may have taken effect: a retried step, a
   * claim taken over. The client looks for what it created before creating. @default no earlier attempt
   */
  readonly earlierAttemptAt?: number;
}

export interface StartProcessingOptions {
  /**
   * The status read before an earlier attempt to start (kept by the caller across retries). When the inspection's
   * status differs from it, processing has started already and no request is sent.
   * @default the status read now
   */
  readonly statusBefore?: InspectionStatus;
  /**
   * When an earlier attempt to start began (epoch ms), if one may have sent `process/`: a retried step. Its request
   * may still be in flight, so the client watches the status for `processSettleMs` before it sends one.
   * @default no earlier attempt
   */
  readonly earlierAttemptAt?: number;
}

export interface Pix4dAccount {
  readonly username: string;
  readonly password: string;
  readonly apiKey: string;
  /** Sent as `pix4d-organization-uuid`; organization accounts need it. */
  readonly organizationUuid?: string;
}

export interface Pix4dLogger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/**
 * Told of the requests the client sends, for metrics and tracing. Endpoints are named without ids or queries
 * (`GET /v1/inspections/{id}/`); nothing it is given carries a credential, a token or a body.
 */
export interface Pix4dCallObserver {
  /** One request sent, and what answered it. */
  attempted?(endpoint: string, answer: StatusClass): void;
  /** The request is about to be sent again (a transient failure, a refused token). */
  retrying?(endpoint: string): void;
  /** The call ended without a successful answer, after its retries: what answered last. */
  failed?(endpoint: string, answer: StatusClass): void;
  /** Runs one call, all its attempts: a tracer opens a subsegment named after the endpoint around it. */
  around?<T>(endpoint: string, call: () => Promise<T>): Promise<T>;
}

export interface Pix4dClientOptions {
  readonly account: Pix4dAccount;
  /** Host of `/v1/auth/token/`. @default https://inspect.pix4d.com */
  readonly authUrl?: string;
  /** Host of every other endpoint. @default https://api.inspect.pix4d.com */
  readonly apiUrl?: string;
  /** Time allowed for one request, answer body included; a `withDeadline` view cuts it to the time left. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** @default DEFAULT_BACKOFF */
  readonly backoff?: BackoffPolicy;
  readonly logger?: Pix4dLogger;
  /** @default no observer */
  readonly observer?: Pix4dCallObserver;
  /**
   * The clock and timers of every measure and wait of the client: retry waits, request timeouts, deadlines.
   * @default systemTimers
   */
  readonly timers?: Timers;
  /** Overrides `timers.now`. @default timers.now */
  readonly now?: () => number;
  /** Overrides `timers.sleep`. @default timers.sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * The least wait after an ambiguous create before looking for what it made: a gateway may give up while the
   * service is still creating. @default 5000
   */
  readonly createSettleMs?: number;
  /**
   * How long a `process/` that timed out or lost its connection may still start processing at the service (a
   * service does not notice that the caller gave up). Until then the client reads the status instead of sending
   * again. @default 30000
   */
  readonly processSettleMs?: number;
}

export interface ImageRegistration {
  readonly registered: number;
  readonly calls: number;
}

export interface ProcessingStart {
  /** Status read after the start was confirmed. */
  readonly status: InspectionStatus;
  /**
   * True when the inspection's status showed that processing had started without this call's `process/` answering
   * so: after an ambiguous failure, or by an earlier attempt's request.
   */
  readonly confirmedByStatus: boolean;
}

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

/** What a client and all its deadline views share: one token, one authentication at a time. */
interface TokenSession {
  token: CachedToken | undefined;
  pending: Promise<CachedToken> | undefined;
}

/** The time bound of one public call, and what it has seen, for the error to throw when the time runs out. */
interface CallBudget {
  /** Epoch ms on the client's clock; no bound when undefined. */
  readonly deadlineMs: number | undefined;
  /** The last transient failure of the call: the error to report when the time runs out after it. */
  lastTransient: Pix4dApiError | undefined;
}

interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

interface CallOptions {
  /** Repeat after a failure that may have reached the service (network error, 5xx). */
  readonly retryAmbiguous: boolean;
}

/** 500 too: a framework's error page (HTML) is as often a passing fault as a 502. */
const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);
/** Allowance for the service's clock (creation times) differing from this one, in ms. */
const CREATED_AT_SKEW_MS = 60_000;
/** Pages of a list read at most to find what a lost create made. */
const MAX_LIST_PAGES = 50;
/** Refresh a token this long before it expires, at most a tenth of its lifetime. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;
/** Status reads within `processSettleMs` after an unanswered `process/`, the first at once. */
const PROCESS_WATCH_READS = 6;
/** 401s answered with a fresh token and a repeat, per call. */
const MAX_TOKEN_REFUSALS = 1;
const EXCERPT_LENGTH = 300;
/** The collections a create posts to, with the shapes of one member and of a page of the list. */
const ASSETS = { path: '/v1/assets/', schema: assetSchema, listSchema: assetListSchema } as const;
const INSPECTIONS = { path: '/v1/inspections/', schema: inspectionSchema, listSchema: inspectionListSchema } as const;
const TOKEN_ENDPOINT = 'POST /v1/auth/token/';

/**
 * Errors thrown because a call's deadline came: an authentication shared with a caller that has more time left
 * must not end that caller's call too.
 */
const endedByDeadline = new WeakSet<Error>();

export class Pix4dInspectClient implements Pix4dInspectApi {
  private readonly options: Pix4dClientOptions;
  private readonly account: Pix4dAccount;
  private readonly authUrl: string;
  private readonly apiUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly logger: Pix4dLogger | undefined;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly createSettleMs: number;
  private readonly processSettleMs: number;
  // Not readonly: `withDeadline` points its view at this client's session and sets the view's deadline.
  private session: TokenSession = { token: undefined, pending: undefined };
  private deadlineMs: number | undefined;

  constructor(options: Pix4dClientOptions) {
    this.options = options;
    this.account = options.account;
    this.authUrl = trimSlash(options.authUrl ?? DEFAULT_AUTH_URL);
    this.apiUrl = trimSlash(options.apiUrl ?? DEFAULT_API_URL);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.logger = options.logger;
    const timers = options.timers ?? systemTimers;
    this.timers = timers;
    this.now = options.now ?? (() => timers.now());
    this.sleep = options.sleep ?? ((ms) => timers.sleep(ms));
    this.random = options.random ?? Math.random;
    this.createSettleMs = options.createSettleMs ?? 5_000;
    this.processSettleMs = options.processSettleMs ?? 30_000;
  }

  /**
   * A view of this client whose every call ends by `deadlineMs` (epoch ms on the client's clock): a Lambda passes
   * the end of its invocation, less a margin for its own work, so that a slow Pix4Dinspect makes the step fail with
   * a retryable error instead of being killed at its timeout.
   *
   * Through the view, no attempt starts once the deadline has passed, each request timeout is cut to the time
   * left, and no retry wait that would end after the deadline is started. When the time runs out the call throws
   * a transient error (one of `TRANSIENT_PIX4D_ERRORS`): the last transient failure it met, else a
   * `Pix4dTimeoutError`. The deadline only shortens the client's own bounds (attempts, total time, request
   * timeout). The view shares this client's token and authentication; a view of a view keeps the earlier deadline.
   * An `observer` replaces the client's for the view's requests: one invocation's metrics.
   */
  withDeadline(deadlineMs: number, observer?: Pix4dCallObserver): Pix4dInspectClient {
    if (Number.isNaN(deadlineMs)) throw new RangeError('withDeadline needs a deadline in epoch milliseconds, not NaN');
    const view = new Pix4dInspectClient(observer ? { ...this.options, observer } : this.options);
    view.session = this.session;
    view.deadlineMs = this.deadlineMs === undefined ? deadlineMs : Math.min(this.deadlineMs, deadlineMs);
    return view;
  }

  createAsset(input: CreateAssetInput, options: CreateOptions = {}): Promise<Asset> {
    return this.createOnce(this.budget(), options, {
      ...ASSETS,
      body: input,
      described: `an asset named "${input.name}" of type ${input.type}`,
      isSame: (asset) => asset.name === input.name && asset.type === input.type,
      couldBe: (raw) => fieldOf(raw, 'name') === input.name,
    });
  }

  createInspection(input: CreateInspectionInput, options: CreateOptions = {}): Promise<Inspection> {
    return this.createOnce(this.budget(), options, {
      ...INSPECTIONS,
      body: input,
      described: `an inspection${input.name === undefined ? '' : ` named "${input.name}"`} of asset ${input.asset}`,
      isSame: (inspection) =>
        assetIdOf(inspection) === input.asset && (input.name === undefined || inspection.name === input.name),
      // Flights of one asset may share a name; the workflow gives each run's inspection its own description.
      confirms:
        input.description === undefined
          ? undefined
          : (inspection) =>
              typeof inspection.description === 'string'
                ? sameText(inspection.description, input.description!)
                : undefined,
      couldBe: (raw) => input.name === undefined || fieldOf(raw, 'name') === input.name,
    });
  }

  getInspection(inspectionId: number): Promise<Inspection> {
    return this.readInspection(this.budget(), inspectionId);
  }

  async getS3Credentials(inspectionId: number): Promise<TemporaryS3Credentials> {
    const answer = await this.call(
      this.budget(),
      'GET',
      `/v1/inspections/${inspectionId}/s3_credentials/`,
      s3CredentialsResponseSchema,
    );
    return TemporaryS3Credentials.fromApi(answer);
  }

  async registerImages(inspectionId: number, imageKeys: readonly string[]): Promise<ImageRegistration> {
    const budget = this.budget();
    let registered = 0;
    let calls = 0;
    for (let start = 0; start < imageKeys.length; start += MAX_KEYS_PER_REGISTRATION) {
      const image_keys = imageKeys.slice(start, start + MAX_KEYS_PER_REGISTRATION);
      const answer = await this.call(
        budget,
        'POST',
        `/v1/inspections/${inspectionId}/register_images/`,
        registerImagesResponseSchema,
        {
          image_keys,
        },
      );
      registered += answer.nb_images_registered;
      calls += 1;
    }
    if (registered !== imageKeys.length) {
      throw new ImageRegistrationMismatchError(inspectionId, imageKeys.length, registered);
    }
    return { registered, calls };
  }

  /**
   * Starting processing consumes allowance, so `process/` is never sent again blindly, nor while an earlier one may
   * still take effect. After a failure that may have reached the service the inspection's status is read and
   * compared with the one before; only when processing has visibly not started is the request sent again. A request
   * that went unanswered (timed out, connection cut) may still be in flight: the status is watched until it shows
   * the start or `processSettleMs` has passed; if the call's time runs out first, `Pix4dProcessingUnconfirmedError`.
   */
  async startProcessing(inspectionId: number, options: StartProcessingOptions = {}): Promise<ProcessingStart> {
    const budget = this.budget();
    const path = `/v1/inspections/${inspectionId}/process/`;
    const endpoint = `POST ${path}`;
    const current = await this.readInspection(budget, inspectionId);
    const before = options.statusBefore ? { ...current, status: options.statusBefore, pcs_task_uuid: null } : current;
    if (hasProcessingStarted(before, current)) return { status: current.status, confirmedByStatus: true };
    /** True once a `process/` of this start may have reached the service. */
    let mayHaveReached = options.earlierAttemptAt !== undefined;
    if (options.earlierAttemptAt !== undefined) {
      // That attempt ended before this one began, so its request settles within processSettleMs from now.
      const why = `an earlier attempt began at ${new Date(options.earlierAttemptAt).toISOString()}`;
      const after = await this.watchForStart(
        budget,
        inspectionId,
        before,
        this.processSettleMs,
        endpoint,
        why,
        current,
      );
      if (hasProcessingStarted(before, after)) return this.confirmedStart(after, endpoint, why);
    }
    const startedAt = this.now();
    for (let failures = 1; ; failures++) {
      try {
        await this.call(budget, 'POST', path, undefined, undefined, { retryAmbiguous: false });
        const after = await this.readInspection(budget, inspectionId);
        return { status: after.status, confirmedByStatus: false };
      } catch (error) {
        // A service that refuses to start twice may be refusing because an earlier request of this start got there.
        if (error instanceof Pix4dBadRequestError && mayHaveReached) {
          const after = await this.readInspection(budget, inspectionId);
          if (hasProcessingStarted(before, after))
            return this.confirmedStart(after, endpoint, `${error.name} after a request that may have started it`);
          throw error;
        }
        if (!isAmbiguous(error)) throw error;
        // Out of time before the request was sent: nothing new is in flight, and the retried step compares again.
        if (endedByDeadline.has(error as Error)) throw error;
        mayHaveReached = true;
        const unanswered = error instanceof Pix4dTimeoutError || error instanceof Pix4dNetworkError;
        const why = `the request went unanswered (${(error as Error).name}) at ${new Date(this.now()).toISOString()}`;
        // Out of time, a read after an answer throws a transient error: the step is retried and compares with `statusBefore`.
        // An answered failure took no effect later: one read tells. An unanswered request may still take effect.
        const after = unanswered
          ? await this.watchForStart(budget, inspectionId, before, this.processSettleMs, endpoint, why)
          : await this.readInspection(budget, inspectionId);
        if (hasProcessingStarted(before, after)) return this.confirmedStart(after, endpoint, why);
        const delay = await this.pauseBeforeResend(error as Pix4dApiError, failures, startedAt, budget, endpoint);
        this.logger?.warn('Processing did not start after an ambiguous failure; sending it again', {
          endpoint,
          error: (error as Error).message,
          delayMs: delay,
        });
      }
    }
  }

  private confirmedStart(after: Inspection, endpoint: string, reason: string): ProcessingStart {
    this.logger?.warn(
      'Processing started by an earlier request, as the inspection status shows; not sending it again',
      {
        endpoint,
        status: after.status,
        reason,
      },
    );
    return { status: after.status, confirmedByStatus: true };
  }

  /**
   * The inspection, read until its status shows that processing started (compared with `before`) or `windowMs` has
   * passed, when a `process/` still in flight has had its time to take effect: once at once, then every
   * `windowMs / PROCESS_WATCH_READS`. Within a window, a time that runs out or a status that cannot be read leaves
   * the start unknown: `Pix4dProcessingUnconfirmedError`, naming `why` the request may be in flight.
   */
  private async watchForStart(
    budget: CallBudget,
    inspectionId: number,
    before: Inspection,
    windowMs: number,
    endpoint: string,
    why: string,
    seen?: Inspection,
  ): Promise<Inspection> {
    const since = this.now();
    const interval = Math.max(1, Math.ceil(windowMs / PROCESS_WATCH_READS));
    let slept = 0;
    let after = seen;
    for (;;) {
      if (after === undefined) {
        try {
          after = await this.readInspection(budget, inspectionId);
        } catch (error) {
          if (!(error instanceof Pix4dApiError && error.transient)) throw error;
          throw this.processingUnconfirmed(
            endpoint,
            why,
            before,
            `its status could not be read (${error.message})`,
            budget,
          );
        }
      }
      if (hasProcessingStarted(before, after)) return after;
      // The time slept counts too: with a test's instant sleep, it stands for the time passed.
      const left = windowMs - Math.max(this.now() - since, slept);
      if (left <= 0) return after;
      const pause = Math.min(interval, left);
      if (this.waitPassesDeadline(budget, pause)) {
        throw this.processingUnconfirmed(
          endpoint,
          why,
          before,
          `the invocation's time ran out ${Math.ceil(left)} ms before the request could no longer take effect`,
          budget,
        );
      }
      await this.sleep(pause);
      slept += pause;
      after = undefined;
    }
  }

  private processingUnconfirmed(
    endpoint: string,
    why: string,
    before: Inspection,
    ended: string,
    budget: CallBudget,
  ): Pix4dProcessingUnconfirmedError {
    const error = new Pix4dProcessingUnconfirmedError(
      `Processing may have started, or may still start: ${why}, and ${ended}, with the status still "${before.status.name}" (id ${before.status.id}). ` +
        'A retry told of this attempt (earlierAttemptAt) watches the status before it sends the request again',
      { endpoint },
    );
    this.logger?.warn('Processing start unconfirmed: the request may still be in flight', {
      endpoint,
      error: error.name,
      timeLeftMs: Math.max(0, Math.floor(this.timeLeft(budget))),
    });
    return error;
  }

  /**
   * POST a create once; after a failure that may have reached the service, wait, look in the list for what it
   * created, and send it again only when nothing is there. Throttling (429) has no effect, so `send` retries it.
   */
  private async createOnce<T extends CreatedResource>(
    budget: CallBudget,
    options: CreateOptions,
    spec: CreateSpec<T>,
  ): Promise<T> {
    const endpoint = `POST ${spec.path}`;
    const firstAttemptAt = options.earlierAttemptAt ?? this.now();
    if (options.earlierAttemptAt !== undefined) {
      const earlier = await this.findCreated(budget, spec, firstAttemptAt, 'an earlier attempt of this step');
      if (earlier) {
        this.logger?.warn('Found what an earlier attempt created; not creating again', { endpoint, id: earlier.id });
        return earlier;
      }
    }
    const startedAt = this.now();
    for (let failures = 1; ; failures++) {
      try {
        return (await this.call(budget, 'POST', spec.path, spec.schema, spec.body, { retryAmbiguous: false })) as T;
      } catch (error) {
        if (!isAmbiguous(error)) throw error;
        // The service may still be creating when the gateway gives up: look after a wait, not at once. Out of time
        // or attempts, the error is transient: the retried step looks first (`earlierAttemptAt`).
        await this.pauseBeforeResend(
          error as Pix4dApiError,
          failures,
          startedAt,
          budget,
          endpoint,
          failures === 1 ? this.createSettleMs : 0,
        );
        const created = await this.findCreated(
          budget,
          spec,
          firstAttemptAt,
          `a lost answer (${(error as Error).name})`,
        );
        if (created) {
          this.logger?.warn('Created although the answer was lost; found it in the list', { endpoint, id: created.id });
          return created;
        }
        this.logger?.warn('Not created although the request may have reached the service; sending it again', {
          endpoint,
          error: (error as Error).name,
          attempt: failures,
        });
      }
    }
  }

  /**
   * What a create that began at `since` made: the one resource of the list that matches it and is confirmed as its
   * own (an inspection's description names the run) or, without such a field, was created since (less
   * `CREATED_AT_SKEW_MS` for the two clocks). Undefined when there is none; `Pix4dCreateUnconfirmedError` when the
   * list cannot tell (no list, another origin, too many pages, several candidates, or a match it cannot judge).
   */
  private async findCreated<T extends CreatedResource>(
    budget: CallBudget,
    spec: CreateSpec<T>,
    since: number,
    reason: string,
  ): Promise<T | undefined> {
    const endpoint = `GET ${spec.path}`;
    const after = since - CREATED_AT_SKEW_MS;
    const unconfirmed = (why: string, details: Partial<Pix4dErrorDetails> = {}) =>
      new Pix4dCreateUnconfirmedError(
        `POST ${spec.path} may have created ${spec.described} after ${new Date(since).toISOString()} (${reason}), and ${why}. ` +
          'Check Pix4Dinspect for it and delete any duplicate before running the batch again',
        { endpoint, ...details },
      );
    const mine: T[] = [];
    const uncertain: string[] = [];
    let path: string | undefined = spec.path;
    for (let pages = 0; path !== undefined; pages++) {
      if (pages === MAX_LIST_PAGES) throw unconfirmed(`its list has more than ${MAX_LIST_PAGES} pages`);
      let page: ListPage<T>;
      try {
        page = (await this.call(budget, 'GET', path, spec.listSchema)) as ListPage<T>;
      } catch (error) {
        if (error instanceof Pix4dApiError && error.transient) throw error;
        const cause = error instanceof Pix4dApiError ? error : undefined;
        throw unconfirmed(
          `the list could not be read to tell: ${(error as Error).message}`,
          cause?.status === undefined ? {} : { status: cause.status },
        );
      }
      for (const item of page.items) {
        if (!spec.isSame(item)) continue;
        const verdict = spec.confirms?.(item);
        if (verdict === false) continue;
        const createdAt = item.created_at?.getTime();
        if (verdict === true) mine.push(item);
        else if (createdAt === undefined) uncertain.push(`${item.id} (no creation time)`);
        else if (createdAt < after) continue;
        else if (spec.confirms) uncertain.push(`${item.id} (no description)`);
        else mine.push(item);
      }
      for (const raw of page.unreadable)
        if (spec.couldBe(raw)) uncertain.push(`${String(fieldOf(raw, 'id'))} (unreadable)`);
      const next = page.next === undefined ? undefined : this.pathOnApi(page.next);
      if (next === null)
        throw unconfirmed('the next page of its list is on another origin, where credentials are not sent');
      path = next;
    }
    if (mine.length > 1) throw unconfirmed(`${mine.length} match it: ids ${mine.map((item) => item.id).join(', ')}`);
    if (mine.length === 1) return mine[0];
    if (uncertain.length > 0) throw unconfirmed(`${uncertain.length} could be it: ids ${uncertain.join(', ')}`);
    return undefined;
  }

  /**
   * The path and query of a list's `next` link below the API's base URL; null when it is elsewhere. A link to
   * `http://` on the API's own host is taken as the API's (a service behind a TLS proxy builds its links so) and
   * followed over the API's own scheme.
   */
  private pathOnApi(link: string): string | null {
    const api = new URL(`${this.apiUrl}/`);
    let url: URL;
    try {
      url = new URL(link, api);
    } catch {
      return null;
    }
    const sameOrigin = url.origin === api.origin;
    const upgraded =
      api.protocol === 'https:' && url.protocol === 'http:' && url.hostname === api.hostname && url.port === '';
    if (!(sameOrigin || upgraded) || !url.pathname.startsWith(api.pathname)) return null;
    return `/${url.pathname.slice(api.pathname.length)}${url.search}`;
  }

  private budget(): CallBudget {
    return { deadlineMs: this.deadlineMs, lastTransient: undefined };
  }

  private readInspection(budget: CallBudget, inspectionId: number): Promise<Inspection> {
    return this.call(budget, 'GET', `/v1/inspections/${inspectionId}/`, inspectionSchema);
  }

  private async call<S extends z.ZodType>(
    budget: CallBudget,
    method: 'GET' | 'POST',
    path: string,
    schema: S | undefined,
    body?: unknown,
    options: CallOptions = { retryAmbiguous: true },
  ): Promise<z.output<S>> {
    // Errors and logs name the endpoint without its query (a page number).
    const endpointPath = path.split('?')[0] ?? path;
    const request: RequestSpec = {
      method,
      path: endpointPath,
      url: this.apiUrl + path,
      headers: {
        Accept: 'application/json',
        'User-Agent': USER_AGENT,
        'X-Api-Key': this.account.apiKey,
        ...(this.account.organizationUuid ? { 'pix4d-organization-uuid': this.account.organizationUuid } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };

    const answer = await this.send(request, options, budget, true);
    if (!answer.ok) throw this.errorFor(answer, `${method} ${endpointPath}`);
    if (!schema) return undefined as z.output<S>;
    return this.parse(answer, `${method} ${endpointPath}`, schema);
  }

  private async currentToken(budget: CallBudget): Promise<CachedToken> {
    for (;;) {
      const cached = this.session.token;
      if (cached && this.now() < cached.refreshAt) return cached;
      // Concurrent callers, of this client and of all its views, share one authentication (one token per
      // container). It runs within the budget of the call that started it.
      const started = this.session.pending === undefined;
      const pending = this.session.pending ?? this.startAuthentication(budget);
      try {
        // Someone else's authentication may be bounded later than this call, or not at all.
        return budget.deadlineMs === undefined
          ? await pending
          : await this.untilDeadline(pending, budget, TOKEN_ENDPOINT);
      } catch (error) {
        // Someone else's authentication ended at its caller's deadline: this call may have time for another.
        const retry = !started && error instanceof Error && endedByDeadline.has(error) && this.timeLeft(budget) > 0;
        if (!retry) throw error;
      }
    }
  }

  private startAuthentication(budget: CallBudget): Promise<CachedToken> {
    const pending: Promise<CachedToken> = this.authenticate(budget).finally(() => {
      if (this.session.pending === pending) this.session.pending = undefined;
    });
    this.session.pending = pending;
    return pending;
  }

  /** `promise`, or a rejection when the budget's deadline comes first (the promise runs on). */
  private untilDeadline<T>(promise: Promise<T>, budget: CallBudget, endpoint: string): Promise<T> {
    const left = this.timeLeft(budget);
    if (left <= 0) return Promise.reject(this.outOfTime(budget, endpoint));
    const signal = this.timers.timeoutSignal(left);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.outOfTime(budget, endpoint));
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private async authenticate(budget: CallBudget): Promise<CachedToken> {
    const path = '/v1/auth/token/';
    const answer = await this.send(
      {
        method: 'POST',
        path,
        url: this.authUrl + path,
        headers: {
          Accept: 'application/json',
          'User-Agent': USER_AGENT,
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-Api-Key': this.account.apiKey,
        },
        body: new URLSearchParams({ username: this.account.username, password: this.account.password }).toString(),
      },
      { retryAmbiguous: true },
      budget,
    );
    const endpoint = `POST ${path}`;
    if (answer.status === 400 || answer.status === 401) {
      throw new Pix4dAuthenticationError(
        'Pix4Dinspect refused the username or password',
        this.details(answer, endpoint),
      );
    }
    if (!answer.ok) throw this.errorFor(answer, endpoint);
    const { api_token, expires_in } = this.parse(answer, endpoint, tokenResponseSchema);
    const lifetimeMs = expires_in * 1000;
    // From the attempt that got it: a token request retried after a long Retry-After gets a token of a full life.
    const token = {
      value: api_token,
      refreshAt: answer.sentAt + lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 10),
    };
    this.session.token = token;
    return token;
  }

  /**
   * Sends one request, repeating it on network errors, 429, 500, 502, 503 and 504 within the backoff policy and the
   * budget's deadline. Returns any other answer; throws the transient error once the policy or the time is exhausted.
   *
   * An API request (`authorized`) takes the token for each attempt when the attempt starts, so that a retry wait
   * longer than the token's life ends in a fresh token rather than a 401. A 401 all the same (a token revoked, or
   * expired early by the service's clock) gets one fresh token and one repeat; a second 401 is answered.
   */
  private send(
    request: RequestSpec,
    options: CallOptions,
    budget: CallBudget,
    authorized = false,
  ): Promise<BufferedAnswer> {
    const observer = this.options.observer ?? NO_OBSERVER;
    const name = endpointName(request);
    const observed: CallObservation = { observer, name, last: undefined };
    const run = async () => {
      try {
        const answer = await this.sendAttempts(request, options, budget, authorized, observed);
        if (!answer.ok) observer.failed?.(name, statusClassOf(answer.status));
        return answer;
      } catch (error) {
        observer.failed?.(name, observed.last ?? answerClassOf(error));
        throw error;
      }
    };
    return observer.around ? observer.around(name, run) : run();
  }

  private async sendAttempts(
    request: RequestSpec,
    options: CallOptions,
    budget: CallBudget,
    authorized: boolean,
    observed: CallObservation,
  ): Promise<BufferedAnswer> {
    const endpoint = `${request.method} ${request.path}`;
    const startedAt = this.now();
    let refusals = 0;
    for (let failures = 0; ; ) {
      const token = authorized ? await this.currentToken(budget) : undefined;
      const timeoutMs = this.attemptTimeout(budget, endpoint);
      const signal = this.timers.timeoutSignal(timeoutMs);
      const attempt = token
        ? { ...request, headers: { ...request.headers, Authorization: `Bearer ${token.value}` } }
        : request;
      let outcome: BufferedAnswer | Pix4dApiError;
      try {
        outcome = await this.fetchOnce(attempt, signal);
      } catch (error) {
        outcome = this.connectionError(error, endpoint, signal, timeoutMs);
      }
      observed.last = outcome instanceof Pix4dApiError ? answerClassOf(outcome) : statusClassOf(outcome.status);
      observed.observer.attempted?.(observed.name, observed.last);
      if (!(outcome instanceof Pix4dApiError) && outcome.status >= 300 && outcome.status < 400)
        throw this.redirectError(outcome, endpoint);
      // A 401 had no effect, so even a create or `process/` may be repeated.
      if (token && !(outcome instanceof Pix4dApiError) && outcome.status === 401 && refusals < MAX_TOKEN_REFUSALS) {
        refusals += 1;
        this.logger?.debug('Token refused; authenticating again', { endpoint });
        // Only the token refused: another call may have replaced it already.
        if (this.session.token === token) this.session.token = undefined;
        observed.observer.retrying?.(observed.name);
        continue;
      }
      const retried = outcome instanceof Pix4dApiError || RETRIED_STATUSES.has(outcome.status);
      if (!retried) return outcome as BufferedAnswer;
      failures += 1;

      const error = outcome instanceof Pix4dApiError ? outcome : this.errorFor(outcome, endpoint);
      if (error.transient) budget.lastTransient = error;
      const throttled = !(outcome instanceof Pix4dApiError) && outcome.status === 429;
      if (!throttled && !options.retryAmbiguous) throw error;

      const retryAfter =
        outcome instanceof Pix4dApiError ? undefined : parseRetryAfter(outcome.headers.get('retry-after'), this.now());
      const delay = Math.max(retryAfter ?? 0, fullJitterDelay(failures, this.backoff, this.random));
      const elapsed = this.now() - startedAt;
      if (failures >= this.backoff.maxAttempts || elapsed + delay > this.backoff.maxTotalMs) throw error;
      if (this.waitPassesDeadline(budget, delay)) throw this.stoppedByDeadline(error, endpoint, delay, budget);
      this.logger?.warn('Pix4Dinspect call failed; retrying', {
        endpoint,
        status: error.status,
        error: error.name,
        attempt: failures,
        delayMs: delay,
      });
      observed.observer.retrying?.(observed.name);
      await this.sleep(delay);
    }
  }

  /**
   * The wait after the `failures`-th ambiguous failure of a request that is not repeated blindly (a create,
   * `process/`), at least `leastMs`; slept here, and returned. Throws `error` when the backoff policy or the deadline
   * leaves no room for another attempt: the error is ambiguous, hence transient, so the step is retried instead.
   */
  private async pauseBeforeResend(
    error: Pix4dApiError,
    failures: number,
    startedAt: number,
    budget: CallBudget,
    endpoint: string,
    leastMs = 0,
  ): Promise<number> {
    const delay = Math.max(fullJitterDelay(failures, this.backoff, this.random), leastMs);
    if (failures >= this.backoff.maxAttempts || this.now() - startedAt + delay > this.backoff.maxTotalMs) throw error;
    if (this.waitPassesDeadline(budget, delay)) throw this.stoppedByDeadline(error, endpoint, delay, budget);
    await this.sleep(delay);
    return delay;
  }

  /** The time left before the budget's deadline, in ms; Infinity without deadline. */
  private timeLeft(budget: CallBudget): number {
    return budget.deadlineMs === undefined ? Number.POSITIVE_INFINITY : budget.deadlineMs - this.now();
  }

  /** The timeout of the next attempt: the request timeout, cut to the time left. Throws when none is left. */
  private attemptTimeout(budget: CallBudget, endpoint: string): number {
    const left = this.timeLeft(budget);
    if (left <= 0) throw this.outOfTime(budget, endpoint);
    return Math.min(this.requestTimeoutMs, left);
  }

  /** A wait that ends at or after the deadline leaves no time for the attempt it waits for. */
  private waitPassesDeadline(budget: CallBudget, delayMs: number): boolean {
    return delayMs >= this.timeLeft(budget);
  }

  /** The error to throw when no attempt can start before the deadline; always transient. */
  private outOfTime(budget: CallBudget, endpoint: string): Pix4dApiError {
    const error =
      budget.lastTransient ??
      new Pix4dTimeoutError("The invocation's time ran out before Pix4Dinspect could be called", { endpoint });
    endedByDeadline.add(error);
    return error;
  }

  private stoppedByDeadline(
    error: Pix4dApiError,
    endpoint: string,
    delayMs: number,
    budget: CallBudget,
  ): Pix4dApiError {
    this.logger?.warn("Pix4Dinspect call failed; not retrying: the invocation's time would run out during the wait", {
      endpoint,
      status: error.status,
      error: error.name,
      delayMs,
      timeLeftMs: Math.max(0, Math.floor(this.timeLeft(budget))),
    });
    endedByDeadline.add(error);
    return error;
  }

  private async fetchOnce(request: RequestSpec, signal: AbortSignal): Promise<BufferedAnswer> {
    const sentAt = this.now();
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      // A redirect is answered, never followed: see Pix4dRedirectError.
      redirect: 'manual',
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
    });
    // The body is read under the same timeout, so a stalled answer is also cut.
    const text = await response.text();
    return { status: response.status, ok: response.ok, headers: response.headers, text, sentAt };
  }

  private connectionError(error: unknown, endpoint: string, signal: AbortSignal, timeoutMs: number): Pix4dApiError {
    const cause = error instanceof Error ? error : new Error(String(error));
    // fetch rejects with the signal's reason, which a `Timers` other than the system's may shape differently.
    if (signal.aborted || cause.name === 'TimeoutError' || cause.name === 'AbortError') {
      const summary =
        timeoutMs < this.requestTimeoutMs
          ? `Pix4Dinspect did not answer within ${Math.ceil(timeoutMs)} ms, the time the invocation had left`
          : `Pix4Dinspect did not answer within ${this.requestTimeoutMs} ms`;
      return new Pix4dTimeoutError(summary, { endpoint });
    }
    const reason = cause.cause instanceof Error ? cause.cause.message : cause.message;
    return new Pix4dNetworkError(`Pix4Dinspect could not be reached (${this.scrub(reason)})`, { endpoint });
  }

  private redirectError(answer: BufferedAnswer, endpoint: string): Pix4dRedirectError {
    const location = answer.headers.get('location');
    let target = 'no Location';
    if (location) {
      try {
        // Origin and path only: a query may hold anything.
        const url = new URL(location, this.apiUrl);
        target = url.origin + url.pathname;
      } catch {
        target = 'an unreadable Location';
      }
    }
    return new Pix4dRedirectError(
      `Pix4Dinspect redirected the request to ${this.scrub(target)}; redirects are not followed, so that the token and API key go nowhere else. Configure that address as the API or auth URL if it is Pix4Dinspect's`,
      { endpoint, status: answer.status },
    );
  }

  private errorFor(answer: BufferedAnswer, endpoint: string): Pix4dApiError {
    const details = this.details(answer, endpoint);
    switch (answer.status) {
      case 400:
        return new Pix4dBadRequestError('Pix4Dinspect refused the request', details);
      case 401:
        return new Pix4dUnauthorizedError('Pix4Dinspect refused a fresh token', details);
      case 403:
        return new Pix4dForbiddenError('Pix4Dinspect denied access (API key, organization or permissions)', details);
      case 404:
        return new Pix4dNotFoundError('Pix4Dinspect does not know this resource', details);
      case 429:
        return new Pix4dThrottledError('Pix4Dinspect kept throttling the client', details);
      default:
        return answer.status >= 500
          ? new Pix4dServerError('Pix4Dinspect failed', details)
          : new Pix4dClientError('Pix4Dinspect refused the request', details);
    }
  }

  private parse<S extends z.ZodType>(answer: BufferedAnswer, endpoint: string, schema: S): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new Pix4dUnexpectedResponseError(
        'Pix4Dinspect answered with something that is not JSON',
        this.details(answer, endpoint),
      );
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      const problems = result.error.issues
        .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
        .join('; ');
      throw new Pix4dUnexpectedResponseError(`Pix4Dinspect answered with an unexpected shape (${problems})`, {
        endpoint,
        status: answer.status,
      });
    }
    return result.data;
  }

  private details(answer: BufferedAnswer, endpoint: string): Pix4dErrorDetails {
    const excerpt = this.scrub(answer.text.replace(/\s+/g, ' ').trim()).slice(0, EXCERPT_LENGTH);
    return { endpoint, status: answer.status, ...(excerpt ? { bodyExcerpt: excerpt } : {}) };
  }

  private scrub(text: string): string {
    const secrets = [this.account.password, this.account.apiKey, this.account.username];
    // A service that echoes the token request's form body sends them URL-encoded.
    const encoded = secrets.flatMap((secret) => [
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
    ]);
    return redact(text, [...secrets, ...encoded, this.session.token?.value]);
  }
}

interface BufferedAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly text: string;
  /** When the attempt that got this answer was sent (epoch ms). */
  readonly sentAt: number;
}

/** What a create answers and its list holds: an id, and the creation time the service gives it. */
interface CreatedResource {
  readonly id: number;
  readonly created_at: Date | undefined;
}

interface CreateSpec<T extends CreatedResource> {
  readonly path: string;
  readonly schema: z.ZodType<T>;
  readonly listSchema: z.ZodType<ListPage<T>>;
  readonly body: unknown;
  /** For people: `an asset named "tower-1" of type 1`. */
  readonly described: string;
  /** True for a resource that this create would have made. */
  readonly isSame: (resource: T) => boolean;
  /**
   * True when a field proves that a match is the one this create made, false when it proves it is not, undefined
   * when the resource does not say. Absent: creation times decide.
   */
  readonly confirms?: ((resource: T) => boolean | undefined) | undefined;
  /** True for a list item that could not be read but could be the resource this create made. */
  readonly couldBe: (raw: unknown) => boolean;
}

/** The schema reads `asset` as the id or an object with one. */
function assetIdOf(inspection: Inspection): number {
  return typeof inspection.asset === 'number' ? inspection.asset : inspection.asset.id;
}

function fieldOf(raw: unknown, name: string): unknown {
  return typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[name] : undefined;
}

/** Equal once leading, trailing and repeated white space is set aside, as a service may normalise text. */
function sameText(a: string, b: string): boolean {
  const normal = (text: string) => text.trim().replace(/\s+/g, ' ');
  return normal(a) === normal(b);
}

function isAmbiguous(error: unknown): boolean {
  return error instanceof Pix4dNetworkError || error instanceof Pix4dTimeoutError || error instanceof Pix4dServerError;
}

function hasProcessingStarted(before: Inspection, after: Inspection): boolean {
  return after.status.id !== before.status.id || (!before.pcs_task_uuid && Boolean(after.pcs_task_uuid));
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** One call as its observer sees it: the endpoint's name and what answered its last attempt. */
/** A client without an observer tells nobody. */
const NO_OBSERVER: Pix4dCallObserver = {};

interface CallObservation {
  readonly observer: Pix4dCallObserver;
  readonly name: string;
  last: StatusClass | undefined;
}

/** The endpoint without ids or query, so that calls of every inspection count as one endpoint. */
function endpointName(request: RequestSpec): string {
  return `${request.method} ${request.path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
}

/** What answered a request that ended in an error: its status when it has one, else no answer in time, or none. */
function answerClassOf(error: unknown): StatusClass {
  if (error instanceof Pix4dApiError && error.status !== undefined) return statusClassOf(error.status);
  return error instanceof Pix4dTimeoutError ? 'timeout' : 'network';
}
