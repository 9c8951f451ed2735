import { type ChildProcess, spawn } from 'node:child_process';

/**
 * The README's fenced blocks and the commands in them, as a reader would type them: one command per line, a line
 * ending in "\" continued on the next, a trailing "# comment" apart from the command, comment lines ("# in another
 * terminal:") no command. Plus a way to run one such command with bash as a terminal would, and to start one that
 * keeps running.
 */

export interface FencedBlock {
  /** The info string after the opening fence (`bash`, `text`...). */
  readonly language: string;
  /** README line (from 1) of the opening fence. */
  readonly line: number;
  /** The lines between the fences, without the fence's own indentation (a block inside a list item is indented). */
  readonly lines: readonly string[];
  /** The text of an HTML comment right before the fence (blank lines between allowed), e.g. `simulator-tutorial`. */
  readonly marker: string | undefined;
}

/** Every fenced code block of a Markdown text, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split('\n');
  const blocks: FencedBlock[] = [];
  let proseStart = 0;
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)(`{3,})([^`\s]*)\s*$/.exec(lines[index]!);
    if (!open) continue;
    const [, indent, fence, language] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let end = index + 1;
    for (; end < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[end]!); end++) {
      body.push(lines[end]!.startsWith(indent) ? lines[end]!.slice(indent.length) : lines[end]!.trimStart());
    }
    const prose = lines.slice(proseStart, index);
    blocks.push({ language, line: index + 1, lines: body, marker: markerBefore(prose) });
    index = end;
    proseStart = end + 1;
  }
  return blocks;
}

/** The HTML comment on the last non-blank line before a fence. */
function markerBefore(prose: readonly string[]): string | undefined {
  const last = [...prose].reverse().find((line) => line.trim() !== '');
  return last === undefined ? undefined : /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(last)?.[1];
}

export interface ReadmeCommand {
  /** README line (from 1) where the command starts. */
  readonly line: number;
  /** The command as written, continuation lines included (with their "\" and line breaks), without its comment. */
  readonly text: string;
  /** The trailing `# ...` comment of its last line, without "#". */
  readonly comment: string | undefined;
}

/**
 * The commands of a shell block. A comment line is not a command. An indented line after a command that does not
 * end in "\" continues a synopsis that wraps its options (`[--manifest FILE] ...`): it is kept with the command,
 * not taken for one of its own.
 */
export function commandsOf(block: FencedBlock): ReadmeCommand[] {
  const commands: { line: number; lines: string[] }[] = [];
  let continued = false;
  block.lines.forEach((text, offset) => {
    const line = block.line + 1 + offset;
    const previous = commands.at(-1);
    if (continued && previous) {
      previous.lines.push(text);
    } else if (text.trim() === '') {
      return;
    } else if (text.trimStart().startsWith('#')) {
      return;
    } else if (/^\s/.test(text) && previous) {
      previous.lines.push(text);
    } else {
      commands.push({ line, lines: [text] });
    }
    continued = /\\\s*$/.test(text);
  });
  return commands.map(({ line, lines }) => {
    const last = splitComment(lines.at(-1)!);
    const text = [...lines.slice(0, -1), last.code].join('\n').trimEnd();
    return { line, text, comment: last.comment };
  });
}

/** A line's code and its trailing comment: a `#` that starts a word outside quotes, as bash reads it. */
export function splitComment(line: string): { code: string; comment: string | undefined } {
  let quote: string | undefined;
  for (let at = 0; at < line.length; at++) {
    const char = line[at]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"') at += 1;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '\\') {
      at += 1;
    } else if (char === '#' && (at === 0 || /\s/.test(line[at - 1]!))) {
      return { code: line.slice(0, at).trimEnd(), comment: line.slice(at + 1).trim() };
    }
  }
  return { code: line, comment: undefined };
}

/** The parts of `a && b && c` (outside quotes), each trimmed; one part for a command without `&&`. */
export function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '&' && text[at + 1] === '&') {
      parts.push(text.slice(start, at).trim());
      start = at + 2;
      at += 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

export interface BashResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The environment after the command, for the next command typed into the same terminal (`export`...). */
  readonly env: NodeJS.ProcessEnv;
  readonly seconds: number;
}

/**
 * Runs one command with bash in `cwd`, as typed into a terminal whose environment is `env`; resolves with its
 * exit status, output and the environment it leaves (written by bash itself to a fourth descriptor, so that the
 * command's own output is untouched). Killed, with its process group, after `limitMs`: a guard against a hang,
 * not a measure.
 */
export function runBash(command: string, cwd: string, env: NodeJS.ProcessEnv, limitMs: number): Promise<BashResult> {
  const started = Date.now();
  const script = `${command}\n__readme_status=$?\nenv -0 >&3\nexit $__readme_status\n`;
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
  const out = collect(child);
  let envText = '';
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (text: string) => (envText += text));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(
        new Error(
          `still running after ${limitMs / 1000} s: ${command}\nstdout: ${tail(out.stdout())}\nstderr: ${tail(out.stderr())}`,
        ),
      );
    }, limitMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: out.stdout(),
        stderr: out.stderr(),
        env: parseEnv(envText, env),
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}

function parseEnv(text: string, fallback: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Without it (the command ended the shell itself, e.g. `exec` or `exit`), the terminal keeps what it had.
  if (text === '') return fallback;
  const env: NodeJS.ProcessEnv = {};
  for (const entry of text.split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  // Bash's own bookkeeping is not the terminal's environment.
  for (const name of ['_', 'SHLVL', 'PWD', 'OLDPWD', '__readme_status']) delete env[name];
  return env;
}

export interface RunningCommand {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once it has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a command that keeps running (a server), with bash in its own process group. */
export function startBash(command: string, cwd: string, env: NodeJS.ProcessEnv): RunningCommand {
  const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = collect(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, ...out, exited };
}

/** Its exit, or undefined when it is still running after `limitMs` (a hang guard). */
export async function exitWithin(
  running: RunningCommand,
  limitMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), limitMs);
  });
  try {
    return await Promise.race([running.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when stdout matches `ready`; rejects when the process exits first, or after `limitMs` (a hang guard). */
export function waitForOutput(running: RunningCommand, ready: RegExp, limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (ready.test(running.stdout())) finish();
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `no ${ready} on stdout within ${limitMs / 1000} s\nstdout: ${tail(running.stdout())}\nstderr: ${tail(running.stderr())}`,
          ),
        ),
      limitMs,
    );
    const exitedFirst = () =>
      finish(
        new Error(
          `exited before printing ${ready}\nstdout: ${tail(running.stdout())}\nstderr: ${tail(running.stderr())}`,
        ),
      );
    const finish = (error?: Error) => {
      clearTimeout(timer);
      running.child.stdout!.off('data', check);
      running.child.off('close', exitedFirst);
      if (error) reject(error);
      else resolve();
    };
    running.child.stdout!.on('data', check);
    running.child.once('close', exitedFirst);
    check();
  });
}

/** Signals a process group started here (never anything else); a group already gone is fine. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Already exited.
  }
}

function collect(child: ChildProcess): { stdout(): string; stderr(): string } {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return { stdout: () => stdout, stderr: () => stderr };
}

/**
 * The last lines of an output, for a failure message, without the lines that carry an account (the simulator's
 * generated password and API key, which it prints for the tutorial).
 */
export function tail(text: string, lines = 25): string {
  return text
    .split('\n')
    .filter((line) => !/password|api.?key|secret/i.test(line))
    .slice(-lines)
    .join('\n');
}
