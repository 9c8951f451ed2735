import { spawn } from 'node:child_process';

/**
 * A command run and measured from outside: its wall time and the user + system CPU seconds of its process and of
 * every child that process waited for (an aws CLI started through a shim, a Python interpreter and its threads).
 *
 * A small Node process starts the command and waits for it; Linux then adds the command's CPU, and that of its
 * own waited-for children, to the starter's `cutime` and `cstime` (/proc/self/stat), which nothing else feeds.
 * The starter's own start-up is not counted: the wall time runs from the spawn to the exit. Without /proc (not
 * Linux), `cpuSeconds` is null.
 */

export interface MeasuredRun {
  readonly seconds: number;
  /** User + system CPU seconds of the command and its waited-for children; null where /proc is missing. */
  readonly cpuSeconds: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The starter, plain JavaScript so that it needs no loader. /proc/self/stat times are in USER_HZ ticks, 100 a
 * second on every Linux architecture Node runs on (the kernel's user ABI fixes it, whatever its own HZ).
 */
const STARTER = `
const { spawn } = require('node:child_process');
const { readFileSync, writeSync } = require('node:fs');
const [command, args] = JSON.parse(process.argv[1]);
const childTicks = () => {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[13]) + Number(fields[14]);
  } catch {
    return null;
  }
};
const before = childTicks();
const started = process.hrtime.bigint();
const child = spawn(command, args, { stdio: 'inherit' });
child.on('error', (error) => {
  process.stderr.write(command + ': ' + error.message + '\\n');
  process.exit(127);
});
child.on('exit', (code, signal) => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = childTicks();
  const cpuSeconds = before === null || after === null ? null : (after - before) / 100;
  writeSync(3, JSON.stringify({ seconds, cpuSeconds, code, signal }));
  process.exit(0);
});
`;

/**
 * Runs `command args` with `env`; rejects when it exits with a non-zero status, naming it by `label` (never by
 * its arguments, which may carry credentials) with the end of its stderr.
 */
export function runMeasured(
  label: string,
  command: string,
  args: readonly string[],
  options: { readonly env: NodeJS.ProcessEnv; readonly cwd?: string },
): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const starter = spawn(process.execPath, ['-e', STARTER, JSON.stringify([command, args])], {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '', result: '' };
    starter.stdout!.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
    });
    starter.stderr!.on('data', (chunk: Buffer) => {
      output.stderr += chunk.toString();
    });
    (starter.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      output.result += chunk.toString();
    });
    starter.once('error', reject);
    starter.once('close', () => {
      const result = output.result
        ? (JSON.parse(output.result) as { seconds: number; cpuSeconds: number | null; code: number | null })
        : undefined;
      if (result?.code !== 0) {
        const status = result ? `exited with ${result.code}` : 'was not started';
        reject(new Error(`${label} ${status}: ${output.stderr.trim().slice(-2000)}`));
        return;
      }
      resolve({ seconds: result.seconds, cpuSeconds: result.cpuSeconds, stdout: output.stdout, stderr: output.stderr });
    });
  });
}
