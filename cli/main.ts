import '../local/node-version-warning';
import { parseFolderOption, parseNumberOption, UsageError } from '../local/cli-options';
import { describeFailure, parseCommandLine, runMain, unknownCommandError, versionLine } from '../local/command-line';
import { LOCAL_BUCKETS } from '../local/pipeline/local-buckets';
import { parseSetFlag } from './manifest-text';
import { createOutput, processStreams, type Streams } from './output';
import { runRetry } from './retry';
import { runStatus } from './status';
import { resolveTargets, TARGET_OPTIONS, type Targets, targetOptionsFrom } from './targets';
import { runUpload } from './upload';

/**
 * `npm run -s cli -- <command>` (the package's `inspect-pipeline` bin): upload a flight, list batches, retry one.
 * Exit status: 0 success (with --wait: completed), 1 failed, timed out, given up or not confirmed, 2 bad usage or a
 * flight refused before upload.
 */

export const PROGRAM = 'inspect-pipeline';
const COMMANDS = ['upload', 'status', 'retry', 'help'] as const;
type Command = Exclude<(typeof COMMANDS)[number], 'help'>;

const TARGETS_HELP = `Where (one of):
  --stack STACK             the deployed stack: its DropBucketName and WorkBucketName outputs, and
                            PreflightThresholds for upload's pre-flight (in a stack that embeds the
                            construct, <ID>DropBucketName<hash>...)
  --pipeline ID             with --stack: the construct id of the pipeline, when the stack holds several
  --bucket B                the drop bucket (and --work-bucket B for the batch states)
  --endpoint URL            an S3-compatible endpoint, e.g. npm run local -- --serve (default buckets
                            ${LOCAL_BUCKETS.drop} and ${LOCAL_BUCKETS.work})
AWS:
  --profile NAME            credentials and region from this profile of ~/.aws/config and ~/.aws/credentials
                            (default: AWS_ACCESS_KEY_ID..., AWS_PROFILE, the default profile, a role)
  --region R                default: the profile's region (--profile), AWS_REGION, AWS_DEFAULT_REGION, the
                            region of AWS_PROFILE or the default profile, us-east-1
Also: -h, --help (this text), --version, --debug (the stack trace of an error)`;

export const USAGE = `Usage: inspect-pipeline <command> [options]      (npm run -s cli -- <command> ...)

Commands
  upload DIR --asset NAME --flight NAME   upload a flight, manifest.json last (closes the batch)
  status                                  recent batches: state, photos, age, link
  retry ASSET/FLIGHT                      run a closed batch again (a new manifest generation)
  help [COMMAND]                          this text, or the options of COMMAND

Run inspect-pipeline <command> --help (or inspect-pipeline help <command>) for its options; --version prints
the version.
Exit status: 0 success (with --wait: completed), 1 failed, timed out, gave up or not confirmed, 2 bad usage or
a flight refused before upload (upload's checks and pre-flight).`;

const UPLOAD_USAGE = `Usage: inspect-pipeline upload DIR --asset NAME --flight NAME [options]

Uploads every file under DIR to <asset>/<flight>/ (sub-folders kept), skipping files already there with the same
size and checksum (run it again to finish an interrupted upload), then manifest.json last, which closes the batch.

First the pre-flight, the pipeline's own check of the photos' Exif (the first 128 KiB of each): photos, geotagged
share, capture times, cameras, centroid, altitude, and its warnings. Thresholds: the stack's (--stack, its
PreflightThresholds output), else the defaults, under manifest.json "preflight". A flight the pipeline would refuse
(e.g. fewer than minPhotos photos) is not uploaded: exit 2, unless --force. Videos are not checked.

  --asset NAME, --flight NAME   the batch folder (required)
  --manifest FILE               the manifest to write (default: DIR/manifest.json if any, else built from the flags)
  --asset-id N                  the manifest names the existing asset N instead of the asset's name
  --set processing_parameters.KEY=VALUE   a processing parameter (repeatable), e.g. detect_antennas=false
  --skip-unsupported            do not upload files the pipeline will skip (they are still named)
  --force                       upload a flight the pre-flight refuses (the pipeline refuses it too, unless its
                                thresholds are not those the CLI used)
  --dry-run                     every check (the pre-flight too), then each file and what would happen to it, and
                                the manifest it would write; nothing is uploaded or written
  --wait                        follow the batch until its outcome and print the inspection link
  --timeout S                   give up waiting after S seconds (default 3600)
  --json                        JSON Lines on stdout (the pre-flight, the summary, then with --wait each state and
                                the outcome; with --dry-run one JSON object: the plan with the pre-flight in it,
                                or the pre-flight alone when it refuses)
${TARGETS_HELP}`;

const STATUS_USAGE = `Usage: inspect-pipeline status [--asset NAME] [--limit N] [--json] [options]

Recent batches, newest first: asset/flight, state (collecting, copying, registering, processing, completed,
failed, timed out), photos (registered/found, skipped), age, the inspection link, the error of a failed one.

  --asset NAME     only this asset's batches
  --limit N        at most N batches (default 20)
  --json           a JSON array of the batch records, each with ageSeconds
${TARGETS_HELP}`;

const RETRY_USAGE = `Usage: inspect-pipeline retry ASSET/FLIGHT [--wait] [--yes] [options]

Runs a closed batch again: writes its manifest.json again with a new ETag (same content), which starts a new
inspection and uses processing allowance. Refuses while the batch's last run is still going (unless --force).
On a terminal it asks first (answer y); not on a terminal (a script, CI) or with --json it does not ask.

  -y, --yes        do not ask
  --dry-run        every check, then the manifest it would write and the run it would start; nothing is written
  --wait           follow the new run until its outcome
  --timeout S      give up waiting after S seconds (default 3600)
  --force          retry even though the last run has not ended
  --json           JSON Lines on stdout (with --dry-run one JSON object)
${TARGETS_HELP}`;

const HELP: Record<Command, string> = { upload: UPLOAD_USAGE, status: STATUS_USAGE, retry: RETRY_USAGE };

const COMMON = { json: { type: 'boolean', default: false }, ...TARGET_OPTIONS } as const;

export type Resolver = (targets: ReturnType<typeof targetOptionsFrom>) => Promise<Targets>;

/** Runs one command line; resolves with the exit status (errors are printed, one line each, and not thrown). */
export async function main(
  argv: readonly string[],
  streams: Streams = processStreams(),
  resolver?: Resolver,
): Promise<number> {
  const debug = argv.includes('--debug');
  const resolve: Resolver =
    resolver ?? ((options) => resolveTargets(options, { note: (text) => streams.stderr(`${text}\n`) }));
  try {
    return await dispatch(argv, streams, resolve);
  } catch (error) {
    const { text, code } = describeFailure(PROGRAM, error, debug);
    streams.stderr(`${text}\n`);
    return code;
  }
}

async function dispatch(argv: readonly string[], streams: Streams, resolve: Resolver): Promise<number> {
  // Before the command, only the conventions: `--debug` (for the stack trace) is accepted and passed on.
  const args = argv[0] === '--debug' ? argv.slice(1) : [...argv];
  const [command, ...rest] = args;
  switch (command) {
    case 'upload':
      return upload(rest, streams, resolve);
    case 'status':
      return status(rest, streams, resolve);
    case 'retry':
      return retry(rest, streams, resolve);
    case 'help':
      return help(streams, rest);
    case '--help':
    case '-h':
      return print(streams, USAGE);
    case '--version':
      return print(streams, versionLine(PROGRAM));
    case undefined:
      throw new UsageError(`no command given: one of upload, status, retry (${PROGRAM} --help lists them)`);
    default:
      if (command.startsWith('-'))
        throw new UsageError(
          `${command} before the command: options go after it, ${PROGRAM} <command> ${command} ... (${PROGRAM} --help lists the commands)`,
        );
      throw unknownCommandError(command, COMMANDS, PROGRAM);
  }
}

/** `help`, `help upload`: the usage, or a command's options. */
function help(streams: Streams, args: readonly string[]): number {
  const [topic, extra] = args;
  if (extra !== undefined) throw new UsageError(`help: one command at most (got "${extra}")`);
  if (topic === undefined) return print(streams, USAGE);
  if (topic in HELP) return print(streams, HELP[topic as Command]);
  throw unknownCommandError(topic, COMMANDS, PROGRAM);
}

/** The conventions answered before anything else: `--help` and `--version` print and exit 0. */
function conventions(
  values: { help?: boolean; version?: boolean },
  streams: Streams,
  command: Command,
): number | undefined {
  if (values.help) return print(streams, HELP[command]);
  if (values.version) return print(streams, versionLine(PROGRAM));
  return undefined;
}

function timeoutOf(value: string | undefined): number {
  return parseNumberOption('timeout', value, 1) ?? 3_600;
}

function folderName(option: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`upload: --${option} NAME is required`);
  return parseFolderOption(option, value);
}

async function upload(args: string[], streams: Streams, resolve: Resolver): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      command: `${PROGRAM} upload`,
      allowPositionals: true,
      options: {
        ...COMMON,
        asset: { type: 'string' },
        flight: { type: 'string' },
        manifest: { type: 'string' },
        'asset-id': { type: 'string' },
        set: { type: 'string', multiple: true },
        'skip-unsupported': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
      },
    },
    args,
  );
  const answered = conventions(values, streams, 'upload');
  if (answered !== undefined) return answered;
  if (positionals.length === 0) throw new UsageError('upload: DIR (the folder to upload) is required');
  if (positionals.length > 1) throw new UsageError(`upload: unexpected argument "${positionals[1]}" (one DIR only)`);
  const assetId = parseNumberOption('asset-id', values['asset-id'], 1);
  if (assetId !== undefined && !Number.isInteger(assetId))
    throw new UsageError(`--asset-id must be a whole number (got "${values['asset-id']}")`);
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
      force: values.force,
      dryRun: values['dry-run'],
      wait: values.wait,
      timeoutSeconds: timeoutOf(values.timeout),
      json: values.json,
    },
    () => resolve(targets),
    createOutput(streams, values.json),
  );
}

async function status(args: string[], streams: Streams, resolve: Resolver): Promise<number> {
  const { values } = parseCommandLine(
    { command: `${PROGRAM} status`, options: { ...COMMON, asset: { type: 'string' }, limit: { type: 'string' } } },
    args,
  );
  const answered = conventions(values, streams, 'status');
  if (answered !== undefined) return answered;
  const limit = parseNumberOption('limit', values.limit, 1, 1_000) ?? 20;
  if (!Number.isInteger(limit)) throw new UsageError(`--limit must be a whole number (got "${values.limit}")`);
  if (values.asset !== undefined) parseFolderOption('asset', values.asset);
  const targets = targetOptionsFrom(values);
  return runStatus(
    { asset: values.asset, limit, json: values.json },
    () => resolve(targets),
    createOutput(streams, values.json),
  );
}

async function retry(args: string[], streams: Streams, resolve: Resolver): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      command: `${PROGRAM} retry`,
      allowPositionals: true,
      options: {
        ...COMMON,
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        force: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        yes: { type: 'boolean', short: 'y', default: false },
      },
    },
    args,
  );
  const answered = conventions(values, streams, 'retry');
  if (answered !== undefined) return answered;
  if (positionals.length === 0) throw new UsageError('retry: ASSET/FLIGHT (the batch folder) is required');
  if (positionals.length > 1)
    throw new UsageError(`retry: unexpected argument "${positionals[1]}" (one ASSET/FLIGHT only)`);
  const targets = targetOptionsFrom(values);
  return runRetry(
    {
      batch: positionals[0] as string,
      wait: values.wait,
      timeoutSeconds: timeoutOf(values.timeout),
      json: values.json,
      force: values.force,
      dryRun: values['dry-run'],
      yes: values.yes,
    },
    () => resolve(targets),
    createOutput(streams, values.json),
  );
}

function print(streams: Streams, text: string): number {
  streams.stdout(`${text}\n`);
  return 0;
}

/** What Ctrl-C means for each command: an upload is finished by running it again; a retry must not be. */
export function interruptedMessage(command: string | undefined): string {
  if (command === 'upload')
    return 'interrupted: run the same command again to finish (what is already in the bucket is skipped).';
  if (command === 'retry')
    return 'interrupted: if manifest.json was written, its run goes on (`status` shows it); running retry again starts another inspection.';
  return 'interrupted.';
}

/** The command line of this process; exits with the status. */
export function runFromCommandLine(argv: string[] = process.argv.slice(2)): void {
  process.once('SIGINT', () => {
    process.stderr.write(`\n${interruptedMessage(argv.find((arg) => !arg.startsWith('-')))}\n`);
    process.exit(130);
  });
  runMain(PROGRAM, (args) => main(args), argv);
}

if (require.main === module) runFromCommandLine();
