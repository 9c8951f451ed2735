import { type ParseArgsConfig, parseArgs } from 'node:util';
import { version } from '../package.json';
import { suggest } from '../src/suggest';
import { UsageError } from './cli-options';

/**
 * The conventions every command of the project follows, as aws-cli, cdk and sam do: `-h`/`--help`, `--version`,
 * `--debug` for stack traces, "did you mean" on a mistyped option or command, old option names kept as aliases,
 * and one line on stderr with exit status 2 for a bad command line.
 */

export const PROJECT_VERSION: string = version;

type Options = NonNullable<ParseArgsConfig['options']>;

const CONVENTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
} as const satisfies Options;

export interface CommandLine<T extends Options> {
  /** How the command is run, as the user types it: named in every message (`npm run -s local --`). */
  readonly command: string;
  readonly options: T;
  readonly allowPositionals?: boolean;
  /** Old option names (without `--`) still accepted, each mapped to its current name. */
  readonly aliases?: Readonly<Record<string, string>>;
}

type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T & typeof CONVENTIONS; strict: true; allowPositionals: true }>
>;

/**
 * parseArgs with the conventions: the options of `line` and `--help`/`-h`, `--version` and `--debug`. A mistake
 * is a UsageError whose message names the option and the fix.
 */
export function parseCommandLine<const T extends Options>(line: CommandLine<T>, argv: readonly string[]): Parsed<T> {
  const options = { ...line.options, ...CONVENTIONS };
  const args = argv.map((arg) => renameAlias(arg, line.aliases ?? {}));
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: true, tokens: false }) as Parsed<T>;
    const asked = parsed.values as { help?: boolean; version?: boolean };
    if (!line.allowPositionals && parsed.positionals.length > 0 && !asked.help && !asked.version) {
      throw new UsageError(`unexpected argument "${parsed.positionals[0]}"${helpHint(line.command)}`);
    }
    return parsed;
  } catch (error) {
    throw usageErrorFrom(error, line, options);
  }
}

/** `--fault-rate=0.2` -> `--error-rate=0.2` when `fault-rate` is an alias of `error-rate`. */
function renameAlias(arg: string, aliases: Readonly<Record<string, string>>): string {
  const match = /^--([^=]+)(=.*)?$/s.exec(arg);
  const target = match ? aliases[match[1] as string] : undefined;
  return target === undefined ? arg : `--${target}${match?.[2] ?? ''}`;
}

/** Node's parseArgs errors rewritten in the project's words, with a suggestion for a mistyped option. */
function usageErrorFrom(error: unknown, line: CommandLine<Options>, options: Options): Error {
  if (error instanceof UsageError) return error;
  const code = String((error as { code?: unknown })?.code ?? '');
  if (!code.startsWith('ERR_PARSE_ARGS')) return error as Error;
  const message = (error as Error).message;
  const quoted = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const names = [...Object.keys(options), ...Object.keys(line.aliases ?? {})];
    const closestName = suggest(quoted.replace(/^-+/, '').replace(/=.*$/s, ''), names);
    const suggestion = closestName === undefined ? undefined : (line.aliases?.[closestName] ?? closestName);
    const hint = suggestion === undefined ? '' : `; did you mean --${suggestion}?`;
    return new UsageError(`unknown option ${quoted}${hint}${helpHint(line.command)}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([a-z0-9-]+)/i.exec(message)?.[1];
    const option = name === undefined ? undefined : options[name];
    if (option?.type === 'boolean') return new UsageError(`--${name} takes no value${helpHint(line.command)}`);
    // parseArgs takes a following "-x" for the next option, so a value such as a password starting with "-"
    // has to be attached with "=".
    const dashed = message.includes('ambiguous') ? `; a value starting with "-" is written --${name}=-…` : '';
    return new UsageError(`--${name ?? quoted} needs a value${dashed}${helpHint(line.command)}`);
  }
  return new UsageError(`${message}${helpHint(line.command)}`);
}

/** An unknown command, with the closest known one. */
export function unknownCommandError(command: string, commands: readonly string[], program: string): UsageError {
  const suggestion = suggest(command, commands);
  const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
  return new UsageError(
    `unknown command "${command}"${hint} (one of ${commands.join(', ')}; ${program} --help lists them)`,
  );
}

function helpHint(command: string): string {
  return ` (${command} --help lists the options)`;
}

/** `inspect-pipeline 0.1.0 (Node.js v20.19.0)`, as `--version` prints it. */
export function versionLine(program: string): string {
  return `${program} ${PROJECT_VERSION} (Node.js ${process.version})`;
}

/**
 * Runs `main` and exits with its status. A UsageError prints one line and exits 2; any other error prints one
 * line naming it (the stack trace only with `--debug`) and exits 1.
 */
export function runMain(
  program: string,
  main: (argv: string[]) => Promise<number>,
  argv: string[] = process.argv.slice(2),
): void {
  const debug = argv.includes('--debug');
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const { text, code } = describeFailure(program, error, debug);
      process.stderr.write(`${text}\n`);
      process.exit(code);
    },
  );
}

/** What `runMain` prints for an error, and the exit status. */
export function describeFailure(program: string, error: unknown, debug: boolean): { text: string; code: number } {
  if (error instanceof UsageError) return { text: `${program}: ${error.message}`, code: 2 };
  if (debug && error instanceof Error && error.stack) return { text: `${program}: ${error.stack}`, code: 1 };
  const named =
    error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return { text: `${program}: ${named.split('\n')[0]} (run with --debug for the stack trace)`, code: 1 };
}
