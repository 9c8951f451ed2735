import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { CopyBenchServers } from './bench-types';

/** What the benchmark's parts share: where things are, the environment of its processes, how they start. */

export const ROOT = join(__dirname, '..');
export const MiB = 1024 * 1024;
export const log = (message: string) => process.stderr.write(`${message}\n`);
export const sdkEnv: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};

/** The benchmark's servers: two processes (bench-servers.ts), the drop bucket's and Inspect's side. */
export interface RunningServers {
  readonly servers: CopyBenchServers;
  /** Stops both processes and waits for them: they remove their S3 folders on the way out. */
  stop(): Promise<void>;
}

export async function startServers(): Promise<RunningServers> {
  const started = await Promise.allSettled([startServerProcess('drop'), startServerProcess('inspect')]);
  const children = started.flatMap((side) => (side.status === 'fulfilled' ? [side.value.child] : []));
  const stop = async () => {
    await Promise.all(children.map(stopProcess));
  };
  const [drop, inspect] = started;
  if (drop?.status !== 'fulfilled' || inspect?.status !== 'fulfilled') {
    await stop();
    throw started.find((side): side is PromiseRejectedResult => side.status === 'rejected')?.reason;
  }
  return { servers: { ...drop.value.answer, ...inspect.value.answer } as CopyBenchServers, stop };
}

/**
 * The servers stand in for S3, whose work is not the client's: they should cost the 2-core machine as little as
 * they can. Their heap is given room from the start (`--initial-old-space-size`): with V8's default limits, the
 * 64 KiB buffers they read files and sockets into set off a full garbage collection every few tens of MiB, which
 * more than doubled the drop side's CPU per copy (4.2 s against 1.5 to 1.8 s for 800 MiB, measured).
 */
const SERVER_NODE_OPTIONS = ['--import', 'tsx', '--initial-old-space-size=128'];

function startServerProcess(role: 'drop' | 'inspect'): Promise<{ child: ChildProcess; answer: object }> {
  const child = spawn(process.execPath, [...SERVER_NODE_OPTIONS, join(__dirname, 'bench-servers.ts'), role], {
    cwd: ROOT,
    env: sdkEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) resolve({ child, answer: JSON.parse(line) as object });
    });
    child.once('exit', (code) => reject(new Error(`bench servers (${role}) exited with ${code}`)));
  });
}

/** Stops a process started here and waits for it to exit. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * `bench/<name>.ts` bundled as CDK bundles the functions (bundle, minify, CommonJS, platform node, nothing
 * external; the target is this Node's major version) into `folder`: the copy worker then starts, loads and
 * collects garbage as the copy Lambda's bundle does, not as tsx's loader, whose start-up and memory would be
 * counted in its CPU and peak RSS.
 */
export async function bundleScript(name: string, folder: string): Promise<string> {
  const outfile = join(folder, `${name}.js`);
  await build({
    entryPoints: [join(__dirname, `${name}.ts`)],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'error',
  });
  return outfile;
}
