import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { systemTimers, Timers } from '../../src/timers';
import { TokenIssuer } from './jwt';
import { isoWithOffset, ServiceState, StoredInspection } from './service-state';
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
  latitude: z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform(Number).pipe(z.number().min(-90).max(90)).optional(),
  longitude: z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform(Number).pipe(z.number().min(-180).max(180)).optional(),
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

export function createApiHandler(deps: ApiServerDependencies): ApiHandler {
  let tokens = new TokenIssuer();
  const random = deps.random ?? Math.random;
  const timers = deps.timers ?? systemTimers;
  const stalls = new Set<Stall>();

  function activeStall(method: string, path: string): Stall | undefined {
    const now = timers.now();
    for (const stall of stalls) if (now < stall.endsAt && matches(stall.match, method, path)) return stall;
    return undefined;
  }

  function stall(ms: number, match: FaultMatch = {}): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`A stall lasts a finite, non-negative number of ms, not ${ms}`);
    const entry: Stall = { endsAt: timers.now() + ms, match, held: new Set() };
    stalls.add(entry);
    // A timeout signal rather than a sleep: a simulator closed during a stall keeps no timer alive.
    timers.timeoutSignal(ms).addEventListener(
      'abort',
      () => {
        stalls.delete(entry);
        // A stalled service that recovers drops what it held: the callers see a cut connection.
        for (const socket of entry.held) socket.destroy();
        entry.held.clear();
      },
      { once: true },
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    const record = (status: number, fault?: string) => deps.requests.push({ method, path, status, ...(fault ? { fault } : {}) });

    // Before anything else, so that a stalled request takes no scripted fault and has no effect.
    const stalled = activeStall(method, path);
    if (stalled) {
      record(0, 'stalled');
      const socket = req.socket;
      stalled.held.add(socket);
      socket.once('close', () => stalled.held.delete(socket));
      return;
    }

    // A Django REST Framework service throttles after authenticating: such a fault spares a refused token.
    const scripted = takeScriptedFault(deps.faults, method, path, (fault) => !(fault.action === 'answer' && fault.afterAuthentication) || tokenAccepted(req));
    if (scripted?.action === 'disconnect') {
      record(0, 'disconnect');
      req.socket.destroy();
      return;
    }
    if (scripted?.action === 'delay') await timers.sleep(scripted.ms);
    // A slow service has read the whole request before it waits: the caller giving up no longer stops it.
    let earlyRead: Promise<Buffer> | undefined;
    if (scripted?.action === 'slow') {
      earlyRead = readBody(req);
      await earlyRead.catch(() => undefined);
      await timers.sleep(scripted.ms);
    }
    if (scripted?.action === 'answer') {
      record(scripted.status, 'scripted');
      const answer = faultAnswer(scripted.status, scripted.retryAfterSeconds ?? deps.settings.retryAfterSeconds);
      return send(res, scripted.body === undefined ? answer : { ...answer, body: scripted.body });
    }
    const injected = randomFault(deps.settings, random);
    if (injected && !scripted) {
      record(injected.status, 'injected');
      return send(res, injected);
    }

    let answer: Answer;
    try {
      const body = await (earlyRead ?? readBody(req));
      answer = await route(method, path, req, body);
    } catch (error) {
      answer = error instanceof HttpProblem ? error.answer : { status: 500, body: { detail: 'Internal server error.' } };
    }
    const lost = scripted?.action === 'lose-answer' ? scripted.status : randomLostAnswer(deps.settings, random);
    if (lost !== undefined) {
      record(lost, 'lost answer');
      if (lost === 0) {
        req.socket.destroy();
        return;
      }
      return send(res, faultAnswer(lost, deps.settings.retryAfterSeconds));
    }
    record(answer.status);
    send(res, answer);
  }

  async function route(method: string, path: string, req: IncomingMessage, body: Buffer): Promise<Answer> {
    const query = new URL(req.url ?? '/', 'http://simulator').searchParams;
    if (path === '/v1/auth/token/') {
      allow(method, ['POST']);
      return issueToken(req, body);
    }
    const segments = path.split('/');
    // ['', 'v1', resource, id?, action?, '']
    if (segments[0] !== '' || segments[1] !== 'v1' || segments.at(-1) !== '') throw notFound();
    const [resource, id, action, ...rest] = segments.slice(2, -1);
    if (rest.length > 0) throw notFound();
    authenticate(req);
    const now = (deps.clock ?? Date.now)();

    if (resource === 'assets' && id === undefined) {
      allow(method, ['GET', 'POST']);
      return method === 'POST' ? createAsset(body, now) : { status: 200, body: page([...deps.state.assets.values()], req, path, query) };
    }
    if (resource === 'assets' && action === undefined) {
      allow(method, ['GET']);
      const asset = deps.state.assets.get(parseId(id));
      if (!asset) throw notFound();
      return { status: 200, body: asset };
    }
    if (resource === 'inspections' && id === undefined) {
      allow(method, ['GET', 'POST']);
      if (method === 'POST') return createInspection(body, now);
      const views = [...deps.state.inspections.values()].map((inspection) => deps.state.inspectionView(inspection, now));
      return { status: 200, body: page(views, req, path, query) };
    }
    if (resource !== 'inspections') throw notFound();
    const inspection = deps.state.inspections.get(parseId(id));
    if (!inspection) throw notFound();
    switch (action) {
      case undefined:
        allow(method, ['GET']);
        return { status: 200, body: deps.state.inspectionView(inspection, now) };
      case 's3_credentials':
        allow(method, ['GET']);
        return s3Credentials(inspection, now);
      case 'register_images':
        allow(method, ['POST']);
        return registerImages(inspection, body, now);
      case 'process':
        allow(method, ['POST']);
        return startProcessing(inspection, now);
      default:
        throw notFound();
    }
  }

  function issueToken(req: IncomingMessage, body: Buffer): Answer {
    requireApiKey(req);
    const fields = parseTokenForm(req.headers['content-type'], body);
    const missing = ['username', 'password'].filter((name) => !fields[name]);
    if (missing.length > 0) throw badRequest(Object.fromEntries(missing.map((name) => [name, ['This field is required.']])));
    if (fields.username !== deps.account.username || fields.password !== deps.account.password) {
      throw new HttpProblem({ status: 401, body: { detail: 'No active account found with the given credentials' } });
    }
    const lifetime = deps.settings.tokenTtlSeconds;
    return { status: 200, body: { api_token: tokens.issue(deps.account.username, lifetime), expires_in: lifetime } };
  }

  function authenticate(req: IncomingMessage): void {
    requireApiKey(req);
    const header = req.headers.authorization;
    if (!header) throw unauthorized('Authentication credentials were not provided.');
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (!match) throw unauthorized('Authorization header must contain two space-delimited values', 'bad_authorization_header');
    const verdict = tokens.verify(match[1] as string);
    if (verdict === 'expired') throw unauthorized('Token is expired', 'token_not_valid');
    if (typeof verdict === 'string') throw unauthorized('Given token not valid for any token type', 'token_not_valid');
    const organization = deps.account.organizationUuid;
    if (organization && req.headers['pix4d-organization-uuid'] !== organization) {
      throw new HttpProblem({ status: 403, body: { detail: 'You do not have permission to perform this action.' } });
    }
  }

  function tokenAccepted(req: IncomingMessage): boolean {
    try {
      authenticate(req);
      return true;
    } catch {
      return false;
    }
  }

  function requireApiKey(req: IncomingMessage): void {
    const key = req.headers['x-api-key'];
    if (!key) throw new HttpProblem({ status: 403, body: { detail: 'API key is missing.' } });
    if (key !== deps.account.apiKey) throw new HttpProblem({ status: 403, body: { detail: 'Invalid API key.' } });
  }

  function createAsset(body: Buffer, now: number): Answer {
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

  function createInspection(body: Buffer, now: number): Answer {
    const input = validate(createInspectionBody, parseJson(body));
    if (!deps.state.assets.has(input.asset)) throw badRequest({ asset: [`Invalid pk "${input.asset}" - object does not exist.`] });
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

  function s3Credentials(inspection: StoredInspection, now: number): Answer {
    const issued = deps.state.issueCredentials(inspection, deps.settings.credentialsTtlSeconds, now);
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

  async function registerImages(inspection: StoredInspection, body: Buffer, now: number): Promise<Answer> {
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
      throw badRequest({ image_keys: [`${outside.length} key(s) outside the inspection's prefix ${inspection.keyPrefix}/, e.g. ${outside[0]}`] });
    }
    const unsupported = image_keys.filter((key) => !IMAGE_EXTENSIONS.test(key));
    if (unsupported.length > 0) {
      throw badRequest({ image_keys: [`${unsupported.length} key(s) without a supported image extension, e.g. ${unsupported[0]}`] });
    }
    const missing = await findMissingObjects(deps.bucketClient, deps.state.bucket, image_keys);
    if (missing.length > 0) {
      throw badRequest({ image_keys: [`${missing.length} key(s) not found in bucket ${deps.state.bucket}, e.g. ${missing[0]}`] });
    }
    for (const key of image_keys) {
      inspection.registeredKeys.add(key);
      inspection.registrations.set(key, (inspection.registrations.get(key) ?? 0) + 1);
    }
    inspection.updatedAt = isoWithOffset(now);
    return { status: 200, body: { nb_images_registered: image_keys.length } };
  }

  function startProcessing(inspection: StoredInspection, now: number): Answer {
    if (inspection.registeredKeys.size === 0) throw badRequest({ detail: 'No images are registered for this inspection.' });
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

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: { detail: 'Internal server error.' } });
    });
  };
  return Object.assign(handler, {
    revokeTokens: () => {
      tokens = new TokenIssuer();
    },
    stall,
  });
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  return (!match.method || match.method === method) && (!match.pathIncludes || path.includes(match.pathIncludes));
}

function takeScriptedFault(faults: ScriptedFault[], method: string, path: string, applies: (fault: ScriptedFault) => boolean): ScriptedFault | undefined {
  const index = faults.findIndex((fault) => matches(fault, method, path) && applies(fault));
  return index < 0 ? undefined : faults.splice(index, 1)[0];
}

function randomFault(settings: SimulatorSettings, random: () => number): Answer | undefined {
  const draw = random();
  if (draw < settings.rateLimitRate) return faultAnswer(429, settings.retryAfterSeconds);
  if (draw < settings.rateLimitRate + settings.errorRate) return faultAnswer([502, 503, 504][Math.floor(random() * 3)] ?? 503, 0);
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

async function findMissingObjects(client: S3Client, bucket: string, keys: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < keys.length) {
      const key = keys[next++] as string;
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
        missing.push(key);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, keys.length) }, worker));
  return missing;
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
      return Object.fromEntries(Object.entries(json).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
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
    (errors[field] ??= []).push(absent ? 'This field is required.' : issue.message);
  }
  throw badRequest(errors);
}

function parseId(text: string | undefined): number {
  if (!text || !/^\d+$/.test(text)) throw notFound();
  return Number(text);
}

function allow(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpProblem({ status: 405, body: { detail: `Method "${method}" not allowed.` }, headers: { Allow: allowed.join(', ') } });
  }
}

/** Django REST Framework's page-number pagination: `?page=N`, absolute `next` and `previous` links. */
function page<T>(all: readonly T[], req: IncomingMessage, path: string, query: URLSearchParams): Record<string, unknown> {
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  const requested = query.get('page') ?? '1';
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
  new HttpProblem({ status: 401, body: code ? { detail, code } : { detail }, headers: { 'WWW-Authenticate': 'Bearer realm="api"' } });

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
