import '../node-version-warning';
import { withoutUndefined } from '../../src/without-undefined';
import { parseChoiceOption, parseNumberOption, UsageError } from '../cli-options';
import { parseCommandLine, runMain, versionLine } from '../command-line';
import type { SimulatorAccount } from './api-server';
import type { ProcessingOutcome, SimulatorSettings } from './settings';
import type { Simulator } from './simulator';

const PROGRAM = 'simulator';
const COMMAND = 'npm run -s simulator --';

const USAGE = `Usage: npm run -s simulator -- [options]

Starts the Pix4Dinspect simulator on 127.0.0.1 with its own embedded S3 bucket, prints how to reach it (with the
environment for the README tutorial and for local mode's --pix4d-url), and runs until Ctrl-C (SIGINT) or SIGTERM.

  --port N                  API port (default: any free port)
  --s3-port N               S3 endpoint port (default: any free port)
  --json                    print one JSON object on the first line of stdout
  --username TEXT           account username (default: generated)
  --password TEXT           account password (default: generated)
  --api-key TEXT            account API key (default: generated)
  --organization-uuid UUID  require this pix4d-organization-uuid header on API calls
  --error-rate R            share of API requests answered 502/503/504 (0..1, default 0); alias --fault-rate
  --lost-answer-rate R      share of API requests that take effect, then lose their answer (502/504 or a
                            dropped connection) (0..1, default 0)
  --rate-limit-rate R       share of API requests answered 429 (0..1, default 0)
  --retry-after S           Retry-After of those 429s in seconds (default 1)
  --token-ttl S             token lifetime in seconds (default 172800)
  --credentials-ttl S       S3 credentials lifetime in seconds (default 3600)
  --processing-seconds S    time from process/ to the final status (default 20)
  --processing-outcome O    completed | failed | never (default completed)
  -h, --help                show this help
  --version                 print the version
  --debug                   print the stack trace of an unexpected error

Exit status: 0 after a stop by Ctrl-C or SIGTERM, 2 on bad usage (a busy port included), 1 on any other error.`;

const OPTIONS = {
  port: { type: 'string' },
  's3-port': { type: 'string' },
  json: { type: 'boolean', default: false },
  username: { type: 'string' },
  password: { type: 'string' },
  'api-key': { type: 'string' },
  'organization-uuid': { type: 'string' },
  'error-rate': { type: 'string' },
  'lost-answer-rate': { type: 'string' },
  'rate-limit-rate': { type: 'string' },
  'retry-after': { type: 'string' },
  'token-ttl': { type: 'string' },
  'credentials-ttl': { type: 'string' },
  'processing-seconds': { type: 'string' },
  'processing-outcome': { type: 'string' },
} as const;

/** Local mode's name for the error rate: both CLIs take both spellings. */
const ALIASES = { 'fault-rate': 'error-rate' } as const;

function readOptions(argv: string[]) {
  const { values } = parseCommandLine({ command: COMMAND, options: OPTIONS, aliases: ALIASES }, argv);
  if (values.help) return 'help';
  if (values.version) return 'version';
  // A bad value is reported under the spelling the user typed.
  const errorRateName = argv.some((arg) => /^--fault-rate(=|$)/.test(arg)) ? 'fault-rate' : 'error-rate';
  const settings: Partial<SimulatorSettings> = withoutUndefined({
    errorRate: parseNumberOption(errorRateName, values['error-rate'], 0, 1),
    lostAnswerRate: parseNumberOption('lost-answer-rate', values['lost-answer-rate'], 0, 1),
    rateLimitRate: parseNumberOption('rate-limit-rate', values['rate-limit-rate'], 0, 1),
    retryAfterSeconds: parseNumberOption('retry-after', values['retry-after'], 0),
    tokenTtlSeconds: parseNumberOption('token-ttl', values['token-ttl'], 1),
    credentialsTtlSeconds: parseNumberOption('credentials-ttl', values['credentials-ttl'], 1),
    processingSeconds: parseNumberOption('processing-seconds', values['processing-seconds'], 0),
    processingOutcome: parseChoiceOption<ProcessingOutcome>('processing-outcome', values['processing-outcome'], [
      'completed',
      'failed',
      'never',
    ]),
  });
  const account: Partial<SimulatorAccount> = withoutUndefined({
    username: values.username,
    password: values.password,
    apiKey: values['api-key'],
    organizationUuid: values['organization-uuid'],
  });
  const port = parsePortOption('port', values.port);
  const s3Port = parsePortOption('s3-port', values['s3-port']);
  if (port !== undefined && port !== 0 && port === s3Port) {
    throw new UsageError(`--port and --s3-port must differ (both ${port}); omit one of them for any free port`);
  }
  return { json: values.json, port, s3Port, settings, account };
}

function parsePortOption(name: string, value: string | undefined): number | undefined {
  const port = parseNumberOption(name, value, 0, 65535);
  if (port !== undefined && !Number.isInteger(port))
    throw new UsageError(`--${name} must be a whole number between 0 and 65535 (got "${value}")`);
  return port;
}

/** A port the simulator cannot listen on, as a usage error that names its option and how to choose another. */
function portError(
  error: unknown,
  ports: Readonly<Record<'port' | 's3-port', number | undefined>>,
): UsageError | undefined {
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  const option = (Object.keys(ports) as (keyof typeof ports)[]).find(
    (name) => ports[name] !== undefined && ports[name] === port,
  );
  if (option === undefined) return undefined;
  const problem = code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this user lacks';
  return new UsageError(
    `port ${port} (--${option} ${port}) ${problem}; choose another with --${option} N, or omit --${option} for any free port`,
  );
}

/** A word for bash: single-quoted, so that no character of a generated or given value is expanded. */
function shellWord(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function exportLine(variables: Readonly<Record<string, string>>): string {
  return `export ${Object.entries(variables)
    .map(([name, value]) => `${name}=${shellWord(value)}`)
    .join(' ')}`;
}

/** What local mode's `--pix4d-url` reads from the environment to use this simulator instead of its own. */
function pix4dEnvironment(simulator: Simulator): Record<string, string> {
  const { account } = simulator;
  return {
    PIX4D_USERNAME: account.username,
    PIX4D_PASSWORD: account.password,
    PIX4D_API_KEY: account.apiKey,
    ...(account.organizationUuid ? { PIX4D_ORGANIZATION_UUID: account.organizationUuid } : {}),
    PIX4D_AUTH_URL: simulator.apiUrl,
    PIX4D_S3_ENDPOINT: simulator.s3Endpoint,
  };
}

function banner(simulator: Simulator, json: boolean): string {
  const { account } = simulator;
  const environment = pix4dEnvironment(simulator);
  // The URL is always http://127.0.0.1:PORT: a word bash takes as it is.
  const localModeCommand = `npm run -s local -- --pix4d-url ${simulator.apiUrl}`;
  if (json) {
    return `${JSON.stringify({
      apiUrl: simulator.apiUrl,
      authUrl: simulator.apiUrl,
      s3Endpoint: simulator.s3Endpoint,
      bucket: simulator.bucket,
      region: 'us-east-1',
      username: account.username,
      password: account.password,
      apiKey: account.apiKey,
      ...(account.organizationUuid ? { organizationUuid: account.organizationUuid } : {}),
      settings: simulator.settings,
      pix4dEnvironment: environment,
      localModeCommand,
    })}\n`;
  }
  return [
    'Pix4Dinspect simulator running (stop with Ctrl-C)',
    `  API base URL  ${simulator.apiUrl}   (token: POST ${simulator.apiUrl}/v1/auth/token/)`,
    `  S3 endpoint   ${simulator.s3Endpoint}   (bucket ${simulator.bucket}, region us-east-1)`,
    `  Username      ${account.username}`,
    `  Password      ${account.password}`,
    `  API key       ${account.apiKey}`,
    ...(account.organizationUuid ? [`  Organization  ${account.organizationUuid}`] : []),
    '',
    'Environment for the tutorial:',
    `  ${exportLine({ INSPECT_USERNAME: account.username, INSPECT_PASSWORD: account.password, INSPECT_API_KEY: account.apiKey })}`,
    `  ${exportLine({ INSPECT_API: simulator.apiUrl, S3_ENDPOINT: simulator.s3Endpoint })}`,
    '',
    `Environment for local mode (npm run -s local -- --pix4d-url ${simulator.apiUrl}), then its command:`,
    `  ${exportLine(environment)}`,
    `  ${localModeCommand}`,
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  // Listened for from the start, so that a stop during start-up also ends in a clean close rather than a kill; the
  // handlers stay for the whole close, since npm forwards the signal its process group got too.
  const stopRequested = new Promise<void>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  const options = readOptions(argv);
  if (options === 'help' || options === 'version') {
    process.stdout.write(`${options === 'help' ? USAGE : versionLine(PROGRAM)}\n`);
    return 0;
  }
  // Loaded only now, so that help, version and mistakes answer without loading s3rver.
  const { startSimulator } = require('./simulator') as typeof import('./simulator');
  let simulator: Simulator;
  try {
    simulator = await startSimulator({
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.s3Port === undefined ? {} : { s3Port: options.s3Port }),
      account: options.account,
      settings: options.settings,
    });
  } catch (error) {
    throw portError(error, { port: options.port, 's3-port': options.s3Port }) ?? error;
  }
  process.stdout.write(banner(simulator, options.json));

  await stopRequested;
  await simulator.close();
  if (!options.json) process.stdout.write('Simulator stopped.\n');
  return 0;
}

runMain(PROGRAM, main);
