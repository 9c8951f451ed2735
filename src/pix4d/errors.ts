/**
 * Errors of the Pix4Dinspect client. Each sets `name` to a fixed string: Step Functions Retry and Catch match on
 * it, and bundlers rename classes. Messages carry the endpoint, the HTTP status and a short excerpt of the answer,
 * with every credential the client knows removed.
 */

export interface Pix4dErrorDetails {
  /** `METHOD /path/` of the call, without host or query. */
  readonly endpoint: string;
  /** HTTP status, when the service answered. */
  readonly status?: number;
  /** The start of the answer's body, credentials removed. */
  readonly bodyExcerpt?: string;
  readonly cause?: unknown;
}

export class Pix4dApiError extends Error {
  override name = 'Pix4dApiError';
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly bodyExcerpt: string | undefined;
  /** True when repeating the same call later may succeed. */
  readonly transient: boolean = false;

  constructor(summary: string, details: Pix4dErrorDetails) {
    super(describe(summary, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.endpoint = details.endpoint;
    this.status = details.status;
    this.bodyExcerpt = details.bodyExcerpt;
  }
}

/**
 * The base of one kind of Pix4dApiError: its fixed `name`, and whether the call may succeed when repeated later.
 */
function pix4dError(name: string, { transient = false } = {}) {
  return class extends Pix4dApiError {
    override name = name;
    override readonly transient = transient;
  };
}

function describe(summary: string, { endpoint, status, bodyExcerpt }: Pix4dErrorDetails): string {
  const parts = [`${summary}: ${endpoint}`];
  if (status !== undefined) parts.push(`answered ${status}`);
  if (bodyExcerpt) parts.push(bodyExcerpt);
  return parts.join(' ');
}

/** 400: the service refused the request's content (unknown asset, bad field, image outside the prefix...). */
export class Pix4dBadRequestError extends pix4dError('Pix4dBadRequestError') {}

/** The token endpoint refused the username, password or API key. */
export class Pix4dAuthenticationError extends pix4dError('Pix4dAuthenticationError') {}

/** 401 again after a fresh token. */
export class Pix4dUnauthorizedError extends pix4dError('Pix4dUnauthorizedError') {}

/** 403: wrong API key, organization or permissions. */
export class Pix4dForbiddenError extends pix4dError('Pix4dForbiddenError') {}

export class Pix4dNotFoundError extends pix4dError('Pix4dNotFoundError') {}

/** Any other 4xx. */
export class Pix4dClientError extends pix4dError('Pix4dClientError') {}

/** 429 after every allowed retry. */
export class Pix4dThrottledError extends pix4dError('Pix4dThrottledError', { transient: true }) {}

/** 5xx after every allowed retry. */
export class Pix4dServerError extends pix4dError('Pix4dServerError', { transient: true }) {}

/** The connection failed or was cut before an answer. */
export class Pix4dNetworkError extends pix4dError('Pix4dNetworkError', { transient: true }) {}

/** No answer within the request timeout. */
export class Pix4dTimeoutError extends pix4dError('Pix4dTimeoutError', { transient: true }) {}

/** A 2xx answer whose body is not the documented shape. */
export class Pix4dUnexpectedResponseError extends pix4dError('Pix4dUnexpectedResponseError') {}

/**
 * A 3xx answer. The client follows no redirect: `fetch` would drop `Authorization` on another origin but still send
 * `X-Api-Key`, and would turn a redirected POST into a GET.
 */
export class Pix4dRedirectError extends pix4dError('Pix4dRedirectError') {}

/**
 * A create whose answer was lost may have taken effect, and the client could not tell: the service offers no list
 * to look in, or the list holds several resources that could be it. Sending it again could make a duplicate, so
 * the run stops and says what may exist in Pix4Dinspect.
 */
export class Pix4dCreateUnconfirmedError extends pix4dError('Pix4dCreateUnconfirmedError') {}

/**
 * A `process/` that went unanswered (timed out, connection cut) may still start processing, and the call's time ran
 * out before the inspection's status could tell. Transient: the retried step, told of the earlier attempt, watches
 * the status before it sends again, so processing is never started twice.
 */
export class Pix4dProcessingUnconfirmedError extends pix4dError('Pix4dProcessingUnconfirmedError', {
  transient: true,
}) {}

/** The sum of `nb_images_registered` differs from the number of keys sent. */
export class ImageRegistrationMismatchError extends Error {
  override name = 'ImageRegistrationMismatchError';

  constructor(
    readonly inspectionId: number,
    readonly sent: number,
    readonly registered: number,
  ) {
    super(
      `Inspection ${inspectionId}: sent ${sent} image keys for registration but the service registered ${registered}`,
    );
  }
}

/** Names of the errors that a later attempt may get past; Step Functions Retry lists these. */
export const TRANSIENT_PIX4D_ERRORS = [
  'Pix4dThrottledError',
  'Pix4dServerError',
  'Pix4dNetworkError',
  'Pix4dTimeoutError',
  'Pix4dProcessingUnconfirmedError',
] as const;
