import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The simulator's command line, run as a user would (`tsx local/simulator/cli.ts`): what it prints, that the
 * printed credentials work, that it stops cleanly on SIGTERM and SIGINT, and that bad options exit 2.
 */

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = 'local/simulator/cli.ts';
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

interface JsonBanner {
  apiUrl: string;
  authUrl: string;
  s3Endpoint: string;
  bucket: string;
  region: string;
  username: string;
  password: string;
  apiKey: string;
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

function runCli(args: readonly string[]): Running {
  const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (err += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves once stdout holds `lines` complete lines (or rejects if the process ends first or takes too long). */
function waitForLines(running: Running, lines: number, limitMs = 15_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const complete = running.stdout().split('\n').slice(0, -1);
      if (complete.length >= lines) {
        cleanup();
        resolve(complete);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${lines} line(s) on stdout within ${limitMs} ms; stderr: ${running.stderr()}`));
    }, limitMs);
    const onExit = () => {
      cleanup();
      reject(
        new Error(`exited before printing ${lines} line(s); stdout: ${running.stdout()} stderr: ${running.stderr()}`),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      running.child.stdout?.off('data', check);
      running.child.off('exit', onExit);
    };
    running.child.stdout?.on('data', check);
    running.child.once('exit', onExit);
    check();
  });
}

/** The exit of the process, or a rejection when it does not exit within `limitMs` (it is then killed). */
async function exitWithin(
  running: Running,
  limitMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      running.child.kill('SIGKILL');
      reject(new Error(`did not exit within ${limitMs} ms`));
    }, limitMs);
  });
  try {
    return await Promise.race([running.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function tokenRequest(
  banner: Pick<JsonBanner, 'apiUrl' | 'username' | 'password' | 'apiKey'>,
): Promise<Response> {
  return fetch(`${banner.apiUrl}/v1/auth/token/`, {
    method: 'POST',
    headers: { 'X-Api-Key': banner.apiKey, 'Content-Type': 'application/json' },
    body: `username=${encodeURIComponent(banner.username)}&password=${encodeURIComponent(banner.password)}`,
  });
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

async function refusesConnections(url: string): Promise<boolean> {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await answer.arrayBuffer();
    return false;
  } catch (error) {
    const code = (error as Error & { cause?: { code?: string } }).cause?.code;
    return code === 'ECONNREFUSED';
  }
}

async function startJson(): Promise<{ running: Running; banner: JsonBanner; firstLine: string }> {
  const running = runCli(['--json', '--processing-seconds', '1']);
  const [firstLine] = await waitForLines(running, 1);
  return { running, banner: JSON.parse(firstLine as string) as JsonBanner, firstLine: firstLine as string };
}

afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('simulator CLI --json', () => {
  it('prints one JSON object on the first stdout line, with working credentials, and stops on SIGTERM', async () => {
    // Prepare
    const { running, banner, firstLine } = await startJson();

    // Act
    const token = await tokenRequest(banner);
    const tokenBody = (await token.json()) as { api_token?: string };
    running.child.kill('SIGTERM');
    const exit = await exitWithin(running, 10_000);

    // Assess
    expect(firstLine.trim().startsWith('{') && firstLine.trim().endsWith('}')).toBe(true);
    expect(banner).toEqual(
      expect.objectContaining({
        apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        authUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        s3Endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        bucket: expect.any(String),
        region: 'us-east-1',
        username: expect.any(String),
        password: expect.any(String),
        apiKey: expect.any(String),
      }),
    );
    for (const field of ['bucket', 'username', 'password', 'apiKey'] as const)
      expect(banner[field].length, field).toBeGreaterThan(0);
    expect(token.status).toBe(200);
    expect(tokenBody.api_token).toEqual(expect.any(String));
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await refusesConnections(`${banner.apiUrl}/v1/auth/token/`)).toBe(true);
    expect(await refusesConnections(`${banner.s3Endpoint}/${banner.bucket}`)).toBe(true);
  });

  it('applies --processing-seconds to its settings', async () => {
    // Prepare
    const running = runCli(['--json', '--processing-seconds', '1', '--retry-after', '9']);

    // Act
    const [firstLine] = await waitForLines(running, 1);
    running.child.kill('SIGTERM');
    await exitWithin(running, 10_000);

    // Assess
    const banner = JSON.parse(firstLine as string) as {
      settings?: { processingSeconds?: number; retryAfterSeconds?: number };
    };
    expect(banner.settings?.processingSeconds).toBe(1);
    expect(banner.settings?.retryAfterSeconds).toBe(9);
  });

  it('stops with exit code 0 on SIGINT and frees its ports', async () => {
    // Prepare
    const { running, banner } = await startJson();
    const before = await tokenRequest(banner);

    // Act
    running.child.kill('SIGINT');
    const exit = await exitWithin(running, 10_000);

    // Assess
    expect(before.status).toBe(200);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await refusesConnections(`${banner.apiUrl}/v1/auth/token/`)).toBe(true);
    expect(await refusesConnections(`${banner.s3Endpoint}/${banner.bucket}`)).toBe(true);
  });
});

describe('simulator CLI human output', () => {
  it('mentions the API base URL, S3 endpoint, username, password and API key', async () => {
    // Prepare
    const username = `pilot-${randomBytes(3).toString('hex')}@example.com`;
    // A password may start with "-" (as random base64url text does one time in 32): it is attached with "=".
    const password = `-${randomBytes(9).toString('base64url')}`;
    const apiKey = randomBytes(12).toString('hex');
    const running = runCli(['--username', username, `--password=${password}`, '--api-key', apiKey]);

    // Act
    const lines = await waitForLines(running, 6);
    const output = lines.join('\n');
    const apiUrl = /API base URL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    const s3Endpoint = /S3 endpoint\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    const token = apiUrl ? await tokenRequest({ apiUrl, username, password, apiKey }) : undefined;
    running.child.kill('SIGTERM');
    const exit = await exitWithin(running, 10_000);

    // Assess
    expect(apiUrl).toBeDefined();
    expect(s3Endpoint).toBeDefined();
    expect(s3Endpoint).not.toBe(apiUrl);
    expect(output).toMatch(new RegExp(`Username\\s+${escapeRegExp(username)}(\\s|$)`, 'm'));
    expect(output).toMatch(new RegExp(`Password\\s+${escapeRegExp(password)}(\\s|$)`, 'm'));
    expect(output).toMatch(new RegExp(`API key\\s+${escapeRegExp(apiKey)}(\\s|$)`, 'm'));
    expect(token?.status).toBe(200);
    expect(exit.code).toBe(0);
  });
});

describe('simulator CLI bad options', () => {
  const cases: [string[], string][] = [
    [['--error-rate', '2'], '--error-rate'],
    [['--lost-answer-rate', '-0.1'], '--lost-answer-rate'],
    [['--processing-outcome', 'maybe'], '--processing-outcome'],
    [['--bogus'], '--bogus'],
    [['--password', '-dash-first'], 'a value starting with "-" is written --password=-…'],
  ];

  for (const [args, option] of cases) {
    it(`exits 2 and names the option on stderr for ${args.join(' ')}`, async () => {
      // Prepare
      const running = runCli(args);

      // Act
      const exit = await exitWithin(running, 15_000);

      // Assess
      expect(exit.code).toBe(2);
      expect(running.stderr()).toContain(option);
      expect(running.stdout()).not.toMatch(/http:\/\/127\.0\.0\.1/);
    });
  }
});
