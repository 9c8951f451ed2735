import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isConditionalWriteConflict } from '../aws-errors';

/** Per-run files; the work bucket's lifecycle rule expires them. */
export const RUNS_PREFIX = 'runs/';

/**
 * What a workflow run keeps in the work bucket under `runs/<batch id>/`: lists too large for Step Functions state
 * (256 KB) and markers that make a retried step safe. Lifecycle rules expire them.
 */
export class RunStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  static prefixFor(batchId: string): string {
    return `${RUNS_PREFIX}${batchId}/`;
  }

  /** The batch id of a run prefix made by `prefixFor`. */
  static batchIdOf(runPrefix: string): string {
    return runPrefix.slice(RUNS_PREFIX.length).replace(/\/$/, '');
  }

  async write(runPrefix: string, name: string, value: unknown): Promise<void> {
    await this.put(runPrefix, name, value, {});
  }

  async read<T>(runPrefix: string, name: string): Promise<T> {
    const found = await this.find<T>(runPrefix, name);
    if (found === undefined) throw new Error(`Run data ${runPrefix}${name} is missing from bucket ${this.bucket}`);
    return found;
  }

  async find<T>(runPrefix: string, name: string): Promise<T | undefined> {
    return (await this.findVersioned<T>(runPrefix, name))?.value;
  }

  /** The file and the ETag it was read with, for `writeIf`. */
  async findVersioned<T>(runPrefix: string, name: string): Promise<{ value: T; etag: string } | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${runPrefix}${name}` }));
      return { value: JSON.parse(await answer.Body!.transformToString()) as T, etag: answer.ETag ?? '' };
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /**
   * Writes the file only if it does not exist (`etag` undefined) or is still the one read with `etag`: false when
   * another writer came first.
   */
  async writeIf(runPrefix: string, name: string, value: unknown, etag?: string): Promise<boolean> {
    try {
      await this.put(runPrefix, name, value, etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag });
      return true;
    } catch (error) {
      if (isConditionalWriteConflict(error)) return false;
      throw error;
    }
  }

  private async put(
    runPrefix: string,
    name: string,
    value: unknown,
    condition: { IfNoneMatch?: string; IfMatch?: string },
  ): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${runPrefix}${name}`,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
        ...condition,
      }),
    );
  }
}
