import '../local/node-version-warning';
import { parseArgs } from 'node:util';
import { parseFolderOption, parseNumberOption, UsageError } from '../local/cli-options';
import { parseSetFlag } from './manifest-text';
import { createOutput, processStreams, type Streams } from './output';
import { runRetry } from './retry';
import { runStatus } from './status';
import { resolveTargets, TARGET_OPTIONS, targetOptionsFrom, type Targets } from './targets';
import { runUpload } from './upload';

/**
 * `npm run -s cli -- <command>` (the package's `inspect-pipeline` bin): upload a flight, list batches, retry one.
 * Exit status: 0 success (with --wait: completed), 1 failed, timed out or given up, 2 bad usage.
 */

const TARGETS_HELP = `Where (one of):
  --stack STACK             the deployed stack: its DropBucketName and WorkBucketName outputs
  --bucket B                the drop bucket (and --work-bucket B for the batch states)
  --endpoint URL            an S3-compatible endpoint, e.g. npm run local -- --serve (default buckets
                            inspect-drop and inspect-work); credentials from AWS_ACCESS_KEY_ID... or profiles
  --region R                default AWS_REGION, else us-east-1`;

export const USAGE = `Usage: inspect-pipeline <command> [options]      (npm run -s cli -- <command> ...)

Commands
  upload DIR --asset NAME --flight NAME   upload a flight, manifest.json last (closes the batch)
  status                                  recent batches: state, photos, age, link
  retry ASSET/FLIGHT                      run a closed batch again (a new manifest generation)

Run inspect-pipeline <command> --help for its options.
Exit status: 0 success (with --wait: completed), 1 failed, timed out or gave up, 2 bad usage.`;

const UPLOAD_USAGE = `Usage: inspect-pipeline upload DIR --asset NAME --flight NAME [options]

Uploads every file under DIR to <asset>/<flight>/ (sub-folders kept), skipping files already there with the same
size and checksum (run it again to finish an interrupted upload), then manifest.json last, which closes the batch.

  --asset NAME, --flight NAME   the batch folder (required)
  --manifest FILE               the manifest to write (default: DIR/manifest.json if any, else built from the flags)
  --asset-id N                  the manifest names the existing asset N instead of the asset's name
  --set processing_parameters.KEY=VALUE   a processing parameter (repeatable), e.g. detect_antennas=false
  --skip-unsupported            do not upload files the pipeline will skip (they are still named)
  --wait                        follow the batch until its outcome and print the inspection link
  --timeout S                   give up waiting after S seconds (default 3600)
  --json                        JSON Lines on stdout (the summary, then with --wait each state and the outcome)
${TARGETS_HELP}`;

const STATUS_USAGE = `Usage: inspect-pipeline status [--asset NAME] [--limit N] [--json] [options]

Recent batches, newest first: asset/flight, state (collecting, copying, registering, processing, completed,
failed, timed out), photos (registered/found, skipped), age, the inspection link, the error of a failed one.

  --asset NAME     only this asset's batches
  --limit N        at most N batches (default 20)
  --json           a JSON array of the batch records, each with ageSeconds
${TARGETS_HELP}`;

const RETRY_USAGE = `Usage: inspect-pipeline retry ASSET/FLIGHT [--wait] [options]

Runs a closed batch again: writes its manifest.json again with a new ETag (same content), which starts a new
inspection and uses processing allowance. Refuses while the batch's last run is still going (unless --force).

  --wait           follow the new run until its outcome
  --timeout S      give up waiting after S seconds (default 3600)
  --force          retry even though the last run has not ended
  --json           JSON Lines on stdout
${TARGETS_HELP}`;

const COMMON = { json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false }, ...TARGET_OPTIONS } as const;

export type Resolver = (targets: ReturnType<typeof targetOptionsFrom>) => Promise<Targets>;

/** Runs one command line; resolves with the exit status. */
export async function main(argv: readonly string[], streams: Streams = processStreams(), resolver: Resolver = (options) => resolveTargets(options)): Promise<number> {
  const [command, ...rest] = argv;
  let json = rest.includes('--json');
  try {
    switch (command) {
      case 'upload':
        return await upload(rest, streams, resolver);
      case 'status':
        return await status(rest, streams, resolver);
      case 'retry':
        return await retry(rest, streams, resolver);
      case undefined:
        streams.stderr(`${USAGE}\n`);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        streams.stdout(`${USAGE}\n`);
        return 0;
      default:
        json = false;
        throw new UsageError(`unknown command "${command}" (one of upload, status, retry)`);
    }
  } catch (error) {
    if (isUsageError(error)) {
      const help = command === 'upload' || command === 'status' || command === 'retry' ? `inspect-pipeline ${command} --help` : 'inspect-pipeline --help';
      streams.stderr(`inspect-pipeline: ${(error as Error).message}\n\nRun ${help} for the options.\n`);
      return 2;
    }
    const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
    createOutput(streams, json).error(message);
    return 1;
  }
}

/** A UsageError, or parseArgs' own errors (unknown option, missing value...), whose messages name the option. */
function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || String((error as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS');
}

function timeoutOf(value: string | undefined): number {
  return parseNumberOption('timeout', value, 1) ?? 3_600;
}

function folderName(option: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`upload: --${option} NAME is required`);
  return parseFolderOption(option, value);
}

async function upload(args: string[], streams: Streams, resolver: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      ...COMMON,
      asset: { type: 'string' },
      flight: { type: 'string' },
      manifest: { type: 'string' },
      'asset-id': { type: 'string' },
      set: { type: 'string', multiple: true },
      'skip-unsupported': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string' },
    },
  });
  if (values.help) return help(streams, UPLOAD_USAGE);
  if (positionals.length === 0) throw new UsageError('upload: DIR (the folder to upload) is required');
  if (positionals.length > 1) throw new UsageError(`upload: unexpected argument "${positionals[1]}" (one DIR only)`);
  const assetId = parseNumberOption('asset-id', values['asset-id'], 1);
  if (assetId !== undefined && !Number.isInteger(assetId)) throw new UsageError(`--asset-id must be a whole number (got "${values['asset-id']}")`);
  const targets = targetOptionsFrom(values);
  return runUpload(
    {
      dir: positionals[0] as string,
      asset: folderName('asset', values.asset),
      flight: folderName('flight', values.flight),
      manifestFile: values.manifest,
      assetId,
      sets: (values.set ?? []).map(parseSetFlag),
      skipUnsupported: values['skip-unsupported'],
      wait: values.wait,
      timeoutSeconds: timeoutOf(values.timeout),
      json: values.json,
    },
    () => resolver(targets),
    createOutput(streams, values.json),
  );
}

async function status(args: string[], streams: Streams, resolver: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { ...COMMON, asset: { type: 'string' }, limit: { type: 'string' } },
  });
  if (values.help) return help(streams, STATUS_USAGE);
  if (positionals.length > 0) throw new UsageError(`status: unexpected argument "${positionals[0]}"`);
  const limit = parseNumberOption('limit', values.limit, 1, 1_000) ?? 20;
  if (!Number.isInteger(limit)) throw new UsageError(`--limit must be a whole number (got "${values.limit}")`);
  if (values.asset !== undefined) parseFolderOption('asset', values.asset);
  const targets = targetOptionsFrom(values);
  return runStatus({ asset: values.asset, limit, json: values.json }, () => resolver(targets), createOutput(streams, values.json));
}

async function retry(args: string[], streams: Streams, resolver: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      ...COMMON,
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (values.help) return help(streams, RETRY_USAGE);
  if (positionals.length === 0) throw new UsageError('retry: ASSET/FLIGHT (the batch folder) is required');
  if (positionals.length > 1) throw new UsageError(`retry: unexpected argument "${positionals[1]}" (one ASSET/FLIGHT only)`);
  const targets = targetOptionsFrom(values);
  return runRetry(
    { batch: positionals[0] as string, wait: values.wait, timeoutSeconds: timeoutOf(values.timeout), json: values.json, force: values.force },
    () => resolver(targets),
    createOutput(streams, values.json),
  );
}

function help(streams: Streams, usage: string): number {
  streams.stdout(`${usage}\n`);
  return 0;
}

/** The command line of this process; exits with the status. */
export function runFromCommandLine(argv: readonly string[] = process.argv.slice(2)): void {
  // Ctrl-C during an upload: say how to finish it.
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted: run the same command again to finish (what is already in the bucket is skipped).\n');
    process.exit(130);
  });
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`inspect-pipeline: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) runFromCommandLine();
