import type { z } from 'zod';
import type { Pix4dInspectApi } from '../../src/pix4d/client';
import { s3CredentialsResponseSchema } from '../../src/pix4d/schemas';
import { TemporaryS3Credentials } from '../../src/pix4d/temporary-s3-credentials';

/** An `s3_credentials/` answer as the service sends it. */
export type CredentialsAnswer = z.input<typeof s3CredentialsResponseSchema>;

/** The vendor tutorial's example answer: `expiration` is 8.5 days before `server_time`. */
export const TUTORIAL_CREDENTIALS_ANSWER: Readonly<CredentialsAnswer> = Object.freeze({
  access_key: 'ASIATOCJLBKSU2CVJIHR',
  secret_key: '5OGGBSvn8Sesdu8l...<remainder of the secret key>',
  session_token: 'FwoGZXIvYX...<remainder of security token>',
  expiration: '2021-05-10T21:55:47Z',
  bucket: 'prod-pix4d-cloud-default',
  key: 'user-199a56ab-7ac6-d6d1-4778-5b4d338fc9de/project-883349',
  server_time: '2021-05-19T09:55:47.357641+00:00',
  region: 'us-east-1',
});

/** A local clock that moves only when told to. */
export class ManualClock {
  private at: number;

  constructor(start: Date | string = '2026-11-28T10:00:00.000Z') {
    this.at = new Date(start).getTime();
  }

  readonly now = (): Date => new Date(this.at);

  advance(ms: number): void {
    this.at += ms;
  }
}

/** An answer valid for `lifetimeMs` from `serverTime`, with an access key of its own (`ASIAFAKE000001`...). */
export function answerValidFor(lifetimeMs: number, serverTime: Date, serial: number): CredentialsAnswer {
  return {
    ...TUTORIAL_CREDENTIALS_ANSWER,
    access_key: `ASIAFAKE${String(serial).padStart(6, '0')}`,
    expiration: new Date(serverTime.getTime() + lifetimeMs).toISOString(),
    server_time: serverTime.toISOString().replace('Z', '+00:00'),
  };
}

/**
 * A `Pix4dInspectApi` that hands out S3 credentials only: each `getS3Credentials` call is counted, takes its answer
 * from `answer(call)` (call 0 first; an Error is thrown instead), reads it as the HTTP client does and stamps it
 * with the clock. It answers on a later turn of the event loop, as a request would, so that concurrent callers
 * overlap.
 */
export class FakeCredentialsApi implements Pix4dInspectApi {
  /** The inspection id of each `getS3Credentials` call, in order. */
  readonly calls: number[] = [];

  constructor(
    private readonly answer: (call: number) => CredentialsAnswer | Error,
    private readonly clock: ManualClock,
  ) {}

  async getS3Credentials(inspectionId: number): Promise<TemporaryS3Credentials> {
    const call = this.calls.length;
    this.calls.push(inspectionId);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const answer = this.answer(call);
    if (answer instanceof Error) throw answer;
    return TemporaryS3Credentials.fromApi(s3CredentialsResponseSchema.parse(answer), this.clock.now());
  }

  createAsset(): never {
    throw new Error('FakeCredentialsApi hands out S3 credentials only');
  }

  createInspection(): never {
    throw new Error('FakeCredentialsApi hands out S3 credentials only');
  }

  getInspection(): never {
    throw new Error('FakeCredentialsApi hands out S3 credentials only');
  }

  registerImages(): never {
    throw new Error('FakeCredentialsApi hands out S3 credentials only');
  }

  startProcessing(): never {
    throw new Error('FakeCredentialsApi hands out S3 credentials only');
  }
}
