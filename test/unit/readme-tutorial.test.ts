import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
let simulator: ChildProcess | undefined;
let exportLines: string;
let workDir: string | undefined;

/** Starts the simulator as the README says, and keeps the export lines it prints for the tutorial. */
beforeAll(async () => {
  // The tutorial writes photos/, inspection.json and credentials.json into the current folder: a scratch one.
  workDir = await mkdtemp(join(tmpdir(), 'readme-tutorial-'));
  const started = spawn(join(root, 'node_modules/.bin/tsx'), ['local/simulator/cli.ts', '--processing-seconds', '5'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  simulator = started;
  let printed = '';
  exportLines = await new Promise<string>((resolvePrinted, reject) => {
    started.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      // The local-mode command is the banner's last line: every export line has arrived by then.
      if (/^\s*npm run -s local -- --pix4d-url \S+\n/m.test(printed)) {
        resolvePrinted(
          printed
            .split('\n')
            .filter((line) => line.trim().startsWith('export '))
            .join('\n'),
        );
      }
    });
    started.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${printed}`)));
  });
});

/** Stops the simulator (SIGTERM, SIGKILL if it is still running 10 s later) and removes the scratch folder, pass or fail. */
afterAll(async () => {
  const running = simulator;
  if (running && running.exitCode === null && running.signalCode === null) {
    const exited = new Promise<void>((resolveExit) => running.once('exit', () => resolveExit()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 20_000);

describe('the README tutorial against the simulator', () => {
  it('runs as written with curl and the aws CLI and ends with Processing completed', async () => {
    // Prepare
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const block = /<!-- simulator-tutorial -->\s*```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const script = `set -euo pipefail\n${exportLines}\n${block}`;

    // Act
    const { stdout } = await new Promise<{ stdout: string }>((resolveRun, reject) => {
      execFile(
        'bash',
        ['-c', script],
        {
          cwd: workDir,
          timeout: 60_000,
          env: { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
        },
        (error, out, err) =>
          error ? reject(new Error(`${error.message}\n${out}\n${err}`)) : resolveRun({ stdout: out }),
      );
    });

    // Assess
    expect(exportLines).toContain('INSPECT_API_KEY=');
    expect(exportLines).toContain('PIX4D_API_KEY=');
    expect(stdout).toContain('"nb_images_registered":2');
    expect(stdout).toMatch(/upload: photos\/DJI_0389\.JPG to s3:\/\/prod-pix4d-cloud-default\/user-/);
    expect(stdout.trim().split('\n').at(-1)).toBe("{ id: 7, name: 'Processing completed' }");
  }, 90_000);
});
