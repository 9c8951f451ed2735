import type { Readable } from 'node:stream';
import { jsonError, type RawResponse, s3Error, snsError } from '../aws/service-answers';
import { iamRequestsFor } from './aws-actions';
import type { Caller, IamAuthorizer } from './iam-authorizer';

type DeserializeNext = (args: { input: object; request: unknown }) => Promise<{ response: unknown; output?: unknown }>;
type DeserializeContext = { clientName?: string; commandName?: string };

type Middleware = (
  next: DeserializeNext,
  context: DeserializeContext,
) => (args: { input: object; request: unknown }) => Promise<unknown>;

/** Any AWS SDK v3 client (each client types its middleware by its own commands). */
export interface SdkClientWithStack {
  readonly middlewareStack: {
    addRelativeTo(middleware: never, options: { relation: 'after'; toMiddleware: string; name: string }): void;
  };
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
        const listing = await authorizer.authorize(caller, {
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${input.Bucket}`,
          context: {},
        });
        if (!listing.allowed) {
          (answer.response as { body?: Readable }).body?.resume();
          return { response: accessDenied(service, command, listing.message) };
        }
      }
    }
    return answer;
  };
  client.middlewareStack.addRelativeTo(authorization as never, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'localIamAuthorization',
  });
  return client;
}

/** The refusal each service sends when IAM refuses a call, in its own protocol. */
function accessDenied(service: string, command: string, message: string): RawResponse {
  switch (service) {
    case 'S3Client':
      return s3Error(403, 'AccessDenied', message, command === 'HeadObjectCommand');
    case 'SNSClient':
      return snsError(403, 'AuthorizationError', message);
    case 'SFNClient':
      return jsonError('1.0', 400, 'AccessDeniedException', message);
    case 'SecretsManagerClient':
      return jsonError('1.1', 400, 'AccessDeniedException', message);
    default:
      throw new Error(`Local mode cannot answer a refused ${service} call`);
  }
}
