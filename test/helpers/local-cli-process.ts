import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NotificationV1 } from '../../src/notify/notification';

/**
 * The local pipeline's command line (`node --import tsx local/cli.ts`), run as `npm run -s local -- ...` runs it, or
 * through npm itself: spawn it, collect stdout and stderr completely, wait for lines, for the exit, for its process
 * group to be empty.
 */

export const PROJECT_ROOT = join(__dirname, '..', '..');
const TSX = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = 'local/cli.ts';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and both streams are fully read. */
  readonly exited: Promise<Exit>;
}

export interface FinishedCli {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliLine {
  readonly event?: string;
  readonly [field: string]: unknown;
}

const started = new Set<ChildProcess>();

/** Starts the CLI from the project root with these arguments, as the npm scripts run it (one node process). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  return startProcess(process.execPath, ['--import', 'tsx', CLI, ...args], env);
}

/** `npm run -s local -- ...args`: npm is the process started, the CLI its child. */
export function startNpmLocal(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  return startProcess('npm', ['run', '-s', 'local', '--', ...args], env);
}

/** Starts a TypeScript entry point of the project (`tsx <script> ...args`) in its own process group. */
export function startScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  return startProcess(TSX, [script, ...args], env);
}

function startProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group (of the pid of the process started): tsx and npm run the CLI in a child process, and
    // a kill must reach both.
    detached: true,
  });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (err += text));
  // 'close' comes after 'exit' once stdio is drained: nothing printed is lost.
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      started.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to its end (killed, and the promise rejected, after `limitMs`). */
export async function runCli(
  args: readonly string[],
  limitMs = 90_000,
  env: NodeJS.ProcessEnv = {},
): Promise<FinishedCli> {
  const running = startCli(args, env);
  const { code, signal } = await exitWithin(running, limitMs);
  return { code, signal, stdout: running.stdout(), stderr: running.stderr() };
}

/** The exit of the process, or a rejection naming its output when it does not exit within `limitMs` (then killed). */
export async function exitWithin(running: RunningCli, limitMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      killGroup(running.child);
      reject(
        new Error(
          `the CLI did not exit within ${limitMs} ms; stdout: ${running.stdout()}\nstderr: ${tail(running.stderr())}`,
        ),
      );
    }, limitMs);
  });
  try {
    return await Promise.race([running.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with what `find` finds in the stdout so far, checked again on every chunk; rejects, naming `what` with
 * the output, when the process exits first or after `limitMs`.
 */
function watchStdout<T>(
  running: RunningCli,
  find: (stdout: string) => T | undefined,
  what: string,
  limitMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = find(running.stdout());
      if (found === undefined) return;
      cleanup();
      resolve(found);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`no ${what} within ${limitMs} ms; stdout: ${running.stdout()}\nstderr: ${tail(running.stderr())}`),
      );
    }, limitMs);
    const onExit = () => {
      cleanup();
      reject(
        new Error(
          `the CLI exited before printing ${what}; stdout: ${running.stdout()}\nstderr: ${tail(running.stderr())}`,
        ),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      running.child.stdout!.off('data', check);
      running.child.off('exit', onExit);
    };
    running.child.stdout!.on('data', check);
    running.child.once('exit', onExit);
    check();
  });
}

/**
 * Resolves with the first complete stdout line for which `matches` is true (lines that are not JSON never match);
 * rejects when the process exits first or after `limitMs`.
 */
export function waitForLine(
  running: RunningCli,
  matches: (line: CliLine) => boolean,
  limitMs = 60_000,
): Promise<CliLine> {
  const find = (stdout: string) =>
    stdout
      .split('\n')
      .slice(0, -1)
      .map(tryParse)
      .find((line): line is CliLine => line !== undefined && matches(line));
  return watchStdout(running, find, 'matching stdout line', limitMs);
}

/**
 * Resolves with the whole stdout once it matches `pattern` (for the human output, which is not JSON); rejects when
 * the process exits first or after `limitMs`.
 */
export function waitForText(running: RunningCli, pattern: RegExp, limitMs = 60_000): Promise<string> {
  return watchStdout(
    running,
    (stdout) => (pattern.test(stdout) ? stdout : undefined),
    `stdout matching ${pattern}`,
    limitMs,
  );
}

/** Every stdout line parsed as JSON; throws naming the first line that is not a JSON object. */
export function jsonLines(stdout: string): CliLine[] {
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((text, index) => {
    const line = tryParse(text);
    if (!line) throw new Error(`stdout line ${index + 1} is not a JSON object: ${JSON.stringify(text.slice(0, 200))}`);
    return line;
  });
}

/** The notifications among the JSON lines, in order. */
export function notificationsOf(lines: readonly CliLine[]): NotificationV1[] {
  return lines.filter((line) => line.event === 'notification').map((line) => line.message as NotificationV1);
}

/** Kills every CLI process still running, with the processes it started (for afterEach/afterAll). */
export function killStartedClis(): void {
  for (const child of started) killGroup(child);
  started.clear();
}

/**
 * Stops every CLI still running, with the processes it started (for afterAll): SIGTERM to each process group first,
 * so that each CLI stops as it would for a person and removes its temporary folder; SIGKILL only to what is still
 * there after `graceMs`.
 */
export async function stopStartedClis(graceMs = 15_000): Promise<void> {
  const children = [...started];
  started.clear();
  await Promise.all(
    children.map(async (child) => {
      if (child.pid === undefined) return;
      signalGroup(child.pid, 'SIGTERM');
      if ((await processesLeftInGroup(child.pid, graceMs)).length > 0) signalGroup(child.pid, 'SIGKILL');
    }),
  );
}

/**
 * SIGKILL to the process group of a CLI started here (tsx or npm, and the node process running the CLI), even when
 * the process started has exited: its children may not have.
 */
export function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** The processes of a process group (zombies aside), from /proc. */
function processesInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After the command name in parentheses: state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && Number(pgrp) === pgid) pids.push(Number(name));
  }
  return pids;
}

/** The processes left in the group once it is empty or `limitMs` has passed (children may outlive their parent briefly). */
export async function processesLeftInGroup(pgid: number, limitMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + limitMs;
  let left = processesInGroup(pgid);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processesInGroup(pgid);
  }
  return left;
}

function tryParse(text: string): CliLine | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as CliLine) : undefined;
  } catch {
    return undefined;
  }
}

function tail(text: string, chars = 4_000): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}
