import { UsageError } from '../local/cli-options';
import { MANIFEST_FILE } from '../src/batch/keys';
import { ManifestError, parseManifestBytes } from '../src/batch/manifest';
import { decodeManifestBytes } from '../src/batch/manifest-encoding';
import { BatchStateStore } from '../src/batch-state/batch-state';
import { FINAL_STATES, followAndReport, manifestRunId, stateLabel } from './follow';
import { generationOf, nextGeneration } from './manifest-text';
import type { Output } from './output';
import { formatAge } from './status';
import { requireDropBucket, requireWorkBucket, type Targets } from './targets';
import { listRemote, md5Hex, readObjectBytes, unrunManifestText, writeManifest } from './upload';

/**
 * `retry ASSET/FLIGHT`: runs a closed batch again, the documented way: a new generation of its manifest.json
 * (the same JSON with other whitespace, so a new ETag, which names a new run). Without a manifest in the folder
 * it writes `{}`, which keeps the names from the folders. A new run uses processing allowance: on a terminal it asks
 * first (unless --yes); scripts (stdin or stderr not a terminal, or --json) are not asked. `--dry-run` makes every
 * check and says what it would write, writing nothing.
 */

export interface RetryOptions {
  readonly batch: string;
  readonly wait: boolean;
  readonly timeoutSeconds: number;
  readonly json: boolean;
  readonly force: boolean;
  /** Every check, then what would be written and the run it would start; nothing is written. */
  readonly dryRun?: boolean;
  /** No question on a terminal. */
  readonly yes?: boolean;
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

/** The question asked on a terminal before a new run is started. */
export function confirmationQuestion(prefix: string): string {
  return `Run ${prefix} again? This creates a new inspection and uses processing allowance. [y/N] `;
}

export async function runRetry(options: RetryOptions, resolve: () => Promise<Targets>, out: Output): Promise<number> {
  const { prefix } = parseBatchArgument(options.batch);
  const targets = await resolve();
  const bucket = requireDropBucket(targets);
  const store = options.wait
    ? new BatchStateStore(targets.s3, requireWorkBucket(targets, '--wait'))
    : targets.workBucket
      ? new BatchStateStore(targets.s3, targets.workBucket)
      : undefined;

  const objects = await listRemote(targets.s3, bucket, prefix);
  if (objects.size === 0)
    throw new UsageError(`retry ${options.batch}: nothing under s3://${bucket}/${prefix}: no such batch`);
  // The bytes, checked as the workflow checks them (UTF-8 only, the size, the schema), so that the message is its.
  const bytes = objects.has(MANIFEST_FILE)
    ? await readObjectBytes(targets.s3, bucket, `${prefix}${MANIFEST_FILE}`)
    : undefined;
  let current: string | undefined;
  if (bytes !== undefined) {
    try {
      parseManifestBytes(bytes);
      current = decodeManifestBytes(bytes);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      out.error(
        `s3://${bucket}/${prefix}${MANIFEST_FILE} ${error.message.replace(/^manifest\.json /, '')}: the run would fail again. Upload a corrected manifest.json instead; that runs the batch.`,
      );
      return 1;
    }
  }

  if (store && !options.force) {
    const latest = (await store.recent(100))
      .filter((record) => record.prefix === prefix && record.closedInto === undefined && record.state !== 'collecting')
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
    if (latest && !FINAL_STATES.includes(latest.state)) {
      const age = formatAge((Date.now() - Date.parse(latest.updatedAt)) / 1000);
      out.error(
        `${prefix} is still ${stateLabel(latest.state)} (run ${latest.batchId}, updated ${age} ago): retry once it has ended, or add --force to start another inspection now.`,
      );
      return 1;
    }
  }

  const body = await unrunManifestText(bucket, prefix, current !== undefined ? nextGeneration(current) : '{}\n', store);
  if (options.dryRun) {
    const eTag = md5Hex(body);
    const runId = manifestRunId(bucket, prefix, eTag);
    const generation = generationOf(body);
    if (out.json) {
      out.result({
        event: 'dry-run',
        command: 'retry',
        bucket,
        prefix,
        source: targets.source,
        region: targets.region,
        generation,
        eTag,
        runId,
        manifest: body,
        wait: options.wait,
      });
    } else {
      out.line(`Dry run: nothing is written. Target: s3://${bucket}/${prefix} (${targets.source}).`);
      out.line(
        current !== undefined
          ? `Would write manifest.json again (generation ${generation}, ETag ${eTag}), which starts a new inspection (run ${runId}) and uses Pix4Dinspect processing allowance:`
          : `Would write a manifest.json ({}: names from the folders, ETag ${eTag}), which closes the batch and starts a new inspection (run ${runId}) and uses Pix4Dinspect processing allowance:`,
      );
      for (const line of body.replace(/\n+$/, '').split('\n')) out.line(`  ${line}`);
      if (options.wait) out.line('and, with --wait, follow the new run until its outcome.');
    }
    return 0;
  }

  if (out.confirm && !options.yes && !(await out.confirm(confirmationQuestion(prefix)))) {
    out.note('not confirmed; nothing written.');
    return 1;
  }
  const statement =
    current !== undefined
      ? `Re-running ${prefix}: uploading manifest.json again (new ETag), which starts a new inspection (and uses Pix4Dinspect processing allowance)`
      : `Re-running ${prefix}: uploading a manifest.json ({}: names from the folders), which closes the batch and starts a new inspection (and uses Pix4Dinspect processing allowance)`;
  out.info(statement);
  const written = await writeManifest(targets.s3, bucket, prefix, body, store);
  if (out.json) {
    out.result({
      event: 'retry',
      bucket,
      prefix,
      generation: generationOf(written.text),
      eTag: written.eTag,
      runId: written.runId,
    });
  } else {
    out.line(
      `manifest.json written (generation ${generationOf(written.text)}, ETag ${written.eTag}): run ${written.runId}.`,
    );
  }
  if (!options.wait || !store) return 0;
  return followAndReport(out, {
    store,
    prefix,
    expectedId: written.runId,
    since: written.writtenAt,
    timeoutSeconds: options.timeoutSeconds,
  });
}
