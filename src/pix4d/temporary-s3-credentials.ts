import { inspect } from 'node:util';
import type { z } from 'zod';
import type { s3CredentialsResponseSchema } from './schemas';

/** The region of Pix4Dinspect's bucket in the vendor's tutorial, for an answer that names none. */
export const DEFAULT_CREDENTIALS_REGION = 'us-east-1';

/**
 * The temporary S3 credentials Pix4Dinspect hands out for one inspection: write access to `bucket` under
 * `keyPrefix/` until `expiration`. Printing, logging or serialising the object shows neither the secret nor the
 * session token, so they cannot leak through a log line or Step Functions state by accident.
 */
export class TemporaryS3Credentials {
  private constructor(
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
    readonly sessionToken: string,
    /** When the credentials stop working, by the service's clock. */
    readonly expiration: Date,
    readonly bucket: string,
    /** The `key` of the answer: every object must be written below `keyPrefix/`. */
    readonly keyPrefix: string,
    /** The service's clock when it answered: judge `expiration` against it, not against the local clock. */
    readonly serverTime: Date,
    /** The answer's region, or `DEFAULT_CREDENTIALS_REGION` when it names none. */
    readonly region: string,
    /** Local clock when the answer was received. */
    readonly receivedAt: Date,
  ) {}

  static fromApi(
    answer: z.output<typeof s3CredentialsResponseSchema>,
    receivedAt = new Date(),
  ): TemporaryS3Credentials {
    return new TemporaryS3Credentials(
      answer.access_key,
      answer.secret_key,
      answer.session_token,
      answer.expiration,
      answer.bucket,
      answer.key.replace(/\/+$/, ''),
      answer.server_time,
      answer.region ?? DEFAULT_CREDENTIALS_REGION,
      receivedAt,
    );
  }

  /**
   * The validity the service granted, `expiration - serverTime`, both on its own clock: zero or less when the
   * answer was already expired as it was sent.
   */
  get lifetimeMs(): number {
    return this.expiration.getTime() - this.serverTime.getTime();
  }

  /** Milliseconds of validity left at local time `now`, measured on the service's clock. */
  remainingMs(now: Date = new Date()): number {
    const serverNow = this.serverTime.getTime() + (now.getTime() - this.receivedAt.getTime());
    return this.expiration.getTime() - serverNow;
  }

  /** The S3 key under which an object with this relative path is written. */
  keyFor(relativePath: string): string {
    return `${this.keyPrefix}/${relativePath.replace(/^\/+/, '')}`;
  }

  toJSON(): Record<string, string> {
    return {
      accessKeyId: this.accessKeyId,
      secretAccessKey: '[redacted]',
      sessionToken: '[redacted]',
      expiration: this.expiration.toISOString(),
      bucket: this.bucket,
      keyPrefix: this.keyPrefix,
      serverTime: this.serverTime.toISOString(),
      region: this.region,
    };
  }

  [inspect.custom](): string {
    return `TemporaryS3Credentials ${JSON.stringify(this.toJSON())}`;
  }
}
