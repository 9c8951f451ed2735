import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { Pix4dAccount } from '../../src/pix4d/client';

/** How long a warm Lambda reuses an account read from Secrets Manager: a changed password is seen within this. */
export const DEFAULT_ACCOUNT_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * Values of a secret created by the stack start with this until the operator replaces them
 * (see `lib/pix4d-credentials.ts`).
 */
export const SECRET_PLACEHOLDER_PREFIX = 'REPLACE_WITH_';

const EXPECTED_SHAPE = 'Expected JSON {"username", "password", "apiKey", "organizationUuid" (optional)}.';
const EMPTY = 'empty';
const PLACEHOLDER = 'placeholder';

/**
 * The secret cannot be turned into a Pix4D account: no value, binary, not JSON, or a field missing, mistyped or
 * left empty. Messages name the secret and the fields, never a value. Errors of Secrets Manager itself (access
 * denied, not found, throttling) are not wrapped: their own names tell a retry from a configuration problem.
 */
export class Pix4dSecretError extends Error {
  // Set explicitly: Step Functions matches on the name, and bundlers rename classes.
  override name = 'Pix4dSecretError';
  readonly secretArn: string;

  constructor(secretArn: string, problem: string) {
    super(`Pix4D secret ${secretArn} is not usable: ${problem}. ${EXPECTED_SHAPE}`);
    this.secretArn = secretArn;
  }
}

export interface LoadPix4dAccountOptions {
  /** How long an account read earlier is reused. 0 reads the secret every time. @default DEFAULT_ACCOUNT_MAX_AGE_MS */
  readonly maxAgeMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Where accounts read earlier are kept: one per Lambda container. Local mode runs every function in one process
   * and gives each its own, so that each reads the secret as it would on AWS. @default the module's
   */
  readonly cache?: Pix4dAccountCache;
}

const requiredText = z
  .string()
  .refine((value) => value.trim() !== '', EMPTY)
  .refine((value) => !value.startsWith(SECRET_PLACEHOLDER_PREFIX), PLACEHOLDER);

// Loose: the operator may keep notes or other fields in the same secret.
const accountSchema = z.looseObject({
  username: requiredText,
  password: requiredText,
  apiKey: requiredText,
  // Blank or null means a personal account, like leaving the field out.
  organizationUuid: z
    .string()
    .nullish()
    .transform((value) => (value?.trim() ? value : undefined)),
});

interface CacheEntry {
  readonly loadedAt: number;
  readonly account: Promise<Pix4dAccount>;
}

/** Accounts read so far, by secret ARN (one function may read several secrets). */
export type Pix4dAccountCache = Map<string, CacheEntry>;

// Module scope, so it lives as long as the Lambda container.
const moduleCache: Pix4dAccountCache = new Map();

/**
 * The Pix4D account stored as JSON in the secret `secretArn`, read with `client` and reused for `maxAgeMs`.
 * Concurrent calls for the same secret share one read; a failed read is not cached.
 *
 * @throws Pix4dSecretError when the secret's value is not an account
 */
export async function loadPix4dAccount(
  secretArn: string,
  client: SecretsManagerClient,
  options: LoadPix4dAccountOptions = {},
): Promise<Pix4dAccount> {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_ACCOUNT_MAX_AGE_MS;
  if (!(maxAgeMs >= 0)) throw new RangeError(`maxAgeMs must be 0 or more, got ${maxAgeMs}`);
  const now = (options.now ?? Date.now)();
  const cache = options.cache ?? moduleCache;

  const cached = cache.get(secretArn);
  if (cached && now - cached.loadedAt < maxAgeMs) return cached.account;

  const entry: CacheEntry = { loadedAt: now, account: readAccount(secretArn, client) };
  cache.set(secretArn, entry);
  entry.account.catch(() => {
    if (cache.get(secretArn) === entry) cache.delete(secretArn);
  });
  return entry.account;
}

/** Forgets every account read so far, so that the next call reads Secrets Manager again. For tests. */
export function clearPix4dAccountCache(): void {
  moduleCache.clear();
}

async function readAccount(secretArn: string, client: SecretsManagerClient): Promise<Pix4dAccount> {
  const response = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (response.SecretString === undefined) {
    throw new Pix4dSecretError(
      secretArn,
      response.SecretBinary === undefined ? 'it has no value' : 'it holds binary data instead of a JSON string',
    );
  }
  return parseAccount(secretArn, response.SecretString);
}

function parseAccount(secretArn: string, secretString: string): Pix4dAccount {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // The SyntaxError is dropped on purpose: its message quotes the text, which may be a password.
    throw new Pix4dSecretError(secretArn, 'its value is not JSON');
  }

  const result = accountSchema.safeParse(json);
  if (!result.success) throw new Pix4dSecretError(secretArn, describeIssues(json, result.error.issues));

  const { username, password, apiKey, organizationUuid } = result.data;
  return Object.freeze(
    organizationUuid === undefined ? { username, password, apiKey } : { username, password, apiKey, organizationUuid },
  );
}

/** One phrase per field, built from the field's type and our own refinement labels, never from its value. */
function describeIssues(json: unknown, issues: readonly z.core.$ZodIssue[]): string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return `its JSON value is ${typeName(json)}, not an object`;
  }
  const record = json as Record<string, unknown>;
  const problems = new Set<string>();
  for (const issue of issues) {
    const field = String(issue.path[0]);
    const value = record[field];
    if (value === undefined) problems.add(`${field} is missing`);
    else if (typeof value !== 'string') problems.add(`${field} must be a string, not ${typeName(value)}`);
    else if (issue.message === PLACEHOLDER) problems.add(`${field} still holds the placeholder put there at creation`);
    else problems.add(`${field} is empty`);
  }
  return [...problems].join('; ');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}
