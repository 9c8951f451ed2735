import { UsageError } from '../local/cli-options';
import { type Manifest, ManifestError, parseManifest } from '../src/batch/manifest';
import { decodeManifestBytes } from '../src/batch/manifest-encoding';
import { processingParametersSchema } from '../src/pix4d/schemas';

/**
 * The manifest.json the CLI writes: built from the flags or taken from a file, always validated with the
 * pipeline's own parser (the workflow's schema, limits and encoding check) before anything is uploaded, and
 * re-written as a new generation (same JSON, other bytes, so a new ETag) when a batch must run again.
 */

/** The processing parameters `--set processing_parameters.KEY=VALUE` accepts. */
export const SETTABLE_PARAMETERS: readonly string[] = Object.keys(processingParametersSchema.shape);

export type ParameterValue = boolean | number | string;

export interface SetFlag {
  readonly key: string;
  readonly value: ParameterValue;
  /** The flag as given, for messages. */
  readonly flag: string;
}

/** `true`/`false` are booleans, numbers are numbers, anything else stays text (and the schema names the problem). */
export function parseParameterValue(text: string): ParameterValue {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) return Number(text);
  return text;
}

/** One `--set processing_parameters.KEY=VALUE`; a UsageError names the flag and the problem. */
export function parseSetFlag(flag: string): SetFlag {
  const match = /^processing_parameters\.([^=]*)=(.*)$/s.exec(flag);
  if (!match)
    throw new UsageError(
      `--set ${flag}: expected processing_parameters.KEY=VALUE, e.g. processing_parameters.detect_antennas=false`,
    );
  const key = match[1] as string;
  if (!SETTABLE_PARAMETERS.includes(key)) {
    throw new UsageError(
      `--set ${flag}: unknown processing parameter "${key}" (one of ${SETTABLE_PARAMETERS.join(', ')})`,
    );
  }
  const value = parseParameterValue(match[2] as string);
  try {
    parseManifest(JSON.stringify({ processing_parameters: { [key]: value } }));
  } catch (error) {
    if (error instanceof ManifestError) throw new UsageError(`--set ${flag}: ${error.problems.join('; ')}`);
    throw error;
  }
  return { key, value, flag };
}

export interface ManifestFlags {
  readonly asset: string;
  readonly flight: string;
  readonly assetId?: number | undefined;
  readonly sets?: readonly SetFlag[];
}

/**
 * The manifest of the flags: `asset` by id (`--asset-id`) or by the asset's name, the inspection named after the
 * flight, the `--set` parameters. Deterministic text, so that the same flags give the same bytes (and ETag).
 */
export function buildManifest(flags: ManifestFlags): string {
  const parameters: Record<string, ParameterValue> = {};
  for (const set of flags.sets ?? []) {
    if (set.key in parameters) throw new UsageError(`--set ${set.flag}: processing_parameters.${set.key} is set twice`);
    parameters[set.key] = set.value;
  }
  const manifest = {
    asset: flags.assetId !== undefined ? { id: flags.assetId } : { name: flags.asset },
    inspection: { name: flags.flight },
    ...(Object.keys(parameters).length > 0 ? { processing_parameters: parameters } : {}),
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  validateManifest(text, 'the manifest built from the flags');
  return text;
}

/** The parsed manifest, or a UsageError that says where it came from and every problem (ManifestError's message). */
export function validateManifest(text: string, source: string): Manifest {
  return asUsageError(source, () => parseManifest(text));
}

/**
 * `validateManifest` for a file's bytes, decoded as the workflow decodes them (UTF-8 only, a byte order mark
 * dropped); the text is what to upload.
 */
export function validateManifestBytes(bytes: Uint8Array, source: string): { text: string; manifest: Manifest } {
  return asUsageError(source, () => {
    const text = decodeManifestBytes(bytes);
    return { text, manifest: parseManifest(text) };
  });
}

function asUsageError<T>(source: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ManifestError) throw new UsageError(`${source}: ${error.message}`);
    throw error;
  }
}

/**
 * The next generation of a manifest: the same JSON (unknown fields are errors, so nothing may be added), other
 * bytes: the trailing newlines grow by one at each generation, so the text differs from the current one and S3
 * gives it a new ETag, which starts a new run. JSON.parse ignores the whitespace.
 */
export function nextGeneration(current: string): string {
  const trailing = /\s*$/.exec(current)?.[0] ?? '';
  const newlines = (trailing.match(/\n/g) ?? []).length;
  return `${current.slice(0, current.length - trailing.length)}${'\n'.repeat(newlines + 1)}`;
}

/** Which generation a text is: the number of trailing newlines (0 for a file without one). */
export function generationOf(text: string): number {
  const trailing = /\s*$/.exec(text)?.[0] ?? '';
  return (trailing.match(/\n/g) ?? []).length;
}
