/**
 * Where the CLI writes: results on stdout (lines for people, or one JSON object per line with `--json`), the rest
 * (warnings, errors, notes) on stderr. The progress bar is a result for people (stdout), and goes to stderr with
 * `--json` so that stdout stays JSON Lines.
 */

export interface Streams {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdoutIsTerminal: boolean;
  readonly stderrIsTerminal: boolean;
}

export interface Output {
  readonly json: boolean;
  /** A line of the human-readable result (stdout). */
  line(text: string): void;
  /** A JSON result line (stdout). */
  result(value: object): void;
  /** What is being done: stdout for people, stderr with --json. */
  info(text: string): void;
  /** A remark (stderr). */
  note(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  /** Raw text of the progress bar. */
  readonly progress: (text: string) => void;
  readonly progressIsTerminal: boolean;
}

export function createOutput(streams: Streams, json: boolean): Output {
  return {
    json,
    line: (text) => streams.stdout(`${text}\n`),
    result: (value) => streams.stdout(`${JSON.stringify(value)}\n`),
    info: (text) => (json ? streams.stderr : streams.stdout)(`${text}\n`),
    note: (text) => streams.stderr(`${text}\n`),
    warn: (text) => streams.stderr(`warning: ${text}\n`),
    error: (text) => streams.stderr(`error: ${text}\n`),
    progress: json ? streams.stderr : streams.stdout,
    progressIsTerminal: json ? streams.stderrIsTerminal : streams.stdoutIsTerminal,
  };
}

export function processStreams(): Streams {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stdoutIsTerminal: process.stdout.isTTY === true,
    stderrIsTerminal: process.stderr.isTTY === true,
  };
}
