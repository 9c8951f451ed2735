import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

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

  async write(runPrefix: string, name: string, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${runPrefix}${name}`,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
      }),
    );
  }

  async read<T>(runPrefix: string, name: string): Promise<T> {
    const found = await this.find<T>(runPrefix, name);
    if (found === undefined) throw new Error(`Run data ${runPrefix}${name} is missing from bucket ${this.bucket}`);
    return found;
  }

  async find<T>(runPrefix: string, name: string): Promise<T | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${runPrefix}${name}` }));
      return JSON.parse(await answer.Body!.transformToString()) as T;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }
}
