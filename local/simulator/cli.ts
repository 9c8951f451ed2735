import '../node-version-warning';
import { parseArgs } from 'node:util';
import { parseChoiceOption, parseNumberOption, UsageError, withoutUndefined } from '../cli-options';
import type { SimulatorAccount } from './api-server';
import type { ProcessingOutcome, SimulatorSettings } from './settings';
import { startSimulator } from './simulator';

const USAGE = `Usage: npm run -s simulator -- [options]

Starts the Pix4Dinspect simulator on 127.0.0.1 with its own embedded S3 bucket, prints how to reach it,
and runs until Ctrl-C (SIGINT) or SIGTERM.

  --port N                  API port (default: any free port)
  --s3-port N               S3 endpoint port (default: any free port)
  --json                    print one JSON object on the first line of stdout
  --username TEXT           account username (default: generated)
  --password TEXT           account password (default: generated)
  --api-key TEXT            account API key (default: generated)
  --organization-uuid UUID  require this pix4d-organization-uuid header on API calls
  --error-rate R            share of API requests answered 502/503/504 (0..1, default 0)
  --lost-answer-rate R      share of API requests that take effect, then lose their answer (502/504 or a
                            dropped connection) (0..1, default 0)
  --rate-limit-rate R       share of API requests answered 429 (0..1, default 0)
  --retry-after S           Retry-After of those 429s in seconds (default 1)
  --token-ttl S             token lifetime in seconds (default 172800)
  --credentials-ttl S       S3 credentials lifetime in seconds (default 3600)
  --processing-seconds S    time from process/ to the final status (default 20)
  --processing-outcome O    completed | failed | never (default completed)
  --help                    show this help`;

function readOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
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
      help: { type: 'boolean', default: false },
    },
  });
  const settings: Partial<SimulatorSettings> = withoutUndefined({
    errorRate: parseNumberOption('error-rate', values['error-rate'], 0, 1),
    lostAnswerRate: parseNumberOption('lost-answer-rate', values['lost-answer-rate'], 0, 1),
    rateLimitRate: parseNumberOption('rate-limit-rate', values['rate-limit-rate'], 0, 1),
    retryAfterSeconds: parseNumberOption('retry-after', values['retry-after'], 0),
    tokenTtlSeconds: parseNumberOption('token-ttl', values['token-ttl'], 1),
    credentialsTtlSeconds: parseNumberOption('credentials-ttl', values['credentials-ttl'], 1),
    processingSeconds: parseNumberOption('processing-seconds', values['processing-seconds'], 0),
    processingOutcome: parseChoiceOption<ProcessingOutcome>('processing-outcome', values['processing-outcome'], ['completed', 'failed', 'never']),
  });
  const account: Partial<SimulatorAccount> = withoutUndefined({
    username: values.username,
    password: values.password,
    apiKey: values['api-key'],
    organizationUuid: values['organization-uuid'],
  });
  return {
    help: values.help,
    json: values.json,
    port: parseNumberOption('port', values.port, 0, 65535),
    s3Port: parseNumberOption('s3-port', values['s3-port'], 0, 65535),
    settings,
    account,
  };
}

async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof readOptions>;
  try {
    options = readOptions(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const simulator = await startSimulator({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.s3Port === undefined ? {} : { s3Port: options.s3Port }),
    account: options.account,
    settings: options.settings,
  });
  const { account } = simulator;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({
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
      })}\n`,
    );
  } else {
    process.stdout.write(
      [
        'Pix4Dinspect simulator running (stop with Ctrl-C)',
        `  API base URL  ${simulator.apiUrl}   (token: POST ${simulator.apiUrl}/v1/auth/token/)`,
        `  S3 endpoint   ${simulator.s3Endpoint}   (bucket ${simulator.bucket}, region us-east-1)`,
        `  Username      ${account.username}`,
        `  Password      ${account.password}`,
        `  API key       ${account.apiKey}`,
        ...(account.organizationUuid ? [`  Organization  ${account.organizationUuid}`] : []),
        '',
        'Environment for the tutorial:',
        `  export INSPECT_USERNAME='${account.username}' INSPECT_PASSWORD='${account.password}' INSPECT_API_KEY='${account.apiKey}'`,
        `  export INSPECT_API='${simulator.apiUrl}' S3_ENDPOINT='${simulator.s3Endpoint}'`,
        '',
      ].join('\n'),
    );
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await simulator.close();
  if (!options.json) process.stdout.write('Simulator stopped.\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`simulator: ${error instanceof UsageError ? error.message : (error as Error).stack}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
