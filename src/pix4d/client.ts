import type { z } from 'zod';
import { redact } from '../redact';
import { BackoffPolicy, DEFAULT_BACKOFF, fullJitterDelay, parseRetryAfter } from './backoff';
import {
  ImageRegistrationMismatchError,
  Pix4dApiError,
  Pix4dAuthenticationError,
  Pix4dBadRequestError,
  Pix4dClientError,
  Pix4dErrorDetails,
  Pix4dForbiddenError,
  Pix4dNetworkError,
  Pix4dNotFoundError,
  Pix4dServerError,
  Pix4dThrottledError,
  Pix4dTimeoutError,
  Pix4dUnauthorizedError,
  Pix4dUnexpectedResponseError,
} from './errors';
import {
  Asset,
  assetSchema,
  CreateAssetInput,
  CreateInspectionInput,
  Inspection,
  InspectionStatus,
  inspectionSchema,
  registerImagesResponseSchema,
  s3CredentialsResponseSchema,
  tokenResponseSchema,
} from './schemas';
import { TemporaryS3Credentials } from './temporary-s3-credentials';

export const DEFAULT_AUTH_URL = 'https://inspect.pix4d.com';
export const DEFAULT_API_URL = 'https://api.inspect.pix4d.com';
/** The service takes fewer than 500 keys per `register_images` call. */
export const MAX_KEYS_PER_REGISTRATION = 499;

/** What the pipeline asks of Pix4Dinspect. The HTTP client implements it; so could any other transport. */
export interface Pix4dInspectApi {
  createAsset(input: CreateAssetInput): Promise<Asset>;
  createInspection(input: CreateInspectionInput): Promise<Inspection>;
  getInspection(inspectionId: number): Promise<Inspection>;
  getS3Credentials(inspectionId: number): Promise<TemporaryS3Credentials>;
  registerImages(inspectionId: number, imageKeys: readonly string[]): Promise<ImageRegistration>;
  startProcessing(inspectionId: number, options?: StartProcessingOptions): Promise<ProcessingStart>;
}

export interface StartProcessingOptions {
  /**
   * The status read before an earlier attempt to start (kept by the caller across retries). When the inspection's
   * status differs from it, processing has started already and no request is sent.
   * @default the status read now
   */
  readonly statusBefore?: InspectionStatus;
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

export interface Pix4dClientOptions {
  readonly account: Pix4dAccount;
  /** Host of `/v1/auth/token/`. @default https://inspect.pix4d.com */
  readonly authUrl?: string;
  /** Host of every other endpoint. @default https://api.inspect.pix4d.com */
  readonly apiUrl?: string;
  /** Time allowed for one request, answer body included. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** @default DEFAULT_BACKOFF */
  readonly backoff?: BackoffPolicy;
  readonly logger?: Pix4dLogger;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

export interface ImageRegistration {
  readonly registered: number;
  readonly calls: number;
}

export interface ProcessingStart {
  /** Status read after the start was confirmed. */
  readonly status: InspectionStatus;
  /** True when an ambiguous failure happened and the inspection's status showed processing had started. */
  readonly confirmedByStatus: boolean;
}

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
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

const RETRIED_STATUSES = new Set([429, 502, 503, 504]);
/** Refresh a token this long before it expires, at most a tenth of its lifetime. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const EXCERPT_LENGTH = 300;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Pix4dInspectClient implements Pix4dInspectApi {
  private readonly account: Pix4dAccount;
  private readonly authUrl: string;
  private readonly apiUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly logger: Pix4dLogger | undefined;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private token: CachedToken | undefined;
  private pendingToken: Promise<CachedToken> | undefined;

  constructor(options: Pix4dClientOptions) {
    this.account = options.account;
    this.authUrl = trimSlash(options.authUrl ?? DEFAULT_AUTH_URL);
    this.apiUrl = trimSlash(options.apiUrl ?? DEFAULT_API_URL);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  createAsset(input: CreateAssetInput): Promise<Asset> {
    return this.call('POST', '/v1/assets/', assetSchema, input);
  }

  createInspection(input: CreateInspectionInput): Promise<Inspection> {
    return this.call('POST', '/v1/inspections/', inspectionSchema, input);
  }

  getInspection(inspectionId: number): Promise<Inspection> {
    return this.call('GET', `/v1/inspections/${inspectionId}/`, inspectionSchema);
  }

  async getS3Credentials(inspectionId: number): Promise<TemporaryS3Credentials> {
    const answer = await this.call('GET', `/v1/inspections/${inspectionId}/s3_credentials/`, s3CredentialsResponseSchema);
    return TemporaryS3Credentials.fromApi(answer);
  }

  async registerImages(inspectionId: number, imageKeys: readonly string[]): Promise<ImageRegistration> {
    let registered = 0;
    let calls = 0;
    for (let start = 0; start < imageKeys.length; start += MAX_KEYS_PER_REGISTRATION) {
      const image_keys = imageKeys.slice(start, start + MAX_KEYS_PER_REGISTRATION);
      const answer = await this.call('POST', `/v1/inspections/${inspectionId}/register_images/`, registerImagesResponseSchema, {
        image_keys,
      });
      registered += answer.nb_images_registered;
      calls += 1;
    }
    if (registered !== imageKeys.length) {
      throw new ImageRegistrationMismatchError(inspectionId, imageKeys.length, registered);
    }
    return { registered, calls };
  }

  /**
   * Starting processing consumes allowance, so a failure that may have reached the service is never answered by
   * sending the request again blindly: the inspection's status is read first, and compared with the one before.
   */
  async startProcessing(inspectionId: number, options: StartProcessingOptions = {}): Promise<ProcessingStart> {
    const path = `/v1/inspections/${inspectionId}/process/`;
    const current = await this.getInspection(inspectionId);
    const before = options.statusBefore ? { ...current, status: options.statusBefore, pcs_task_uuid: null } : current;
    if (hasProcessingStarted(before, current)) return { status: current.status, confirmedByStatus: true };
    const startedAt = this.now();
    for (let failures = 1; ; failures++) {
      try {
        await this.call('POST', path, undefined, undefined, { retryAmbiguous: false });
        const after = await this.getInspection(inspectionId);
        return { status: after.status, confirmedByStatus: false };
      } catch (error) {
        if (!isAmbiguous(error)) throw error;
        const after = await this.getInspection(inspectionId);
        if (hasProcessingStarted(before, after)) {
          this.logger?.warn('Processing start confirmed by the inspection status after an ambiguous failure', {
            endpoint: `POST ${path}`,
            status: after.status,
          });
          return { status: after.status, confirmedByStatus: true };
        }
        const delay = fullJitterDelay(failures, this.backoff, this.random);
        if (failures >= this.backoff.maxAttempts || this.now() - startedAt + delay > this.backoff.maxTotalMs) throw error;
        this.logger?.warn('Processing did not start after an ambiguous failure; sending it again', {
          endpoint: `POST ${path}`,
          error: (error as Error).message,
          delayMs: delay,
        });
        await this.sleep(delay);
      }
    }
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S | undefined,
    body?: unknown,
    options: CallOptions = { retryAmbiguous: true },
  ): Promise<z.output<S>> {
    const request = (token: string): RequestSpec => ({
      method,
      path,
      url: this.apiUrl + path,
      headers: {
        Accept: 'application/json',
        Authorization: `Bearer ${token}`,
        'X-Api-Key': this.account.apiKey,
        ...(this.account.organizationUuid ? { 'pix4d-organization-uuid': this.account.organizationUuid } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

    let answer = await this.send(request((await this.currentToken()).value), options);
    if (answer.status === 401) {
      // The token may have been revoked or have expired early: one fresh token, one more try.
      this.logger?.debug('Token refused; authenticating again', { endpoint: `${method} ${path}` });
      this.token = undefined;
      answer = await this.send(request((await this.currentToken()).value), options);
    }
    if (!answer.ok) throw this.errorFor(answer, `${method} ${path}`);
    if (!schema) return undefined as z.output<S>;
    return this.parse(answer, `${method} ${path}`, schema);
  }

  private currentToken(): Promise<CachedToken> {
    if (this.token && this.now() < this.token.refreshAt) return Promise.resolve(this.token);
    // Concurrent callers share one authentication.
    this.pendingToken ??= this.authenticate().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async authenticate(): Promise<CachedToken> {
    const path = '/v1/auth/token/';
    const requestedAt = this.now();
    const answer = await this.send(
      {
        method: 'POST',
        path,
        url: this.authUrl + path,
        headers: {
          Accept: 'application/json',
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-Api-Key': this.account.apiKey,
        },
        body: new URLSearchParams({ username: this.account.username, password: this.account.password }).toString(),
      },
      { retryAmbiguous: true },
    );
    const endpoint = `POST ${path}`;
    if (answer.status === 400 || answer.status === 401) {
      throw new Pix4dAuthenticationError('Pix4Dinspect refused the username or password', this.details(answer, endpoint));
    }
    if (!answer.ok) throw this.errorFor(answer, endpoint);
    const { api_token, expires_in } = this.parse(answer, endpoint, tokenResponseSchema);
    const lifetimeMs = expires_in * 1000;
    const token = {
      value: api_token,
      refreshAt: requestedAt + lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 10),
    };
    this.token = token;
    return token;
  }

  /**
   * Sends one request, repeating it on network errors, 429, 502, 503 and 504 within the backoff policy. Returns
   * any other answer; throws the transient error once the policy is exhausted.
   */
  private async send(request: RequestSpec, options: CallOptions): Promise<BufferedAnswer> {
    const endpoint = `${request.method} ${request.path}`;
    const startedAt = this.now();
    for (let failures = 1; ; failures++) {
      let outcome: BufferedAnswer | Pix4dApiError;
      try {
        outcome = await this.fetchOnce(request);
      } catch (error) {
        outcome = this.connectionError(error, endpoint);
      }
      const retried = outcome instanceof Pix4dApiError || RETRIED_STATUSES.has(outcome.status);
      if (!retried) return outcome as BufferedAnswer;

      const error = outcome instanceof Pix4dApiError ? outcome : this.errorFor(outcome, endpoint);
      const throttled = !(outcome instanceof Pix4dApiError) && outcome.status === 429;
      if (!throttled && !options.retryAmbiguous) throw error;

      const retryAfter = outcome instanceof Pix4dApiError ? undefined : parseRetryAfter(outcome.headers.get('retry-after'), this.now());
      const delay = Math.max(retryAfter ?? 0, fullJitterDelay(failures, this.backoff, this.random));
      const elapsed = this.now() - startedAt;
      if (failures >= this.backoff.maxAttempts || elapsed + delay > this.backoff.maxTotalMs) throw error;
      this.logger?.warn('Pix4Dinspect call failed; retrying', {
        endpoint,
        status: error.status,
        error: error.name,
        attempt: failures,
        delayMs: delay,
      });
      await this.sleep(delay);
    }
  }

  private async fetchOnce(request: RequestSpec): Promise<BufferedAnswer> {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    // The body is read under the same timeout, so a stalled answer is also cut.
    const text = await response.text();
    return { status: response.status, ok: response.ok, headers: response.headers, text };
  }

  private connectionError(error: unknown, endpoint: string): Pix4dApiError {
    const cause = error instanceof Error ? error : new Error(String(error));
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') {
      return new Pix4dTimeoutError(`Pix4Dinspect did not answer within ${this.requestTimeoutMs} ms`, { endpoint });
    }
    const reason = cause.cause instanceof Error ? cause.cause.message : cause.message;
    return new Pix4dNetworkError(`Pix4Dinspect could not be reached (${this.scrub(reason)})`, { endpoint });
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
      throw new Pix4dUnexpectedResponseError('Pix4Dinspect answered with something that is not JSON', this.details(answer, endpoint));
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
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
    return redact(text, [this.account.password, this.account.apiKey, this.account.username, this.token?.value]);
  }
}

interface BufferedAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly text: string;
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
