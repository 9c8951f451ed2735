import { UsageError } from '../local/cli-options';
import { BatchStateStore } from '../src/batch-state/batch-state';
import { MANIFEST_FILE } from '../src/batch/keys';
import { ManifestError, parseManifest } from '../src/batch/manifest';
import { FINAL_STATES, followAndReport, stateLabel } from './follow';
import { generationOf, nextGeneration } from './manifest-text';
import type { Output } from './output';
import { formatAge } from './status';
import { requireDropBucket, requireWorkBucket, type Targets } from './targets';
import { listRemote, readObjectText, writeManifest } from './upload';

/**
 * `retry ASSET/FLIGHT`: runs a closed batch again, the documented way: a new generation of its manifest.json
 * (the same JSON with other whitespace, so a new ETag, which names a new run). Without a manifest in the folder
 * it writes `{}`, which keeps the names from the folders. It says what it does first; there is no prompt.
 */

export interface RetryOptions {
  readonly batch: string;
  readonly wait: boolean;
  readonly timeoutSeconds: number;
  readonly json: boolean;
  readonly force: boolean;
}

/** `tower-1/flight-1` (a trailing `/` allowed) into its folders; a UsageError otherwise. */
export function parseBatchArgument(text: string): { asset: string; flight: string; prefix: string } {
  const segments = text.replace(/\/$/, '').split('/');
  if (segments.length !== 2 || segments.some((segment) => segment.trim() === '')) {
    throw new UsageError(`retry: ASSET/FLIGHT must be two folder names such as tower-1/flight-1 (got "${text}")`);
  }
  const [asset, flight] = segments as [string, string];
  return { asset, flight, prefix: `${asset}/${flight}/` };
}

export async function runRetry(options: RetryOptions, resolve: () => Promise<Targets>, out: Output): Promise<number> {
  const { prefix } = parseBatchArgument(options.batch);
  const targets = await resolve();
  const bucket = requireDropBucket(targets);
  const store = options.wait ? new BatchStateStore(targets.s3, requireWorkBucket(targets, '--wait')) : targets.workBucket ? new BatchStateStore(targets.s3, targets.workBucket) : undefined;

  const objects = await listRemote(targets.s3, bucket, prefix);
  if (objects.size === 0) throw new UsageError(`retry ${options.batch}: nothing under s3://${bucket}/${prefix}: no such batch`);
  const current = objects.has(MANIFEST_FILE) ? await readObjectText(targets.s3, bucket, `${prefix}${MANIFEST_FILE}`) : undefined;
  if (current !== undefined) {
    try {
      parseManifest(current);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      out.error(`s3://${bucket}/${prefix}${MANIFEST_FILE} ${error.message.replace(/^manifest\.json /, '')}: the run would fail again. Upload a corrected manifest.json instead; that runs the batch.`);
      return 1;
    }
  }

  if (store && !options.force) {
    const latest = (await store.recent(100))
      .filter((record) => record.prefix === prefix && record.closedInto === undefined && record.state !== 'collecting')
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
    if (latest && !FINAL_STATES.includes(latest.state)) {
      const age = formatAge((Date.now() - Date.parse(latest.updatedAt)) / 1000);
      out.error(`${prefix} is still ${stateLabel(latest.state)} (run ${latest.batchId}, updated ${age} ago): retry once it has ended, or add --force to start another inspection now.`);
      return 1;
    }
  }

  const base = current ?? '{}';
  const statement =
    current !== undefined
      ? `Re-running ${prefix}: uploading manifest.json again (new ETag), which starts a new inspection (and uses Pix4Dinspect processing allowance)`
      : `Re-running ${prefix}: uploading a manifest.json ({}: names from the folders), which closes the batch and starts a new inspection (and uses Pix4Dinspect processing allowance)`;
  out.info(statement);
  const written = await writeManifest(targets.s3, bucket, prefix, current !== undefined ? nextGeneration(base) : `${base}\n`, store);
  if (out.json) {
    out.result({ event: 'retry', bucket, prefix, generation: generationOf(written.text), eTag: written.eTag, runId: written.runId });
  } else {
    out.line(`manifest.json written (generation ${generationOf(written.text)}, ETag ${written.eTag}): run ${written.runId}.`);
  }
  if (!options.wait || !store) return 0;
  return followAndReport(out, { store, prefix, expectedId: written.runId, since: written.writtenAt, timeoutSeconds: options.timeoutSeconds });
}
