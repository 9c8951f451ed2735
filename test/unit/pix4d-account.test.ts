import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { numberEnv, optionalEnv, requireEnv } from '../../functions/shared/config';
import {
  clearPix4dAccountCache,
  DEFAULT_ACCOUNT_MAX_AGE_MS,
  loadPix4dAccount,
  Pix4dSecretError,
  SECRET_PLACEHOLDER_PREFIX,
} from '../../functions/shared/pix4d-account';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/inspect-AbC123';
const OTHER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/other-XyZ789';
// Distinctive, so that finding any of them in an error message cannot be a coincidence.
const USERNAME = 'drone-ops-7Qz4@example.test';
const PASSWORD = 'Pw!zebra-quartz-9931';
const API_KEY = 'ak-marmalade-5517-Lm';
const ORGANIZATION_UUID = '4f1c2d3e-0000-4a5b-8c9d-1234567890ab';
const SECRET_VALUES = [USERNAME, PASSWORD, API_KEY];

const secretsManager = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'eu-west-1' });

function secretWith(value: unknown): { ARN: string; SecretString: string } {
  return { ARN: SECRET_ARN, SecretString: JSON.stringify(value) };
}

async function loadError(arn = SECRET_ARN): Promise<unknown> {
  return loadPix4dAccount(arn, client).then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** The part of a message that describes what is wrong, before the reminder of the expected shape. */
function problemsIn(error: unknown): string {
  const { message } = error as Error;
  return message.slice(0, message.indexOf('Expected JSON'));
}

function expectNoSecretValueIn(error: unknown): void {
  const text = `${String(error)} ${JSON.stringify(error)}`;
  for (const value of SECRET_VALUES) expect(text).not.toContain(value);
}

beforeEach(() => {
  secretsManager.reset();
  clearPix4dAccountCache();
});

describe('loadPix4dAccount', () => {
  it('reads the secret by ARN and returns the account', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY }));

    // Act
    const account = await loadPix4dAccount(SECRET_ARN, client);

    // Assess
    expect(account).toStrictEqual({ username: USERNAME, password: PASSWORD, apiKey: API_KEY });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toStrictEqual({
      SecretId: SECRET_ARN,
    });
  });

  it('passes organizationUuid through', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(
        secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY, organizationUuid: ORGANIZATION_UUID }),
      );

    // Act
    const account = await loadPix4dAccount(SECRET_ARN, client);

    // Assess
    expect(account.organizationUuid).toBe(ORGANIZATION_UUID);
  });

  it('treats a blank or null organizationUuid as absent and ignores extra fields', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(
        secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY, organizationUuid: ' ', notes: 'ops' }),
      );
    secretsManager
      .on(GetSecretValueCommand, { SecretId: OTHER_SECRET_ARN })
      .resolves(secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY, organizationUuid: null }));

    // Act
    const blank = await loadPix4dAccount(SECRET_ARN, client);
    const nulled = await loadPix4dAccount(OTHER_SECRET_ARN, client);

    // Assess
    expect(blank).toStrictEqual({ username: USERNAME, password: PASSWORD, apiKey: API_KEY });
    expect(nulled).toStrictEqual({ username: USERNAME, password: PASSWORD, apiKey: API_KEY });
  });

  it('reuses the account within maxAgeMs and reads the secret again after it', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce(secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY }))
      .resolves(secretWith({ username: USERNAME, password: 'Pw!rotated-1234', apiKey: API_KEY }));
    let clock = 1_000;
    const options = { maxAgeMs: 10_000, now: () => clock };

    // Act
    const first = await loadPix4dAccount(SECRET_ARN, client, options);
    clock += 9_999;
    const withinMaxAge = await loadPix4dAccount(SECRET_ARN, client, options);
    const callsWithinMaxAge = secretsManager.commandCalls(GetSecretValueCommand).length;
    clock += 1;
    const afterMaxAge = await loadPix4dAccount(SECRET_ARN, client, options);

    // Assess
    expect(callsWithinMaxAge).toBe(1);
    expect(withinMaxAge).toBe(first);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(afterMaxAge.password).toBe('Pw!rotated-1234');
  });

  it('keeps an account for 5 minutes by default', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY }));
    let clock = 0;
    const now = (): number => clock;

    // Act
    await loadPix4dAccount(SECRET_ARN, client, { now });
    clock = 5 * 60 * 1000 - 1;
    await loadPix4dAccount(SECRET_ARN, client, { now });
    const callsBeforeFiveMinutes = secretsManager.commandCalls(GetSecretValueCommand).length;
    clock = 5 * 60 * 1000;
    await loadPix4dAccount(SECRET_ARN, client, { now });

    // Assess
    expect(DEFAULT_ACCOUNT_MAX_AGE_MS).toBe(300_000);
    expect(callsBeforeFiveMinutes).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('caches per secret ARN and shares one read between concurrent calls', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY }));

    // Act
    const accounts = await Promise.all([
      loadPix4dAccount(SECRET_ARN, client),
      loadPix4dAccount(SECRET_ARN, client),
      loadPix4dAccount(OTHER_SECRET_ARN, client),
    ]);

    // Assess
    expect(accounts[0]).toBe(accounts[1]);
    const secretIds = secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId);
    expect(secretIds).toStrictEqual([SECRET_ARN, OTHER_SECRET_ARN]);
  });

  it('does not cache a failed read', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'Secrets Manager can’t find it', $metadata: {} }))
      .resolves(secretWith({ username: USERNAME, password: PASSWORD, apiKey: API_KEY }));

    // Act
    const error = await loadError();
    const account = await loadPix4dAccount(SECRET_ARN, client);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as Error).name).toBe('ResourceNotFoundException');
    expect(account.username).toBe(USERNAME);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('names a missing apiKey and the secret ARN, and no secret value', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves(secretWith({ username: USERNAME, password: PASSWORD }));

    // Act
    const error = await loadError();

    // Assess
    expect(error).toBeInstanceOf(Pix4dSecretError);
    expect((error as Pix4dSecretError).name).toBe('Pix4dSecretError');
    expect((error as Pix4dSecretError).secretArn).toBe(SECRET_ARN);
    expect((error as Error).message).toContain(SECRET_ARN);
    expect((error as Error).message).toContain('apiKey is missing');
    expect(problemsIn(error)).not.toMatch(/username|password/);
    expectNoSecretValueIn(error);
  });

  it('names every mistyped or empty field without quoting values', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(
        secretWith({ username: [USERNAME], password: 99317731, apiKey: '  ', organizationUuid: { id: API_KEY } }),
      );

    // Act
    const error = await loadError();

    // Assess
    expect(error).toBeInstanceOf(Pix4dSecretError);
    const { message } = error as Error;
    expect(message).toContain('username must be a string, not an array');
    expect(message).toContain('password must be a string, not a number');
    expect(message).toContain('apiKey is empty');
    expect(message).toContain('organizationUuid must be a string, not an object');
    expect(message).not.toContain('99317731');
    expectNoSecretValueIn(error);
  });

  it('says when the secret still holds the placeholders it was created with', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves(
      secretWith({
        username: `${SECRET_PLACEHOLDER_PREFIX}PIX4D_USERNAME`,
        password: PASSWORD,
        apiKey: `${SECRET_PLACEHOLDER_PREFIX}PIX4D_API_KEY`,
      }),
    );

    // Act
    const error = await loadError();

    // Assess
    expect(error).toBeInstanceOf(Pix4dSecretError);
    expect((error as Error).message).toContain('username still holds the placeholder');
    expect((error as Error).message).toContain('apiKey still holds the placeholder');
    expect(problemsIn(error)).not.toContain('password');
    expectNoSecretValueIn(error);
  });

  it('says a secret is not JSON without repeating its content', async () => {
    // Prepare: plain text, and JSON cut short, whose SyntaxError would quote the password
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ ARN: SECRET_ARN, SecretString: PASSWORD })
      .resolvesOnce({ ARN: SECRET_ARN, SecretString: `{"username":"${USERNAME}","password":"${PASSWORD}"` });

    // Act
    const plainText = await loadError();
    const truncated = await loadError();

    // Assess
    for (const error of [plainText, truncated]) {
      expect(error).toBeInstanceOf(Pix4dSecretError);
      expect((error as Error).message).toContain(SECRET_ARN);
      expect((error as Error).message).toContain('its value is not JSON');
      expect((error as Error).cause).toBeUndefined();
      expectNoSecretValueIn(error);
    }
  });

  it('says a secret holding JSON other than an object is not an account', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves(secretWith([USERNAME, PASSWORD, API_KEY]));

    // Act
    const error = await loadError();

    // Assess
    expect(error).toBeInstanceOf(Pix4dSecretError);
    expect((error as Error).message).toContain('its JSON value is an array, not an object');
    expectNoSecretValueIn(error);
  });

  it('says a secret is binary or empty', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ ARN: SECRET_ARN, SecretBinary: new TextEncoder().encode(PASSWORD) })
      .resolvesOnce({ ARN: SECRET_ARN });

    // Act
    const binary = await loadError();
    const empty = await loadError();

    // Assess
    expect(binary).toBeInstanceOf(Pix4dSecretError);
    expect((binary as Error).message).toContain('binary data');
    expectNoSecretValueIn(binary);
    expect(empty).toBeInstanceOf(Pix4dSecretError);
    expect((empty as Error).message).toContain('it has no value');
  });

  it('refuses a negative maxAgeMs', async () => {
    // Prepare
    const options = { maxAgeMs: -1 };

    // Act
    const load = loadPix4dAccount(SECRET_ARN, client, options);

    // Assess
    await expect(load).rejects.toThrow(RangeError);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});

describe('environment helpers', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('requireEnv returns the trimmed value', () => {
    // Prepare
    vi.stubEnv('PIX4D_SECRET_ARN', ` ${SECRET_ARN} `);

    // Act
    const value = requireEnv('PIX4D_SECRET_ARN');

    // Assess
    expect(value).toBe(SECRET_ARN);
  });

  it('requireEnv names a variable that is unset or empty', () => {
    // Prepare
    vi.stubEnv('PIX4D_SECRET_ARN', undefined);
    vi.stubEnv('WORK_BUCKET', '  ');

    // Act
    const unset = (): string => requireEnv('PIX4D_SECRET_ARN');
    const empty = (): string => requireEnv('WORK_BUCKET');

    // Assess
    expect(unset).toThrow(/Environment variable PIX4D_SECRET_ARN is required/);
    expect(empty).toThrow(/Environment variable WORK_BUCKET is required/);
  });

  it('optionalEnv falls back only when the variable is unset or empty', () => {
    // Prepare
    vi.stubEnv('STATUS_SUCCESS_NAME', 'Done');
    vi.stubEnv('STATUS_FAILURE_PATTERN', '');
    vi.stubEnv('STATUS_UNKNOWN', undefined);

    // Act
    const values = [
      optionalEnv('STATUS_SUCCESS_NAME', 'Processing completed'),
      optionalEnv('STATUS_FAILURE_PATTERN', 'fail|error'),
      optionalEnv('STATUS_UNKNOWN', 'fallback'),
    ];

    // Assess
    expect(values).toStrictEqual(['Done', 'fail|error', 'fallback']);
  });

  it('numberEnv parses the value, falls back when unset and accepts its bounds', () => {
    // Prepare
    vi.stubEnv('COPY_CONCURRENCY', ' 8 ');
    vi.stubEnv('QUIET_PERIOD_SECONDS', '0');
    vi.stubEnv('DEADLINE_HOURS', undefined);

    // Act
    const values = [
      numberEnv('COPY_CONCURRENCY', 4, { min: 1, max: 8 }),
      numberEnv('QUIET_PERIOD_SECONDS', 600, { min: 0 }),
      numberEnv('DEADLINE_HOURS', 48, { min: 1 }),
    ];

    // Assess
    expect(values).toStrictEqual([8, 0, 48]);
  });

  it('numberEnv names a variable that is not a number or out of range', () => {
    // Prepare
    vi.stubEnv('COPY_CONCURRENCY', 'eight');
    vi.stubEnv('QUIET_PERIOD_SECONDS', '-5');
    vi.stubEnv('DEADLINE_HOURS', 'Infinity');

    // Act
    const notANumber = (): number => numberEnv('COPY_CONCURRENCY', 4);
    const belowMin = (): number => numberEnv('QUIET_PERIOD_SECONDS', 600, { min: 0 });
    const infinite = (): number => numberEnv('DEADLINE_HOURS', 48);

    // Assess
    expect(notANumber).toThrow(/Environment variable COPY_CONCURRENCY must be a number, got "eight"/);
    expect(belowMin).toThrow(/Environment variable QUIET_PERIOD_SECONDS must be between 0 and ∞, got -5/);
    expect(infinite).toThrow(/Environment variable DEADLINE_HOURS must be a number/);
  });
});
