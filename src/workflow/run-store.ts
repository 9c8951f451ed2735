import { isConditionalWriteConflict } from '../aws-errors';
import { JsonObjects, type WriteCondition } from '../json-objects';

/** Per-run files; the work bucket's lifecycle rule expires them. */
export const RUNS_PREFIX = 'runs/';

/**
 * What a workflow run keeps in the work bucket under `runs/<batch id>/`: lists too large for Step Functions state
 * (256 KB) and markers that make a retried step safe. Lifecycle rules expire them.
 */
export class RunStore extends JsonObjects {
  static prefixFor(batchId: string): string {
    return `${RUNS_PREFIX}${batchId}/`;
  }

  /** The batch id of a run prefix made by `prefixFor`. */
  static batchIdOf(runPrefix: string): string {
    return runPrefix.slice(RUNS_PREFIX.length).replace(/\/$/, '');
  }

  async write(runPrefix: string, name: string, value: unknown): Promise<void> {
    await this.putJson(`${runPrefix}${name}`, value);
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
    return (await this.getJson(`${runPrefix}${name}`)) as { value: T; etag: string } | undefined;
  }

  /**
   * Writes the file only if it does not exist (`etag` undefined) or is still the one read with `etag`: false when
   * another writer came first.
   */
  async writeIf(runPrefix: string, name: string, value: unknown, etag?: string): Promise<boolean> {
    try {
      const condition: WriteCondition = etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: etag };
      await this.putJson(`${runPrefix}${name}`, value, condition);
      return true;
    } catch (error) {
      if (isConditionalWriteConflict(error)) return false;
      throw error;
    }
  }
}
