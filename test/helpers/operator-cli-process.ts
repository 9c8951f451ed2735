import { type Exit, exitWithin, type FinishedCli, killGroup, type RunningCli, startScript } from './local-cli-process';

/** The operator CLI (`tsx cli/main.ts`), run as `npm run -s cli -- ...` runs it, stdout and stderr collected. */

const CLI = 'cli/main.ts';

export function startOperatorCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  return startScript(CLI, args, env);
}

/** Runs the operator CLI to its end (killed, and the promise rejected, after `limitMs`). */
export async function runOperatorCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  limitMs = 90_000,
): Promise<FinishedCli> {
  const running = startOperatorCli(args, env);
  const { code, signal } = await exitWithin(running, limitMs);
  return { code, signal, stdout: running.stdout(), stderr: running.stderr() };
}

/** SIGKILL to the whole process group: an interruption with no chance to clean up. */
export function killOperatorCli(running: RunningCli): void {
  killGroup(running.child);
}

/**
 * Stops a process started by the test helpers as an operator stops it: SIGTERM to its process group, so that it
 * cleans up (serve mode removes its temporary folder), then SIGKILL only if it has not exited within `limitMs`.
 */
export async function stopGracefully(running: RunningCli, limitMs = 30_000): Promise<Exit> {
  const { child } = running;
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  try {
    return await exitWithin(running, limitMs);
  } catch {
    // exitWithin sent SIGKILL to the group when the time was up.
    return running.exited;
  }
}
