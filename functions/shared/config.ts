/**
 * Typed reads of a Lambda's environment. Call them once, at module scope, so that a misconfigured function fails
 * at its cold start with a message naming the variable, rather than in the middle of a batch. Values are trimmed;
 * a value of only whitespace counts as empty. Each takes the environment to read, `process.env` unless told: local
 * mode passes each function the environment its template gives it.
 */

/** An environment to read variables from. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Bounds accepted by `numberEnv`, inclusive. */
export interface NumberRange {
  /** @default no lower bound */
  readonly min?: number;
  /** @default no upper bound */
  readonly max?: number;
}

/** The value of `name`; throws when it is unset or empty. */
export function requireEnv(name: string, env: Environment = process.env): string {
  const value = readEnv(name, env);
  if (value === undefined) throw new Error(`Environment variable ${name} is required but is not set or empty`);
  return value;
}

/** The value of `name`, or `fallback` when it is unset or empty. */
export function optionalEnv(name: string, fallback: string, env: Environment = process.env): string {
  return readEnv(name, env) ?? fallback;
}

/**
 * The value of `name` as a number, or `fallback` when it is unset or empty; throws when it is set to something
 * that is not a finite number or that lies outside `range`.
 */
export function numberEnv(
  name: string,
  fallback: number,
  range: NumberRange = {},
  env: Environment = process.env,
): number {
  const raw = readEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`Environment variable ${name} must be a number, got "${raw}"`);
  const { min, max } = range;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw new Error(`Environment variable ${name} must be between ${min ?? '-∞'} and ${max ?? '∞'}, got ${value}`);
  }
  return value;
}

function readEnv(name: string, env: Environment): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
