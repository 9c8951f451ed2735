import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * HTTP answers in the AWS services' own protocols, for the SDK's deserializers to read as they read AWS's: local
 * mode's services and its IAM check both answer through these.
 */

/** The raw HTTP answer the SDK's deserializer reads (structurally `HttpResponse` of the SDK). */
export interface RawResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

export function raw(statusCode: number, headers: Record<string, string>, body: string): RawResponse {
  return {
    statusCode,
    headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
    body: Readable.from(body ? [Buffer.from(body)] : []),
  };
}

/** The JSON protocols' version: Step Functions speaks 1.0, Secrets Manager 1.1. */
export type JsonVersion = '1.0' | '1.1';

export function json(version: JsonVersion, body: unknown): RawResponse {
  return raw(
    200,
    { 'content-type': `application/x-amz-json-${version}`, 'x-amzn-requestid': randomUUID() },
    JSON.stringify(body),
  );
}

export function jsonError(version: JsonVersion, status: number, type: string, message: string): RawResponse {
  return raw(
    status,
    { 'content-type': `application/x-amz-json-${version}`, 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': type },
    JSON.stringify({ __type: type, message }),
  );
}

/** SNS's query protocol error. */
export function snsError(status: number, code: string, message: string): RawResponse {
  const requestId = randomUUID();
  return raw(
    status,
    { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${xml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}

/** S3's REST XML error; a HEAD answer has none (the SDK names the error after the status, as it does on AWS). */
export function s3Error(status: number, code: string, message: string, head = false): RawResponse {
  const requestId = randomUUID();
  if (head) return raw(status, { 'x-amz-request-id': requestId }, '');
  return raw(
    status,
    { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message><RequestId>${requestId}</RequestId></Error>`,
  );
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
