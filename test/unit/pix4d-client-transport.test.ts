import { afterEach, describe, expect, it } from 'vitest';
import { version } from '../../package.json';
import { Pix4dInspectClient, USER_AGENT } from '../../src/pix4d/client';
import { Pix4dCreateUnconfirmedError, Pix4dRedirectError } from '../../src/pix4d/errors';
import { DEFAULT_PROCESSING_PARAMETERS } from '../../src/pix4d/schemas';
import {
  type ScriptedAnswer,
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
} from '../helpers/scripted-server';

/**
 * How the client talks HTTP, against servers that answer as scripted: no redirect is followed with credentials,
 * every request names the pipeline, and a 500 is retried like any other 5xx.
 */

const account = {
  username: 'drone.ops+transport@example.com',
  password: 'Pa55-transport-Kq7!',
  apiKey: 'apikey-transport-93be0c',
};
const TOKEN_ANSWER: ScriptedAnswer = { status: 200, body: { api_token: 'jwt-transport-token', expires_in: 36_000 } };
const INSPECTION = {
  id: 1417,
  project_id: 745411,
  asset: 915,
  status: { id: 1, name: 'Created' },
  pcs_task_uuid: null,
  name: 'Flight 1',
  created_at: new Date().toISOString(),
};

const servers: ScriptedServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: (request: ScriptedRequest) => ScriptedAnswer | 'drop'): Promise<ScriptedServer> {
  const server = await startScriptedServer(handler);
  servers.push(server);
  return server;
}

function clientOf(server: ScriptedServer): Pix4dInspectClient {
  return new Pix4dInspectClient({
    account,
    authUrl: server.url,
    apiUrl: server.url,
    requestTimeoutMs: 5_000,
    backoff: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxTotalMs: 5_000 },
  });
}

describe('redirects', () => {
  it.each([301, 302, 307, 308])(
    'a %i to another origin reaches it with neither the API key nor the token, and fails naming the target',
    async (status) => {
      // Prepare: the API moves every inspection request to a server on another port (another origin)
      const elsewhere = await serve(() => ({ status: 200, body: INSPECTION }));
      const api = await serve((request) =>
        request.path === '/v1/auth/token/'
          ? TOKEN_ANSWER
          : { status, headers: { Location: `${elsewhere.url}/v1/inspections/?moved=1` } },
      );
      const client = clientOf(api);

      // Act
      const error = await client.getInspection(1417).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(Pix4dRedirectError);
      expect((error as Pix4dRedirectError).status).toBe(status);
      expect((error as Error).message).toContain(`redirected the request to ${elsewhere.url}/v1/inspections/;`);
      expect((error as Error).message).not.toContain('moved=1');
      expect(elsewhere.requests).toEqual([]);
    },
  );

  it('does not turn a redirected POST into a GET: the create is not sent anywhere else', async () => {
    // Prepare
    const elsewhere = await serve(() => ({ status: 201, body: INSPECTION }));
    const api = await serve((request) =>
      request.path === '/v1/auth/token/'
        ? TOKEN_ANSWER
        : { status: 301, headers: { Location: `${elsewhere.url}/v1/inspections/` } },
    );

    // Act
    const error = await clientOf(api)
      .createInspection({ asset: 915, name: 'Flight 1', processing_parameters: DEFAULT_PROCESSING_PARAMETERS })
      .catch((caught: unknown) => caught);

    // Assess: one POST, answered 301; nothing followed, nothing repeated
    expect(error).toBeInstanceOf(Pix4dRedirectError);
    expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/auth/token/',
      'POST /v1/inspections/',
    ]);
    expect(elsewhere.requests).toEqual([]);
  });

  it('does not follow a redirect of the token request, which carries the password', async () => {
    // Prepare
    const elsewhere = await serve(() => TOKEN_ANSWER);
    const auth = await serve(() => ({ status: 307, headers: { Location: `${elsewhere.url}/v1/auth/token/` } }));
    const client = new Pix4dInspectClient({
      account,
      authUrl: auth.url,
      apiUrl: auth.url,
      backoff: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 100 },
    });

    // Act
    const error = await client.getInspection(1417).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(Pix4dRedirectError);
    expect((error as Pix4dRedirectError).endpoint).toBe('POST /v1/auth/token/');
    expect(elsewhere.requests).toEqual([]);
    expect((error as Error).message).not.toContain(account.password);
  });
});

describe('headers', () => {
  it('name the pipeline and its version in User-Agent, on the token request and on API calls', async () => {
    // Prepare
    const api = await serve((request) =>
      request.path === '/v1/auth/token/' ? TOKEN_ANSWER : { status: 200, body: INSPECTION },
    );

    // Act
    await clientOf(api).getInspection(1417);

    // Assess
    expect(USER_AGENT).toBe(`inspect-pipeline/${version}`);
    expect(api.requests.map((request) => request.headers['user-agent'])).toEqual([USER_AGENT, USER_AGENT]);
  });
});

describe('500 answers', () => {
  it('are retried like other 5xx: an HTML error page, then the answer', async () => {
    // Prepare
    let failures = 0;
    const api = await serve((request) => {
      if (request.path === '/v1/auth/token/') return TOKEN_ANSWER;
      if (failures++ < 2)
        return {
          status: 500,
          headers: { 'Content-Type': 'text/html' },
          body: '<html><body><h1>Server Error (500)</h1></body></html>',
        };
      return { status: 200, body: INSPECTION };
    });

    // Act
    const inspection = await clientOf(api).getInspection(1417);

    // Assess
    expect(inspection.id).toBe(1417);
    expect(api.requests.filter((request) => request.path === '/v1/inspections/1417/')).toHaveLength(3);
  });
});

describe('looking for what a lost create made', () => {
  const created = (id: number, extra: Record<string, unknown> = {}) => ({
    ...INSPECTION,
    id,
    description: '(run r1)',
    ...extra,
  });
  const input = {
    asset: 915,
    name: 'Flight 1',
    description: '(run r1)',
    processing_parameters: DEFAULT_PROCESSING_PARAMETERS,
  };

  function lookupClient(server: ScriptedServer): Pix4dInspectClient {
    return new Pix4dInspectClient({
      account,
      authUrl: server.url,
      apiUrl: server.url,
      backoff: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxTotalMs: 5_000 },
      createSettleMs: 1,
    });
  }

  it('follows a relative next link and finds the created inspection on the second page', async () => {
    // Prepare: the POST's answer is lost; the list has two pages, linked relatively
    const api = await serve((request) => {
      if (request.path === '/v1/auth/token/') return TOKEN_ANSWER;
      if (request.method === 'POST') return 'drop';
      if (request.path === '/v1/inspections/')
        return {
          status: 200,
          body: { count: 2, next: '/v1/inspections/?page=2', previous: null, results: [created(1, { name: 'Other' })] },
        };
      return { status: 200, body: { count: 2, next: null, previous: '/v1/inspections/', results: [created(2)] } };
    });

    // Act
    const inspection = await lookupClient(api).createInspection(input);

    // Assess
    expect(inspection.id).toBe(2);
    expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/auth/token/',
      'POST /v1/inspections/',
      'GET /v1/inspections/',
      'GET /v1/inspections/?page=2',
    ]);
  });

  it('skips an unreadable item that cannot be it, and sends again', async () => {
    // Prepare: one odd inspection of the account (asset null) among the list; the lost POST had no effect
    let posts = 0;
    const api = await serve((request) => {
      if (request.path === '/v1/auth/token/') return TOKEN_ANSWER;
      if (request.method === 'POST') return posts++ === 0 ? 'drop' : { status: 201, body: created(3) };
      return { status: 200, body: [{ id: 9, asset: null, status: null, name: 'Old import' }] };
    });

    // Act
    const inspection = await lookupClient(api).createInspection(input);

    // Assess
    expect(inspection.id).toBe(3);
    expect(posts).toBe(2);
  });

  it('fails with Pix4dCreateUnconfirmedError for an unreadable item of the same name', async () => {
    // Prepare
    const api = await serve((request) => {
      if (request.path === '/v1/auth/token/') return TOKEN_ANSWER;
      if (request.method === 'POST') return 'drop';
      return { status: 200, body: [{ id: 9, asset: null, name: 'Flight 1' }] };
    });

    // Act
    const error = await lookupClient(api)
      .createInspection(input)
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(Pix4dCreateUnconfirmedError);
    expect((error as Error).message).toContain('1 could be it: ids 9 (unreadable)');
    expect(
      api.requests.filter((request) => request.method === 'POST' && request.path === '/v1/inspections/'),
    ).toHaveLength(1);
  });
});

describe('error messages', () => {
  it('hold no URL-encoded password when a failing token endpoint echoes the form body', async () => {
    // Prepare
    const echoing = { ...account, password: 'p@ss w0rd&more=1' };
    const api = await serve((request) => ({
      status: 500,
      headers: { 'Content-Type': 'text/html' },
      body: `<pre>${request.body}</pre>`,
    }));
    const client = new Pix4dInspectClient({
      account: echoing,
      authUrl: api.url,
      apiUrl: api.url,
      backoff: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 10 },
    });

    // Act
    const error = await client.getInspection(1417).catch((caught: unknown) => caught);

    // Assess
    const message = (error as Error).message;
    expect(message).toContain('answered 500');
    for (const form of [
      echoing.password,
      encodeURIComponent(echoing.password),
      new URLSearchParams({ p: echoing.password }).toString().slice(2),
    ]) {
      expect(message).not.toContain(form);
    }
  });
});
