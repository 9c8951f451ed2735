import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { iamRequestsFor } from './aws-actions';
import type { Caller, IamAuthorizer } from './iam-authorizer';

/** The raw HTTP answer the SDK's deserializer reads (structurally `HttpResponse` of the SDK). */
interface RawResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

type DeserializeNext = (args: { input: object; request: unknown }) => Promise<{ response: unknown; output?: unknown }>;
type DeserializeContext = { clientName?: string; commandName?: string };

type Middleware = (next: DeserializeNext, context: DeserializeContext) => (args: { input: object; request: unknown }) => Promise<unknown>;

/** Any AWS SDK v3 client (each client types its middleware by its own commands). */
export interface SdkClientWithStack {
  readonly middlewareStack: { addRelativeTo(middleware: never, options: { relation: 'after'; toMiddleware: string; name: string }): void };
}

/**
 * Holds an SDK client to `caller`'s role: before each request is sent, every authorization it needs is evaluated
 * against the synthesized policies, and a refused one is answered as the service answers it (HTTP 403 with the
 * service's own error body), so that the SDK raises its usual exception (`AccessDenied`, `AccessDeniedException`,
 * `AuthorizationError`) and retries, catches and notifications behave as on AWS. S3 also answers a missing key with
 * 403 instead of 404 when the caller may not list the bucket; that is applied too.
 */
export function holdToRole<C extends SdkClientWithStack>(client: C, caller: Caller, authorizer: IamAuthorizer): C {
  const authorization: Middleware = (next, context) => async (args) => {
    const service = context.clientName ?? 'unknown client';
    const command = context.commandName ?? 'unknown command';
    for (const request of iamRequestsFor(service, command, args.input as Record<string, unknown>)) {
      const decision = await authorizer.authorize(caller, request);
      if (!decision.allowed) return { response: accessDenied(service, command, decision.message) };
    }
    const answer = await next(args);
    if (service === 'S3Client' && (command === 'GetObjectCommand' || command === 'HeadObjectCommand')) {
      const status = (answer.response as { statusCode?: number }).statusCode;
      if (status === 404) {
        const input = args.input as { Bucket: string };
        const listing = await authorizer.authorize(caller, { action: 's3:ListBucket', resource: `arn:aws:s3:::${input.Bucket}`, context: {} });
        if (!listing.allowed) {
          (answer.response as { body?: Readable }).body?.resume();
          return { response: accessDenied(service, command, listing.message) };
        }
      }
    }
    return answer;
  };
  client.middlewareStack.addRelativeTo(authorization as never, { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'localIamAuthorization' });
  return client;
}

/** The 403 each service sends when IAM refuses a call, in its own protocol. */
function accessDenied(service: string, command: string, message: string): RawResponse {
  const requestId = randomUUID();
  switch (service) {
    case 'S3Client':
      // A HEAD answer has no body: the SDK names that error after the status (`Forbidden`), as it does on AWS.
      if (command === 'HeadObjectCommand') return raw(403, { 'x-amz-request-id': requestId }, '');
      return raw(
        403,
        { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${xml(message)}</Message><RequestId>${requestId}</RequestId></Error>`,
      );
    case 'SNSClient':
      return raw(
        403,
        { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>AuthorizationError</Code>` +
          `<Message>${xml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    case 'SFNClient':
    case 'SecretsManagerClient':
      return raw(
        400,
        {
          'content-type': service === 'SFNClient' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
          'x-amzn-requestid': requestId,
          'x-amzn-errortype': 'AccessDeniedException',
        },
        JSON.stringify({ __type: 'AccessDeniedException', message }),
      );
    default:
      throw new Error(`Local mode cannot answer a refused ${service} call`);
  }
}

export function raw(statusCode: number, headers: Record<string, string>, body: string): RawResponse {
  return { statusCode, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers }, body: Readable.from(body ? [Buffer.from(body)] : []) };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
