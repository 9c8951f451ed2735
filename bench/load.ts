import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedS3Credentials } from '../local/s3/embedded-s3';
import { createS3Client } from '../src/s3-client';
import { deletePrefix, putPhotos } from './bench-data';
import { log, MiB, ROOT, sdkEnv, startServers } from './bench-setup';
import type { CopyBenchServers, CopyRun } from './bench-types';

/**
 * `--load`: a second benchmark-sized load beside the measured runs, the same copy benchmark run by someone else
 * on the machine: servers of its own (embedded S3 and simulator, so that it competes for the CPU, not for the
 * measured servers' event loops) with the same data set, 200 photos of 4 MiB, and the bundled copy worker copying
 * it again and again, each copy deleted once done so that the disk does not fill. It runs until stopped.
 */

export interface LoadSummary {
  /** Copies of the data set the load finished while it ran. */
  readonly copies: number;
  readonly seconds: number;
}

export interface RunningLoad {
  stop(): Promise<LoadSummary>;
}

export async function startLoad(workerBundle: string): Promise<RunningLoad> {
  log('Load: starting a second set of servers and uploading its data set...');
  const running = await startServers();
  const { servers } = running;
  const drop = createS3Client({ endpoint: servers.s3Endpoint, credentials: embeddedS3Credentials() });
  const inspect = createS3Client({ endpoint: servers.inspectS3Endpoint, credentials: embeddedS3Credentials() });
  await putPhotos(drop, servers.dropBucket, 'copy-200/', 200, 4 * MiB);
  const started = Date.now();
  let stopping = false;
  let copies = 0;
  let current: ChildProcess | undefined;
  const loop = (async () => {
    while (!stopping) {
      const run = await loadCopy(workerBundle, servers, (child) => {
        current = child;
      }).catch((error: unknown) => {
        if (!stopping) log(`Load: a copy failed (${(error as Error).message.split('\n')[0]}); starting another`);
        return undefined;
      });
      if (run) {
        copies += 1;
        await deletePrefix(inspect, servers.inspectBucket, `${run.keyPrefix}/`);
      } else if (!stopping) await sleep(1_000);
    }
  })();
  // The measured runs start once the load's first copy is under way.
  await sleep(2_000);
  log('Load: running.');
  return {
    stop: async () => {
      stopping = true;
      current?.kill('SIGTERM');
      await loop;
      drop.destroy();
      inspect.destroy();
      await running.stop();
      return { copies, seconds: (Date.now() - started) / 1000 };
    },
  };
}

function loadCopy(
  workerBundle: string,
  servers: CopyBenchServers,
  started: (child: ChildProcess) => void,
): Promise<CopyRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [workerBundle, JSON.stringify({ servers, prefix: 'copy-200/' })], {
      cwd: ROOT,
      env: sdkEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as CopyRun)
        : reject(new Error(`copy worker exited with ${code}: ${stderr.trim()}`)),
    );
  });
}
