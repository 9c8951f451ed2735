import { createInterface } from 'node:readline';

/**
 * Where the CLI writes: results on stdout (lines for people, or one JSON object per line with `--json`), the rest
 * (warnings, errors, notes) on stderr. The progress bar is a result for people (stdout), and goes to stderr with
 * `--json` so that stdout stays JSON Lines. A question (retry's confirmation) is asked on stderr and answered on
 * stdin, so that a redirected stdout keeps only results.
 */

export interface Streams {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdoutIsTerminal: boolean;
  readonly stderrIsTerminal: boolean;
  /** Whether a person can answer a question: stdin is a terminal (false when not given). */
  readonly stdinIsTerminal?: boolean;
  /** Asks a question (the text ends with the prompt, `[y/N] `); the line typed, or undefined at end of input. */
  readonly prompt?: (question: string) => Promise<string | undefined>;
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
  /**
   * A yes/no question to the person at the terminal, or undefined when there is none to ask (stdin or stderr not
   * a terminal, or --json): scripts are not asked. Resolves true only for `y` or `yes`.
   */
  readonly confirm: ((question: string) => Promise<boolean>) | undefined;
}

export function createOutput(streams: Streams, json: boolean): Output {
  const prompt = streams.prompt;
  const canAsk = !json && prompt !== undefined && streams.stdinIsTerminal === true && streams.stderrIsTerminal;
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
    confirm: canAsk ? async (question) => isYes(await prompt(question)) : undefined,
  };
}

/** `y` or `yes`, any case; anything else (an empty line, end of input) is no, as `[y/N]` says. */
export function isYes(answer: string | undefined): boolean {
  return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
}

export function processStreams(): Streams {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stdoutIsTerminal: process.stdout.isTTY === true,
    stderrIsTerminal: process.stderr.isTTY === true,
    stdinIsTerminal: process.stdin.isTTY === true,
    prompt: askOnTerminal,
  };
}

/**
 * One line from stdin after the question on stderr. `terminal: false` leaves the terminal in its cooked mode: the
 * answer is echoed and edited by the terminal itself, and Ctrl-C stays a SIGINT (which main.ts answers).
 */
function askOnTerminal(question: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const reader = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    let answered = false;
    process.stderr.write(question);
    reader.once('line', (line) => {
      answered = true;
      reader.close();
      resolve(line);
    });
    // End of input (Ctrl-D): no answer, which is no.
    reader.once('close', () => {
      if (!answered) {
        process.stderr.write('\n');
        resolve(undefined);
      }
    });
  });
}
