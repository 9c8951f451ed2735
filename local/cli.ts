import './node-version-warning';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseChoiceOption, parseFolderOption, parseNumberOption, UsageError, withoutUndefined } from './cli-options';

/**
 * `npm run -s local -- [options]`: the whole pipeline on this machine. Everything the pipeline itself prints (its
 * JSON logs) goes to stderr; stdout carries only this command's output, so `--json` gives clean JSON Lines.
 */
const stdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const USAGE = `Usage: npm run -s local -- [options]

Runs the whole pipeline on this machine (embedded S3, Pix4Dinspect simulator, the state machines of the
synthesized stack with the real handlers), drops a flight and prints its progress and notification.

Flight
  --photos DIR              upload this folder as the flight (sub-folders kept)
  --generate N              or N synthetic JPEG photos (default 24)
  --asset NAME              asset folder (default tower-001)
  --flight NAME             flight folder (default flight-1)
  --manifest FILE           manifest.json to upload last (default: a minimal one naming the flight)
  --no-manifest             upload no manifest: the batch closes after the quiet period
  --quiet-seconds S         quiet period with --no-manifest (default 2)
  --flights N               drop N flights at once (<flight>-01, -02, ...)
  --duplicate-events N      deliver every S3 event N times (default 1)
  --no-iam-check            do not hold each function's AWS calls to its role in the synthesized template
Simulated Pix4Dinspect
  --fault-rate R            share of API requests answered 502/503/504 (0..1)
  --lost-answer-rate R      share of API requests that take effect, then lose their answer (502/504 or a
                            dropped connection) (0..1)
  --rate-limit-rate R       share of API requests answered 429 (0..1)
  --token-ttl S             token lifetime in seconds
  --credentials-ttl S       S3 credentials lifetime in seconds
  --processing-seconds S    processing time (default 3)
  --processing-outcome O    completed | failed | never
  --deadline-seconds S      processing deadline of the workflow (default 48 h)
  --username, --password, --api-key   the simulator's account (default generated)
  --pix4d-url URL           use this Pix4Dinspect instead (credentials from PIX4D_USERNAME, PIX4D_PASSWORD,
                            PIX4D_API_KEY, optional PIX4D_ORGANIZATION_UUID, PIX4D_AUTH_URL, PIX4D_S3_ENDPOINT)
Output
  --json                    JSON Lines on stdout, one object per progress event
  --serve                   keep running: process every flight any S3 client drops, until Ctrl-C
  --grace-seconds N         on Ctrl-C (SIGINT) or SIGTERM, how long batches in flight get to finish before they are
                            abandoned (default 10); a second signal stops at once
  --s3-port N               port of the embedded S3 server (default: any free port)
  --log-level L             level of the pipeline's logs on stderr: debug | info | warn | error (default warn)
  --help

Exit status: 0 when every flight ended inspection.completed, 1 when any failed or timed out, 2 on bad usage,
130 (SIGINT) or 143 (SIGTERM) when a stop cut work short: a flight or batch abandoned, or a second signal.`;

export interface CliOptions {
  readonly json: boolean;
  readonly serve: boolean;
  /** How long batches in flight get to finish once a stop is requested. */
  readonly graceSeconds: number;
  readonly logLevel: string;
  readonly run: import('./local-run').LocalRunOptions;
}

function readOptions(argv: string[]): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      photos: { type: 'string' },
      generate: { type: 'string' },
      asset: { type: 'string' },
      flight: { type: 'string' },
      manifest: { type: 'string' },
      'no-manifest': { type: 'boolean', default: false },
      'quiet-seconds': { type: 'string' },
      flights: { type: 'string' },
      'duplicate-events': { type: 'string' },
      'no-iam-check': { type: 'boolean', default: false },
      'fault-rate': { type: 'string' },
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
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.photos !== undefined && values.generate !== undefined) throw new UsageError('--photos and --generate exclude each other');
  if (values.manifest !== undefined && values['no-manifest']) throw new UsageError('--manifest and --no-manifest exclude each other');
  const asset = parseFolderOption('asset', values.asset ?? 'tower-001');
  const flight = parseFolderOption('flight', values.flight ?? 'flight-1');
  const manifest = values['no-manifest'] ? false : values.manifest !== undefined ? readManifest(values.manifest) : JSON.stringify({ inspection: { name: flight } });
  const simulatorSettings = withoutUndefined({
    errorRate: parseNumberOption('fault-rate', values['fault-rate'], 0, 1),
    lostAnswerRate: parseNumberOption('lost-answer-rate', values['lost-answer-rate'], 0, 1),
    rateLimitRate: parseNumberOption('rate-limit-rate', values['rate-limit-rate'], 0, 1),
    tokenTtlSeconds: parseNumberOption('token-ttl', values['token-ttl'], 1),
    credentialsTtlSeconds: parseNumberOption('credentials-ttl', values['credentials-ttl'], 1),
    processingSeconds: parseNumberOption('processing-seconds', values['processing-seconds'], 0) ?? 3,
    processingOutcome: parseChoiceOption('processing-outcome', values['processing-outcome'], ['completed', 'failed', 'never'] as const),
    retryAfterSeconds: values['rate-limit-rate'] === undefined ? undefined : 1,
  });
  const simulatorAccount = withoutUndefined({ username: values.username, password: values.password, apiKey: values['api-key'] });
  const deadlineSeconds = parseNumberOption('deadline-seconds', values['deadline-seconds'], 1);
  const s3Port = parseNumberOption('s3-port', values['s3-port'], 0, 65535);
  const pix4dUrl = values['pix4d-url'];
  return {
    json: values.json,
    serve: values.serve,
    graceSeconds: parseNumberOption('grace-seconds', values['grace-seconds'], 0) ?? 10,
    logLevel: parseChoiceOption('log-level', values['log-level'], ['debug', 'info', 'warn', 'error'] as const) ?? 'warn',
    run: {
      source: {
        ...(values.photos === undefined ? {} : { photosDir: values.photos }),
        generate: parseNumberOption('generate', values.generate, 1, 100_000) ?? 24,
      },
      asset,
      flight,
      flights: parseNumberOption('flights', values.flights, 1, 1_000) ?? 1,
      manifest,
      pipeline: {
        simulatorSettings,
        simulatorAccount,
        quietPeriodSeconds: values['no-manifest'] ? (parseNumberOption('quiet-seconds', values['quiet-seconds'], 0.1) ?? 2) : 0,
        duplicateEvents: parseNumberOption('duplicate-events', values['duplicate-events'], 1, 100) ?? 1,
        ...(values['no-iam-check'] ? { iamCheck: false } : {}),
        ...(deadlineSeconds === undefined ? {} : { deadlineSeconds }),
        ...(s3Port === undefined ? {} : { s3Port }),
        ...(pix4dUrl === undefined ? {} : { pix4d: externalPix4d(pix4dUrl) }),
      },
    },
  };
}

function readManifest(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--manifest: cannot read ${path}`);
  }
}

function externalPix4d(url: string) {
  const env = (name: string) => {
    const value = process.env[name]?.trim();
    if (!value) throw new UsageError(`--pix4d-url needs the environment variable ${name}`);
    return value;
  };
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--pix4d-url must be an http(s) URL (got "${url}")`);
  const organizationUuid = process.env.PIX4D_ORGANIZATION_UUID?.trim();
  return {
    apiUrl: url,
    authUrl: process.env.PIX4D_AUTH_URL?.trim() || url,
    account: {
      username: env('PIX4D_USERNAME'),
      password: env('PIX4D_PASSWORD'),
      apiKey: env('PIX4D_API_KEY'),
      ...(organizationUuid ? { organizationUuid } : {}),
    },
    ...(process.env.PIX4D_S3_ENDPOINT?.trim() ? { s3Endpoint: process.env.PIX4D_S3_ENDPOINT.trim() } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = readOptions(argv);
  } catch (error) {
    process.stderr.write(`local: ${(error as Error).message}\n\nRun with --help for the options.\n`);
    return 2;
  }
  if (options === 'help') {
    stdout(`${USAGE}\n`);
    return 0;
  }
  // The handlers' logger and metrics read these when their modules load, so they are set before the import.
  process.env.POWERTOOLS_LOG_LEVEL = options.logLevel.toUpperCase();
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { runCli } = require('./cli-runner') as typeof import('./cli-runner');
  return runCli(options, stdout);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`local: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
