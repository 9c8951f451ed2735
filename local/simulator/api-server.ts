import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { mapWithConcurrency } from '../../src/copy/pool';
import { systemTimers, type Timers } from '../../src/timers';
import { TokenIssuer } from './jwt';
import { isoWithOffset, type ServiceState, type StoredInspection } from './service-state';
import type { FaultMatch, ScriptedFault, SimulatorSettings } from './settings';

/**
 * The Pix4Dinspect API, strict the way a Django REST Framework service is: 403 for the API key, 401 for the
 * token, 400 with field errors for bad bodies, 404 for unknown ids, and the documented limits.
 */

export interface SimulatorAccount {
  readonly username: string;
  readonly password: string;
  readonly apiKey: string;
  /** When set, every API call must send it as `pix4d-organization-uuid`. */
  readonly organizationUuid?: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** 0 when no answer was sent (a disconnect or a stall). */
  readonly status: number;
  readonly fault?: string;
}

type Answer = { readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> };

class HttpProblem extends Error {
  constructor(readonly answer: Answer) {
    super(`HTTP ${answer.status}`);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_KEYS_PER_CALL = 499;
const IMAGE_EXTENSIONS = /\.(jpe?g|tiff?|mp4|mov)$/i;
const HEAD_CONCURRENCY = 16;
/** Items per page of a list, as DRF's PAGE_SIZE setting. */
const PAGE_SIZE = 100;

const createAssetBody = z.object({
  name: z.string().trim().min(1).max(255),
  type: z.number().int().positive(),
  latitude: z
    .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)])
    .transform(Number)
    .pipe(z.number().min(-90).max(90))
    .optional(),
  longitude: z
    .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)])
    .transform(Number)
    .pipe(z.number().min(-180).max(180))
    .optional(),
  description: z.string().max(2000).optional(),
});

const processingParametersBody = z.object({
  is_video: z.boolean(),
  generate_point_cloud: z.boolean(),
  clip_point_cloud: z.boolean(),
  clipping_radius: z.number().nonnegative(),
  detect_antennas: z.boolean(),
});

const createInspectionBody = z.object({
  asset: z.number().int(),
  processing_parameters: processingParametersBody,
  name: z.string().max(255).optional(),
  description: z.string().max(2000).optional(),
  inspection_date: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)), 'Datetime has wrong format.')
    .optional(),
});

const registerImagesBody = z.object({
  image_keys: z
    .array(z.string().min(1))
    .min(1, 'This list may not be empty.')
    .max(MAX_KEYS_PER_CALL, `Ensure this field has no more than ${MAX_KEYS_PER_CALL} elements.`),
});

export interface ApiServerDependencies {
  readonly state: ServiceState;
  readonly account: SimulatorAccount;
  readonly settings: SimulatorSettings;
  readonly faults: ScriptedFault[];
  readonly requests: RecordedRequest[];
  /** Reads the simulator's bucket directly, to check that registered keys exist. */
  readonly bucketClient: S3Client;
  readonly random?: () => number;
  /** The service's clock for processing progress; tests and benchmarks may run it faster. @default Date.now */
  readonly clock?: () => number;
  /** The clock and timers of the service's own waits (the `delay` fault, stalls). @default systemTimers */
  readonly timers?: Timers;
}

export interface ApiHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Invalidates every token issued so far, as a password change or key rotation would. */
  revokeTokens(): void;
  /** See `Simulator.stall`. */
  stall(ms: number, match?: FaultMatch): void;
}

/** A stalled service: matching requests that arrive before `endsAt` are held, unanswered, until it ends. */
interface Stall {
  readonly endsAt: number;
  readonly match: FaultMatch;
  readonly held: Set<Socket>;
}

/** What a route's handler is given: the request, its caller authenticated (but at the token endpoint), and the service. */
interface Call {
  readonly deps: ApiServerDependencies;
  readonly tokens: TokenIssuer;
  readonly req: IncomingMessage;
  readonly path: string;
  readonly body: Buffer;
  /** The service's clock once the route is found. */
  readonly now: number;
  /** The path's `:id`. */
  readonly id?: number;
  /** The stored inspection the path's `:inspection` names. */
  readonly inspection?: StoredInspection;
}

type Handler = (call: Call) => Answer | Promise<Answer>;

interface Route {
  /**
   * The path between `/v1/` and its trailing slash, one segment each: a literal; `:id`, any segment, parsed once the
   * method is allowed (a malformed id is a 404, a wrong method a 405); or `:inspection`, which matches only the id
   * of a stored inspection (an unknown one is a 404 whatever the method).
   */
  readonly pattern: readonly string[];
  /** Answered without a token: the token endpoint itself. */
  readonly open: boolean;
  /** A handler per method; their order is the `Allow` header of a 405. */
  readonly methods: ReadonlyMap<string, Handler>;
}

const route = (pattern: string, methods: Record<string, Handler>, open = false): Route => ({
  pattern: pattern.split('/'),
  open,
  methods: new Map(Object.entries(methods)),
});

/** The Pix4Dinspect API the pipeline uses. */
const ROUTES: readonly Route[] = [
  route('auth/token', { POST: issueToken }, true),
  route('assets', { GET: listAssets, POST: createAsset }),
  route('assets/:id', { GET: getAsset }),
  route('inspections', { GET: listInspections, POST: createInspection }),
  route('inspections/:inspection', { GET: getInspection }),
  route('inspections/:inspection/s3_credentials', { GET: s3Credentials }),
  route('inspections/:inspection/register_images', { POST: registerImages }),
  route('inspections/:inspection/process', { POST: startProcessing }),
];

/** The most segments a route has: a longer path is a 404 before its caller is authenticated. */
const MAX_SEGMENTS = Math.max(...ROUTES.map((entry) => entry.pattern.length));

interface RouteMatch {
  readonly route: Route;
  readonly idText?: string;
  readonly inspection?: StoredInspection;
}

export function createApiHandler(deps: ApiServerDependencies): ApiHandler {
  const service = new ApiService(deps);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    service.handle(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: { detail: 'Internal server error.' } });
    });
  };
  return Object.assign(handler, {
    revokeTokens: () => service.revokeTokens(),
    stall: (ms: number, match?: FaultMatch) => service.stall(ms, match),
  });
}

class ApiService {
  private tokens = new TokenIssuer();
  private readonly random: () => number;
  private readonly timers: Timers;
  private readonly clock: () => number;
  private readonly stalls = new Set<Stall>();

  constructor(private readonly deps: ApiServerDependencies) {
    this.random = deps.random ?? Math.random;
    this.timers = deps.timers ?? systemTimers;
    this.clock = deps.clock ?? Date.now;
  }

  revokeTokens(): void {
    this.tokens = new TokenIssuer();
  }

  stall(ms: number, match: FaultMatch = {}): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`A stall lasts a finite, non-negative number of ms, not ${ms}`);
    const entry: Stall = { endsAt: this.timers.now() + ms, match, held: new Set() };
    this.stalls.add(entry);
    // A timeout signal rather than a sleep: a simulator closed during a stall keeps no timer alive.
    this.timers.timeoutSignal(ms).addEventListener(
      'abort',
      () => {
        this.stalls.delete(entry);
        // A stalled service that recovers drops what it held: the callers see a cut connection.
        for (const socket of entry.held) socket.destroy();
        entry.held.clear();
      },
      { once: true },
    );
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    const record = (status: number, fault?: string) =>
      this.deps.requests.push({ method, path, status, ...(fault ? { fault } : {}) });

    // Before anything else, so that a stalled request takes no scripted fault and has no effect.
    if (this.holdIfStalled(req, method, path)) {
      record(0, 'stalled');
      return;
    }

    // A Django REST Framework service throttles after authenticating: such a fault spares a refused token.
    const scripted = takeScriptedFault(
      this.deps.faults,
      method,
      path,
      (fault) => !(fault.action === 'answer' && fault.afterAuthentication) || this.tokenAccepted(req),
    );
    if (scripted?.action === 'disconnect') {
      record(0, 'disconnect');
      req.socket.destroy();
      return;
    }
    if (scripted?.action === 'delay') await this.timers.sleep(scripted.ms);
    // A slow service has read the whole request before it waits: the caller giving up no longer stops it.
    let earlyRead: Promise<Buffer> | undefined;
    if (scripted?.action === 'slow') {
      earlyRead = readBody(req);
      await earlyRead.catch(() => undefined);
      await this.timers.sleep(scripted.ms);
    }
    if (scripted?.action === 'answer') {
      record(scripted.status, 'scripted');
      const answer = faultAnswer(scripted.status, scripted.retryAfterSeconds ?? this.deps.settings.retryAfterSeconds);
      return send(res, scripted.body === undefined ? answer : { ...answer, body: scripted.body });
    }
    const injected = randomFault(this.deps.settings, this.random);
    if (injected && !scripted) {
      record(injected.status, 'injected');
      return send(res, injected);
    }

    const answer = await this.answer(req, method, path, earlyRead);
    const lost =
      scripted?.action === 'lose-answer' ? scripted.status : randomLostAnswer(this.deps.settings, this.random);
    if (lost === undefined) {
      record(answer.status);
      return send(res, answer);
    }
    record(lost, 'lost answer');
    if (lost === 0) {
      req.socket.destroy();
      return;
    }
    send(res, faultAnswer(lost, this.deps.settings.retryAfterSeconds));
  }

  /** Holds the request's connection, unanswered, when a stall matches it. */
  private holdIfStalled(req: IncomingMessage, method: string, path: string): boolean {
    const now = this.timers.now();
    const stalled = [...this.stalls].find((stall) => now < stall.endsAt && matches(stall.match, method, path));
    if (!stalled) return false;
    const socket = req.socket;
    stalled.held.add(socket);
    socket.once('close', () => stalled.held.delete(socket));
    return true;
  }

  private async answer(
    req: IncomingMessage,
    method: string,
    path: string,
    earlyRead: Promise<Buffer> | undefined,
  ): Promise<Answer> {
    try {
      const body = await (earlyRead ?? readBody(req));
      return await this.dispatch(req, method, path, body);
    } catch (error) {
      return error instanceof HttpProblem ? error.answer : { status: 500, body: { detail: 'Internal server error.' } };
    }
  }

  /** Finds the route (authenticating the caller first unless it is open), checks the method, parses the id. */
  private async dispatch(req: IncomingMessage, method: string, path: string, body: Buffer): Promise<Answer> {
    const segments = path.split('/');
    // ['', 'v1', ...route segments, '']
    if (segments[0] !== '' || segments[1] !== 'v1' || segments.at(-1) !== '' || segments.length - 3 > MAX_SEGMENTS)
      throw notFound();
    const routeSegments = segments.slice(2, -1);
    let found = this.findRoute(routeSegments, true);
    if (!found) {
      this.authenticate(req);
      found = this.findRoute(routeSegments, false);
      if (!found) throw notFound();
    }
    const handler = found.route.methods.get(method);
    if (!handler) throw methodNotAllowed(method, [...found.route.methods.keys()]);
    const id = found.idText === undefined ? {} : { id: parseId(found.idText) };
    const inspection = found.inspection ? { inspection: found.inspection } : {};
    return handler({ deps: this.deps, tokens: this.tokens, req, path, body, now: this.clock(), ...id, ...inspection });
  }

  private findRoute(segments: readonly string[], open: boolean): RouteMatch | undefined {
    for (const entry of ROUTES) {
      if (entry.open !== open || entry.pattern.length !== segments.length) continue;
      const found = matchRoute(entry, segments, this.deps.state);
      if (found) return found;
    }
    return undefined;
  }

  private authenticate(req: IncomingMessage): void {
    requireApiKey(this.deps.account, req);
    const header = req.headers.authorization;
    if (!header) throw unauthorized('Authentication credentials were not provided.');
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (!match)
      throw unauthorized('Authorization header must contain two space-delimited values', 'bad_authorization_header');
    const verdict = this.tokens.verify(match[1] as string);
    if (verdict === 'expired') throw unauthorized('Token is expired', 'token_not_valid');
    if (typeof verdict === 'string') throw unauthorized('Given token not valid for any token type', 'token_not_valid');
    const organization = this.deps.account.organizationUuid;
    if (organization && req.headers['pix4d-organization-uuid'] !== organization) {
      throw new HttpProblem({ status: 403, body: { detail: 'You do not have permission to perform this action.' } });
    }
  }

  private tokenAccepted(req: IncomingMessage): boolean {
    try {
      this.authenticate(req);
      return true;
    } catch {
      return false;
    }
  }
}

/** Matches `segments` (as many as the pattern has) against the route's pattern. */
function matchRoute(entry: Route, segments: readonly string[], state: ServiceState): RouteMatch | undefined {
  let found: RouteMatch = { route: entry };
  for (const [index, part] of entry.pattern.entries()) {
    const segment = segments[index] as string;
    if (part === ':id') {
      found = { ...found, idText: segment };
    } else if (part === ':inspection') {
      const inspection = /^\d+$/.test(segment) ? state.inspections.get(Number(segment)) : undefined;
      if (!inspection) return undefined;
      found = { ...found, inspection };
    } else if (part !== segment) {
      return undefined;
    }
  }
  return found;
}

function requireApiKey(account: SimulatorAccount, req: IncomingMessage): void {
  const key = req.headers['x-api-key'];
  if (!key) throw new HttpProblem({ status: 403, body: { detail: 'API key is missing.' } });
  if (key !== account.apiKey) throw new HttpProblem({ status: 403, body: { detail: 'Invalid API key.' } });
}

/** The inspection a `:inspection` route matched. */
function matchedInspection(call: Call): StoredInspection {
  if (!call.inspection) throw notFound();
  return call.inspection;
}

function issueToken({ deps, tokens, req, body }: Call): Answer {
  requireApiKey(deps.account, req);
  const fields = parseTokenForm(req.headers['content-type'], body);
  const missing = ['username', 'password'].filter((name) => !fields[name]);
  if (missing.length > 0)
    throw badRequest(Object.fromEntries(missing.map((name) => [name, ['This field is required.']])));
  if (fields.username !== deps.account.username || fields.password !== deps.account.password) {
    throw new HttpProblem({ status: 401, body: { detail: 'No active account found with the given credentials' } });
  }
  const lifetime = deps.settings.tokenTtlSeconds;
  return { status: 200, body: { api_token: tokens.issue(deps.account.username, lifetime), expires_in: lifetime } };
}

function listAssets(call: Call): Answer {
  return { status: 200, body: page([...call.deps.state.assets.values()], call) };
}

function getAsset({ deps, id }: Call): Answer {
  const asset = id === undefined ? undefined : deps.state.assets.get(id);
  if (!asset) throw notFound();
  return { status: 200, body: asset };
}

function createAsset({ deps, body, now }: Call): Answer {
  const input = validate(createAssetBody, parseJson(body));
  const asset = deps.state.createAsset(
    {
      name: input.name,
      type: input.type,
      latitude: input.latitude === undefined ? null : input.latitude.toFixed(8),
      longitude: input.longitude === undefined ? null : input.longitude.toFixed(8),
      description: input.description ?? '',
    },
    now,
  );
  return { status: 201, body: asset };
}

function listInspections(call: Call): Answer {
  const { state } = call.deps;
  const views = [...state.inspections.values()].map((inspection) => state.inspectionView(inspection, call.now));
  return { status: 200, body: page(views, call) };
}

function getInspection(call: Call): Answer {
  return { status: 200, body: call.deps.state.inspectionView(matchedInspection(call), call.now) };
}

function createInspection({ deps, body, now }: Call): Answer {
  const input = validate(createInspectionBody, parseJson(body));
  if (!deps.state.assets.has(input.asset))
    throw badRequest({ asset: [`Invalid pk "${input.asset}" - object does not exist.`] });
  const inspection = deps.state.createInspection(
    {
      assetId: input.asset,
      name: input.name ?? `Inspection ${isoWithOffset(now).slice(0, 10)}`,
      description: input.description ?? '',
      inspectionDate: input.inspection_date ? isoWithOffset(Date.parse(input.inspection_date)) : isoWithOffset(now),
      inspectionDateGiven: input.inspection_date ?? null,
      processingParameters: input.processing_parameters,
    },
    now,
  );
  return { status: 201, body: deps.state.inspectionView(inspection, now) };
}

function s3Credentials(call: Call): Answer {
  const { deps, now } = call;
  const issued = deps.state.issueCredentials(matchedInspection(call), deps.settings.credentialsTtlSeconds, now);
  return {
    status: 200,
    body: {
      access_key: issued.accessKeyId,
      secret_key: issued.secretAccessKey,
      session_token: issued.sessionToken,
      expiration: new Date(issued.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      bucket: issued.bucket,
      key: issued.keyPrefix,
      server_time: isoWithOffset(now),
      region: 'us-east-1',
    },
  };
}

async function registerImages(call: Call): Promise<Answer> {
  const { deps, body, now } = call;
  const inspection = matchedInspection(call);
  if (inspection.processing) throw badRequest({ detail: 'Images cannot be registered once processing has started.' });
  const { image_keys } = validate(registerImagesBody, parseJson(body));
  // A `.` or `..` segment would make a key below the prefix name an object elsewhere once treated as a path.
  const outside = image_keys.filter(
    (key) =>
      !key.startsWith(`${inspection.keyPrefix}/`) ||
      key.length <= inspection.keyPrefix.length + 1 ||
      key.split('/').some((segment) => segment === '.' || segment === '..'),
  );
  if (outside.length > 0) {
    throw badRequest({
      image_keys: [
        `${outside.length} key(s) outside the inspection's prefix ${inspection.keyPrefix}/, e.g. ${outside[0]}`,
      ],
    });
  }
  const unsupported = image_keys.filter((key) => !IMAGE_EXTENSIONS.test(key));
  if (unsupported.length > 0) {
    throw badRequest({
      image_keys: [`${unsupported.length} key(s) without a supported image extension, e.g. ${unsupported[0]}`],
    });
  }
  const missing = await findMissingObjects(deps.bucketClient, deps.state.bucket, image_keys);
  if (missing.length > 0) {
    throw badRequest({
      image_keys: [`${missing.length} key(s) not found in bucket ${deps.state.bucket}, e.g. ${missing[0]}`],
    });
  }
  for (const key of image_keys) {
    inspection.registeredKeys.add(key);
    inspection.registrations.set(key, (inspection.registrations.get(key) ?? 0) + 1);
  }
  inspection.updatedAt = isoWithOffset(now);
  return { status: 200, body: { nb_images_registered: image_keys.length } };
}

function startProcessing(call: Call): Answer {
  const { deps, now } = call;
  const inspection = matchedInspection(call);
  if (inspection.registeredKeys.size === 0)
    throw badRequest({ detail: 'No images are registered for this inspection.' });
  if (inspection.processing) throw badRequest({ detail: 'Processing was already started for this inspection.' });
  inspection.processing = {
    startedAt: now,
    durationMs: deps.settings.processingSeconds * 1000,
    outcome: deps.settings.processingOutcome,
    taskUuid: randomUUID(),
  };
  inspection.updatedAt = isoWithOffset(now);
  return { status: 202, body: deps.state.inspectionView(inspection, now) };
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  return (!match.method || match.method === method) && (!match.pathIncludes || path.includes(match.pathIncludes));
}

function takeScriptedFault(
  faults: ScriptedFault[],
  method: string,
  path: string,
  applies: (fault: ScriptedFault) => boolean,
): ScriptedFault | undefined {
  const index = faults.findIndex((fault) => matches(fault, method, path) && applies(fault));
  return index < 0 ? undefined : faults.splice(index, 1)[0];
}

function randomFault(settings: SimulatorSettings, random: () => number): Answer | undefined {
  const draw = random();
  if (draw < settings.rateLimitRate) return faultAnswer(429, settings.retryAfterSeconds);
  if (draw < settings.rateLimitRate + settings.errorRate)
    return faultAnswer([502, 503, 504][Math.floor(random() * 3)] ?? 503, 0);
  return undefined;
}

/** A lost answer for a request that took effect: 502 or 504 from the gateway, or a dropped connection (0). */
function randomLostAnswer(settings: SimulatorSettings, random: () => number): number | undefined {
  if (settings.lostAnswerRate <= 0 || random() >= settings.lostAnswerRate) return undefined;
  return [502, 504, 0][Math.floor(random() * 3)] ?? 504;
}

function faultAnswer(status: number, retryAfterSeconds: number): Answer {
  if (status === 429) {
    return {
      status,
      headers: { 'Retry-After': String(retryAfterSeconds) },
      body: { detail: `Request was throttled. Expected available in ${retryAfterSeconds} seconds.` },
    };
  }
  return { status, body: { detail: status >= 500 ? 'The service is temporarily unavailable.' : 'Simulated fault.' } };
}

/** The keys with no object in the bucket, in the order given. */
async function findMissingObjects(client: S3Client, bucket: string, keys: readonly string[]): Promise<string[]> {
  const exists = await mapWithConcurrency(keys, HEAD_CONCURRENCY, async (key) => {
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
      return false;
    }
  });
  return keys.filter((_, index) => !exists[index]);
}

/**
 * The token endpoint takes the tutorial's two curl forms: `-d "username=...&password=..."` (urlencoded, even under
 * a JSON content type) and `--form` (multipart, which curl labels `application/json; boundary=...` when the
 * content type is overridden). A real JSON body is accepted too.
 */
export function parseTokenForm(contentType: string | undefined, body: Buffer): Record<string, string> {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
  if (boundary) return parseMultipart(body.toString('utf8'), boundary);
  const text = body.toString('utf8').trim();
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(json).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
    } catch {
      throw badRequest({ detail: 'JSON parse error.' });
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function parseMultipart(text: string, boundary: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of text.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name) fields[name] = part.slice(split + 4).replace(/\r\n$/, '');
  }
  return fields;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8') || 'null');
  } catch (error) {
    throw badRequest({ detail: `JSON parse error - ${(error as Error).message}` });
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest({ non_field_errors: ['Invalid data. Expected a dictionary.'] });
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: Record<string, string[]> = {};
  for (const issue of result.error.issues) {
    const field = issue.path.join('.') || 'non_field_errors';
    const absent = issue.code === 'invalid_type' && issue.message.includes('undefined');
    errors[field] = [...(errors[field] ?? []), absent ? 'This field is required.' : issue.message];
  }
  throw badRequest(errors);
}

function parseId(text: string | undefined): number {
  if (!text || !/^\d+$/.test(text)) throw notFound();
  return Number(text);
}

function methodNotAllowed(method: string, allowed: readonly string[]): HttpProblem {
  return new HttpProblem({
    status: 405,
    body: { detail: `Method "${method}" not allowed.` },
    headers: { Allow: allowed.join(', ') },
  });
}

/** Django REST Framework's page-number pagination: `?page=N`, absolute `next` and `previous` links. */
function page<T>(all: readonly T[], { req, path }: Call): Record<string, unknown> {
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  const requested = new URL(req.url ?? '/', 'http://simulator').searchParams.get('page') ?? '1';
  const number = /^\d+$/.test(requested) ? Number(requested) : Number.NaN;
  if (!(number >= 1 && number <= pages)) throw notFound('Invalid page.');
  const link = (to: number) => `http://${req.headers.host ?? '127.0.0.1'}${path}?page=${to}`;
  return {
    count: all.length,
    next: number < pages ? link(number + 1) : null,
    previous: number > 1 ? link(number - 1) : null,
    results: all.slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE),
  };
}

const badRequest = (body: Record<string, unknown>) => new HttpProblem({ status: 400, body });
const notFound = (detail = 'Not found.') => new HttpProblem({ status: 404, body: { detail } });
const unauthorized = (detail: string, code?: string) =>
  new HttpProblem({
    status: 401,
    body: code ? { detail, code } : { detail },
    headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
  });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem({ status: 413, body: { detail: 'Request body too large.' } });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, answer: Answer): void {
  const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    ...answer.headers,
  });
  res.end(payload);
}
