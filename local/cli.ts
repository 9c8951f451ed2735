import './node-version-warning';
import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { withoutUndefined } from '../src/without-undefined';
import { parseChoiceOption, parseFolderOption, parseNumberOption, UsageError } from './cli-options';
import type { CliOptions, RunCli } from './cli-types';
import { describeFailure, parseCommandLine, runMain, versionLine } from './command-line';
import type { ExternalPix4d } from './pipeline/local-pipeline';

/**
 * `npm run -s local -- [options]`: the whole pipeline on this machine. Everything the pipeline itself prints (its
 * JSON logs) goes to stderr; stdout carries only this command's output, so `--json` gives clean JSON Lines.
 */
const stdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const PROGRAM = 'local';
const COMMAND = 'npm run -s local --';

const USAGE = `Usage: npm run -s local -- [options]

Runs the whole pipeline on this machine (embedded S3, Pix4Dinspect simulator, the state machines of the
synthesized stack with the real handlers), drops a flight and prints its progress and notification.

Flight (one-shot runs; with --serve, drop flights with any S3 client instead)
  --photos DIR              upload this folder as the flight (sub-folders kept), e.g. examples/flight
  --generate N              or N generated drone photos (default 24), with the Exif a DJI drone writes: GPS
                            position on rings round a tower, capture times 3 s apart, one camera (DJI FC6310)
  --no-gps                  generated photos without GPS position, as from a camera without GPS
  --mixed-cameras           generated photos from two camera models in turn (DJI FC6310 and DJI FC3411)
  --asset NAME              asset folder (default tower-001)
  --flight NAME             flight folder (default flight-1)
  --manifest FILE           manifest.json to upload last (default: DIR/manifest.json if --photos has one, else
                            a minimal one naming the flight folder)
  --no-manifest             upload no manifest: the batch closes after the quiet period
  --quiet-seconds S         quiet period with --no-manifest (default 2)
  --flights N               drop N flights at once (<flight>-01, -02, ...; each inspection named after its folder)
  --duplicate-events N      deliver every S3 event N times (default 1)
  --no-iam-check            do not hold each function's AWS calls to its role in the synthesized template
Simulated Pix4Dinspect
  --error-rate R            share of API requests answered 502/503/504 (0..1); alias --fault-rate
  --lost-answer-rate R      share of API requests that take effect, then lose their answer (502/504 or a
                            dropped connection) (0..1)
  --rate-limit-rate R       share of API requests answered 429 (0..1)
  --token-ttl S             token lifetime in seconds
  --credentials-ttl S       S3 credentials lifetime in seconds
  --processing-seconds S    processing time (default 3)
  --processing-outcome O    completed | failed | never
  --deadline-seconds S      processing deadline of the workflow (default 48 h)
  --username, --password, --api-key   the simulator's account (default generated)
Another Pix4Dinspect
  --pix4d-url URL           use this Pix4Dinspect instead of the simulator (e.g. \`npm run -s simulator\`, which
                            prints the environment to set). Reads PIX4D_USERNAME, PIX4D_PASSWORD, PIX4D_API_KEY,
                            optional PIX4D_ORGANIZATION_UUID, PIX4D_AUTH_URL (default: URL) and PIX4D_S3_ENDPOINT,
                            the S3 endpoint of its bucket: unset means AWS S3, which only the real service uses,
                            so a URL on this machine (localhost, 127.x.x.x, ::1) needs it. The URL, the auth URL
                            and that S3 endpoint must answer a connection before the run starts.
Serving
  --serve                   keep running: process every flight any S3 client drops, until Ctrl-C. A batch
                            closes when its manifest.json arrives (upload it last), or with --no-manifest
                            --quiet-seconds S, S seconds after its last new object
  --s3-port N               port of the embedded S3 server (default: any free port)
  --grace-seconds N         on Ctrl-C (SIGINT) or SIGTERM, how long batches in flight get to finish before they are
                            abandoned (default 10); a second signal stops at once
Output
  --json                    JSON Lines on stdout, one object per progress event
  --log-level L             level of the pipeline's logs on stderr: debug | info | warn | error (default warn)
  -h, --help                show this help
  --version                 print the version
  --debug                   print the stack trace of an unexpected error

Exit status: 0 when every flight ended inspection.completed, 1 when any failed or timed out (or on an unexpected
error), 2 on bad usage, found before anything starts (a missing --photos folder, an unreadable --manifest, a busy
--s3-port, a Pix4Dinspect or Inspect S3 endpoint that cannot be reached), 130 (SIGINT) or 143 (SIGTERM) when a
stop cut work short: a flight or batch abandoned, or a second signal.`;

const OPTIONS = {
  photos: { type: 'string' },
  generate: { type: 'string' },
  asset: { type: 'string' },
  flight: { type: 'string' },
  manifest: { type: 'string' },
  'no-manifest': { type: 'boolean', default: false },
  'no-gps': { type: 'boolean', default: false },
  'mixed-cameras': { type: 'boolean', default: false },
  'quiet-seconds': { type: 'string' },
  flights: { type: 'string' },
  'duplicate-events': { type: 'string' },
  'no-iam-check': { type: 'boolean', default: false },
  'error-rate': { type: 'string' },
  'lost-answer-rate': { type: 'string' },
  'rate-limit-rate': { type: 'string' },
  'token-ttl': { type: 'string' },
  'credentials-ttl': { type: 'string' },
  'processing-seconds': { type: 'string' },
  'processing-outcome': { type: 'string' },
  'deadline-seconds': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'api-key': { type: 'string' },
  'pix4d-url': { type: 'string' },
  json: { type: 'boolean', default: false },
  serve: { type: 'boolean', default: false },
  'grace-seconds': { type: 'string' },
  's3-port': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/** The simulator's name for the error rate is the one; local mode's former name stays accepted. */
const ALIASES = { 'fault-rate': 'error-rate' } as const;

/** Options that describe the flight a one-shot run drops: with --serve nothing would read them. */
const ONE_SHOT_ONLY = ['photos', 'generate', 'manifest', 'flights', 'asset', 'flight'] as const;

/** Options that shape the generated photos: a --photos folder, or the flights dropped with --serve, have their own. */
const GENERATED_ONLY = ['no-gps', 'mixed-cameras'] as const;

/** How long a connection to an external Pix4Dinspect's hosts may take before the run is refused. */
const REACH_LIMIT_MS = 3_000;

function readOptions(argv: string[]): CliOptions | 'help' | 'version' {
  const { values } = parseCommandLine({ command: COMMAND, options: OPTIONS, aliases: ALIASES }, argv);
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (values.photos !== undefined && values.generate !== undefined)
    throw new UsageError('--photos and --generate exclude each other');
  if (values.manifest !== undefined && values['no-manifest'])
    throw new UsageError('--manifest and --no-manifest exclude each other');
  if (values['quiet-seconds'] !== undefined && !values['no-manifest']) {
    throw new UsageError('--quiet-seconds needs --no-manifest (with a manifest, manifest.json closes the batch)');
  }
  if (values.serve) {
    const given = ONE_SHOT_ONLY.find((name) => values[name] !== undefined);
    if (given)
      throw new UsageError(
        `--${given} has no effect with --serve: drop flights with any S3 client (the banner shows how)`,
      );
  }
  const generatedOnly = GENERATED_ONLY.find((name) => values[name]);
  if (generatedOnly !== undefined && values.serve) {
    throw new UsageError(
      `--${generatedOnly} has no effect with --serve: it shapes the photos a one-shot run generates (leave out --serve, or --${generatedOnly})`,
    );
  }
  if (generatedOnly !== undefined && values.photos !== undefined) {
    throw new UsageError(
      `--${generatedOnly} has no effect with --photos: it shapes generated photos (leave out --photos, or --${generatedOnly})`,
    );
  }
  const asset = parseFolderOption('asset', values.asset ?? 'tower-001');
  const flight = parseFolderOption('flight', values.flight ?? 'flight-1');
  if (values.photos !== undefined) checkPhotosFolder(values.photos);
  const manifest = values['no-manifest']
    ? false
    : values.manifest !== undefined
      ? readManifest(values.manifest)
      : (photosManifest(values.photos) ??
        ((flightFolder: string) => JSON.stringify({ inspection: { name: flightFolder } })));
  const simulatorSettings = withoutUndefined({
    errorRate: parseNumberOption('error-rate', values['error-rate'], 0, 1),
    lostAnswerRate: parseNumberOption('lost-answer-rate', values['lost-answer-rate'], 0, 1),
    rateLimitRate: parseNumberOption('rate-limit-rate', values['rate-limit-rate'], 0, 1),
    tokenTtlSeconds: parseNumberOption('token-ttl', values['token-ttl'], 1),
    credentialsTtlSeconds: parseNumberOption('credentials-ttl', values['credentials-ttl'], 1),
    processingSeconds: parseNumberOption('processing-seconds', values['processing-seconds'], 0) ?? 3,
    processingOutcome: parseChoiceOption('processing-outcome', values['processing-outcome'], [
      'completed',
      'failed',
      'never',
    ] as const),
    retryAfterSeconds: values['rate-limit-rate'] === undefined ? undefined : 1,
  });
  const simulatorAccount = withoutUndefined({
    username: values.username,
    password: values.password,
    apiKey: values['api-key'],
  });
  const deadlineSeconds = parseNumberOption('deadline-seconds', values['deadline-seconds'], 1);
  const s3Port = parseWholeNumber('s3-port', values['s3-port'], 0, 65535);
  const pix4dUrl = values['pix4d-url'];
  return {
    json: values.json,
    serve: values.serve,
    graceSeconds: parseNumberOption('grace-seconds', values['grace-seconds'], 0) ?? 10,
    logLevel:
      parseChoiceOption('log-level', values['log-level'], ['debug', 'info', 'warn', 'error'] as const) ?? 'warn',
    run: {
      source: {
        ...(values.photos === undefined ? {} : { photosDir: values.photos }),
        generate: parseWholeNumber('generate', values.generate, 1, 100_000) ?? 24,
        gps: !values['no-gps'],
        cameras: values['mixed-cameras'] ? 'mixed' : 'one',
      },
      asset,
      flight,
      flights: parseWholeNumber('flights', values.flights, 1, 1_000) ?? 1,
      manifest,
      pipeline: {
        simulatorSettings,
        simulatorAccount,
        quietPeriodSeconds: values['no-manifest']
          ? (parseNumberOption('quiet-seconds', values['quiet-seconds'], 0.1) ?? 2)
          : 0,
        duplicateEvents: parseWholeNumber('duplicate-events', values['duplicate-events'], 1, 100) ?? 1,
        ...(values['no-iam-check'] ? { iamCheck: false } : {}),
        ...(deadlineSeconds === undefined ? {} : { deadlineSeconds }),
        ...(s3Port === undefined ? {} : { s3Port }),
        ...(pix4dUrl === undefined ? {} : { pix4d: externalPix4d(pix4dUrl) }),
      },
    },
  };
}

/** A count or a port: a number option that must also be whole. */
function parseWholeNumber(name: string, value: string | undefined, min: number, max: number): number | undefined {
  const number = parseNumberOption(name, value, min, max);
  if (number !== undefined && !Number.isInteger(number))
    throw new UsageError(`--${name} must be a whole number between ${min} and ${max} (got "${value}")`);
  return number;
}

/** --photos names a folder with at least one file in it (the pipeline would otherwise find nothing, 5 s later). */
function checkPhotosFolder(path: string): void {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (error) {
    throw new UsageError(`--photos ${path}: ${fileProblem(error)} (give the folder that holds the flight's photos)`);
  }
  if (!isFolder) throw new UsageError(`--photos ${path} is a file, not a folder (give the folder that holds it)`);
  if (!holdsAFile(path, true))
    throw new UsageError(`--photos ${path} holds no file to upload (give the folder that holds the flight's photos)`);
}

/** Any file in the folder or below it, its top-level manifest.json aside (that one goes up as the manifest). */
function holdsAFile(folder: string, top: boolean): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`--photos ${folder}: ${fileProblem(error)}`);
  }
  return entries.some(
    (entry) =>
      (entry.isFile() && !(top && entry.name === 'manifest.json')) ||
      (entry.isDirectory() && holdsAFile(`${folder}/${entry.name}`, false)),
  );
}

function readManifest(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--manifest ${path}: ${fileProblem(error)}`);
  }
}

/**
 * The manifest.json at the top of a --photos folder, which the folder upload would otherwise send among the photos,
 * before them: uploaded last instead, as a manifest must be.
 */
function photosManifest(photosDir: string | undefined): string | undefined {
  if (photosDir === undefined) return undefined;
  try {
    return readFileSync(`${photosDir}/manifest.json`, 'utf8');
  } catch {
    return undefined;
  }
}

function fileProblem(error: unknown): string {
  switch ((error as { code?: unknown }).code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    default:
      return (error as Error).message;
  }
}

/**
 * The rule for the Inspect S3 endpoint: PIX4D_S3_ENDPOINT when set, else AWS S3, where the real service keeps its
 * bucket. A Pix4Dinspect on this machine keeps its bucket on this machine too, never on AWS: without the variable
 * it is refused here rather than after the copy's retries against AWS.
 */
function externalPix4d(url: string): ExternalPix4d {
  const env = (name: string) => {
    const value = process.env[name]?.trim();
    if (!value)
      throw new UsageError(
        `--pix4d-url needs the environment variable ${name} (npm run -s simulator prints the environment to set)`,
      );
    return value;
  };
  const optionalUrl = (name: string) => {
    const value = process.env[name]?.trim() || undefined;
    if (value !== undefined && !isHttpUrl(value))
      throw new UsageError(`${name} must be an http(s) URL (got "${value}")`);
    return value;
  };
  if (!isHttpUrl(url)) throw new UsageError(`--pix4d-url must be an http(s) URL (got "${url}")`);
  const s3Endpoint = optionalUrl('PIX4D_S3_ENDPOINT');
  if (s3Endpoint === undefined && isThisMachine(url)) {
    throw new UsageError(
      `--pix4d-url ${url} is on this machine, so its bucket is not on AWS S3: set PIX4D_S3_ENDPOINT to its S3 endpoint (npm run -s simulator prints it)`,
    );
  }
  const organizationUuid = process.env.PIX4D_ORGANIZATION_UUID?.trim();
  return {
    apiUrl: url,
    authUrl: optionalUrl('PIX4D_AUTH_URL') ?? url,
    account: {
      username: env('PIX4D_USERNAME'),
      password: env('PIX4D_PASSWORD'),
      apiKey: env('PIX4D_API_KEY'),
      ...(organizationUuid ? { organizationUuid } : {}),
    },
    ...(s3Endpoint === undefined ? {} : { s3Endpoint }),
  };
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** localhost (and *.localhost), 127.0.0.0/8, ::1, or the "any" addresses, which reach this machine too. */
function isThisMachine(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    ['::1', '0.0.0.0', '::'].includes(host)
  );
}

/** What can be found wrong with the machine before the 5 s of start-up: a busy port, hosts that do not answer. */
async function checkBeforeStart(options: CliOptions): Promise<void> {
  const { s3Port, pix4d } = options.run.pipeline;
  await Promise.all([s3Port ? checkPortFree(s3Port) : undefined, pix4d ? checkReachable(pix4d) : undefined]);
}

/** Listens on the port the embedded S3 server will take, and lets it go: a busy port is told now, in one line. */
function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(portError(error, port) ?? error));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** EADDRINUSE or EACCES on the --s3-port, as a usage error that says how to choose another. */
function portError(error: unknown, port: number | undefined): UsageError | undefined {
  const code = (error as { code?: unknown })?.code;
  if ((code !== 'EADDRINUSE' && code !== 'EACCES') || port === undefined) return undefined;
  const problem = code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this user lacks';
  return new UsageError(
    `port ${port} (--s3-port ${port}) ${problem}; choose another with --s3-port N, or omit --s3-port for any free port`,
  );
}

/** Every host of the external Pix4Dinspect answers a TCP connection, or the run is refused naming the setting. */
async function checkReachable(pix4d: ExternalPix4d): Promise<void> {
  const s3 = pix4d.s3Endpoint
    ? {
        url: pix4d.s3Endpoint,
        setting: `PIX4D_S3_ENDPOINT ${pix4d.s3Endpoint}`,
        fix: 'set PIX4D_S3_ENDPOINT to the S3 endpoint of its bucket (npm run -s simulator prints it)',
      }
    : {
        url: 'https://s3.amazonaws.com',
        setting: 'AWS S3 (https://s3.amazonaws.com, as PIX4D_S3_ENDPOINT is not set)',
        fix: "check the network, or set PIX4D_S3_ENDPOINT to the S3 endpoint of that Pix4Dinspect's bucket",
      };
  const targets = [
    { url: pix4d.apiUrl, setting: `--pix4d-url ${pix4d.apiUrl}`, fix: 'is that Pix4Dinspect running? Check the URL' },
    ...(pix4d.authUrl && pix4d.authUrl !== pix4d.apiUrl
      ? [{ url: pix4d.authUrl, setting: `PIX4D_AUTH_URL ${pix4d.authUrl}`, fix: 'check PIX4D_AUTH_URL' }]
      : []),
    { ...s3, setting: `the Inspect S3 endpoint, ${s3.setting}` },
  ];
  const problems = await Promise.all(targets.map((target) => connectionProblem(target.url)));
  const index = problems.findIndex((problem) => problem !== undefined);
  if (index >= 0)
    throw new UsageError(`${targets[index]!.setting} cannot be reached (${problems[index]}): ${targets[index]!.fix}`);
}

/** Why no TCP connection to the URL's host and port could be opened within REACH_LIMIT_MS; undefined when one was. */
function connectionProblem(url: string): Promise<string | undefined> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || (protocol === 'https:' ? 443 : 80)),
    });
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    // Also covers a DNS lookup that hangs, which the socket's own timeout does not.
    const timer = setTimeout(() => done(`no answer within ${REACH_LIMIT_MS / 1000} s`), REACH_LIMIT_MS);
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(describeConnectError(error)));
  });
}

function describeConnectError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found: ${(error as { hostname?: string }).hostname ?? ''}`.trim();
    default:
      return error.code ?? error.message;
  }
}

async function main(argv: string[]): Promise<number> {
  const options = readOptions(argv);
  if (options === 'help') {
    stdout(`${USAGE}\n`);
    return 0;
  }
  if (options === 'version') {
    stdout(`${versionLine('inspect-pipeline local')}\n`);
    return 0;
  }
  await checkBeforeStart(options);
  // The port was free a moment ago; should another process take it before the embedded S3 listens, its server
  // emits an 'error' nobody handles: the same one line rather than Node's dump.
  const debug = argv.includes('--debug');
  process.on('uncaughtException', (error) => {
    const { text, code } = describeFailure(PROGRAM, portError(error, options.run.pipeline.s3Port) ?? error, debug);
    process.stderr.write(`${text}\n`);
    process.exit(code);
  });
  // The handlers' logger reads it when its module loads, so it is set before the import.
  process.env.POWERTOOLS_LOG_LEVEL = options.logLevel.toUpperCase();
  const { runCli } = require('./cli-runner') as { runCli: RunCli };
  return runCli(options, stdout);
}

runMain(PROGRAM, main);
