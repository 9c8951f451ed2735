/** Thrown for a bad command line; the CLIs print the message and exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A number option within bounds, or a UsageError that names the option. */
export function parseNumberOption(
  name: string,
  value: string | undefined,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : `between ${min} and ${max}`;
    throw new UsageError(`--${name} must be a number ${range} (got "${value}")`);
  }
  return number;
}

/** One of a fixed set of values, or a UsageError that names the option and the choices. */
export function parseChoiceOption<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')} (got "${value}")`);
  }
  return value as T;
}

/** A batch folder level (asset or flight): one non-empty folder name, or a UsageError that names the option. */
export function parseFolderOption(name: string, value: string): string {
  if (value.trim() === '' || value.includes('/') || value === '.' || value === '..') {
    throw new UsageError(`--${name} must be one folder name without "/" (got "${value}")`);
  }
  return value;
}
