import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the scripted server received it. */
export interface ScriptedRequest {
  readonly method: string;
  /** Path and query, as sent: `/v1/inspections/?page=2`. */
  readonly path: string;
  /** Lower-cased names, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The body as text; empty when there was none. */
  readonly body: string;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON, with `Content-Type: application/json` unless `headers` set one. */
  readonly body?: unknown;
}

/** `'drop'` destroys the connection without an answer: a lost answer, as the client sees it. */
export type ScriptedHandler = (request: ScriptedRequest) => ScriptedAnswer | 'drop' | Promise<ScriptedAnswer | 'drop'>;

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  /** Every request received, in order, dropped ones included. */
  readonly requests: ScriptedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 and a free port that answers each request as `handler` says, for tests of a client
 * against answers the simulator would not give. A handler that throws answers 500 with its message, so that a
 * mistake in a test shows as a failure rather than a hang.
 */
export async function startScriptedServer(handler: ScriptedHandler): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ScriptedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      Promise.resolve()
        .then(() => handler(request))
        .then(
          (answer) => {
            if (answer === 'drop') {
              req.socket.destroy();
              return;
            }
            const isText = typeof answer.body === 'string';
            const text =
              answer.body === undefined ? '' : isText ? (answer.body as string) : JSON.stringify(answer.body);
            const typed = Object.keys(answer.headers ?? {}).some((name) => name.toLowerCase() === 'content-type');
            const json = answer.body !== undefined && !isText && !typed;
            const headers = { ...(json ? { 'Content-Type': 'application/json' } : {}), ...answer.headers };
            res.writeHead(answer.status, headers).end(text);
          },
          (error: unknown) => {
            res
              .writeHead(500, { 'Content-Type': 'text/plain' })
              .end(`scripted handler failed: ${(error as Error).message ?? String(error)}`);
          },
        );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections of the client would hold the close until they time out.
        server.closeAllConnections();
      }),
  };
}
