import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
let simulator: ChildProcess;
let exportLines: string;
let workDir: string;

/** Starts the simulator as the README says, and keeps the export lines it prints for the tutorial. */
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'readme-tutorial-'));
  simulator = spawn(join(root, 'node_modules/.bin/tsx'), ['local/simulator/cli.ts', '--processing-seconds', '5'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  exportLines = await new Promise<string>((resolvePrinted, reject) => {
    simulator.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.includes('export INSPECT_API=')) {
        resolvePrinted(
          printed
            .split('\n')
            .filter((line) => line.trim().startsWith('export '))
            .join('\n'),
        );
      }
    });
    simulator.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${printed}`)));
  });
});

afterAll(async () => {
  simulator.kill('SIGTERM');
  await rm(workDir, { recursive: true, force: true });
});

describe('the README tutorial against the simulator', () => {
  it('runs as written with curl and the aws CLI and ends with Processing completed', async () => {
    // Prepare
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const block = /<!-- simulator-tutorial -->\s*```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const script = `set -euo pipefail\n${exportLines}\n${block}`;

    // Act
    const { stdout } = await new Promise<{ stdout: string }>((resolveRun, reject) => {
      execFile('bash', ['-c', script], { cwd: workDir, timeout: 60_000, env: { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' } }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${out}\n${err}`)) : resolveRun({ stdout: out }),
      );
    });

    // Assess
    expect(exportLines).toContain('INSPECT_API_KEY=');
    expect(stdout).toContain('"nb_images_registered":2');
    expect(stdout).toMatch(/upload: photos\/DJI_0389\.JPG to s3:\/\/prod-pix4d-cloud-default\/user-/);
    expect(stdout.trim().split('\n').at(-1)).toBe("{ id: 7, name: 'Processing completed' }");
  }, 90_000);
});
