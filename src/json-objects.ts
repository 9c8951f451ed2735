import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** Write only if the object does not exist yet, or only if it is still the version read with that ETag. */
export type WriteCondition = { readonly ifNoneMatch: '*' } | { readonly ifMatch: string };

/**
 * JSON documents in one bucket, each an object read and written whole: the base of the pipeline's stores in the
 * work bucket. A missing object reads as undefined; a conditional write that loses throws the S3 error
 * (`isConditionalWriteConflict` tells it).
 */
export class JsonObjects {
  constructor(
    protected readonly s3: S3Client,
    protected readonly bucket: string,
  ) {}

  /** The parsed document and the ETag it was read with, or undefined when there is none. */
  protected async getJson(key: string): Promise<{ value: unknown; etag: string } | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { value: JSON.parse(await answer.Body!.transformToString()) as unknown, etag: answer.ETag ?? '' };
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** Writes the document and returns the new ETag. */
  protected async putJson(key: string, value: unknown, condition?: WriteCondition): Promise<string> {
    const answer = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
        ...(condition === undefined
          ? {}
          : 'ifMatch' in condition
            ? { IfMatch: condition.ifMatch }
            : { IfNoneMatch: condition.ifNoneMatch }),
      }),
    );
    return answer.ETag ?? '';
  }
}
