import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionLine } from '../../local/command-line';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { runCli, stopStartedClis } from '../helpers/local-cli-process';

/**
 * `npm run -s local --` tells a mistake before it starts anything: one line on stderr that names the option or the
 * setting and the fix, exit status 2, nothing on stdout (not even the "ready" line the start-up would print).
 * Help and version follow the project's command-line conventions.
 */

const ONE_LINE = /^local: [^\n]+\n$/;
const CLI_LIMIT_MS = 30_000;

let folder: string;
let busyPort: Server;
let simulator: Simulator;
let closedPort: number;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'local-cli-usage-'));
  await mkdir(join(folder, 'empty', 'DCIM'), { recursive: true });
  await writeFile(join(folder, 'photo.JPG'), 'not a folder');
  await mkdir(join(folder, 'flight', 'DCIM'), { recursive: true });
  await writeFile(join(folder, 'flight', 'DCIM', 'DJI_0001.JPG'), 'a photo');
  busyPort = await listening(0);
  simulator = await startSimulator();
  // A port nothing listens on: taken, then let go.
  const released = await listening(0);
  closedPort = portOf(released);
  await new Promise((resolve) => released.close(resolve));
});

afterAll(async () => {
  await stopStartedClis();
  await new Promise((resolve) => busyPort.close(resolve));
  await simulator.close();
  await rm(folder, { recursive: true, force: true });
}, 30_000);

function listening(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

/** The environment --pix4d-url reads, for the simulator started here. */
function pix4dEnvironment(s3Endpoint: string): NodeJS.ProcessEnv {
  return {
    PIX4D_USERNAME: simulator.account.username,
    PIX4D_PASSWORD: simulator.account.password,
    PIX4D_API_KEY: simulator.account.apiKey,
    PIX4D_S3_ENDPOINT: s3Endpoint,
  };
}

describe('local CLI mistakes found before anything starts', () => {
  const cases: { title: string; args: () => string[]; env?: () => NodeJS.ProcessEnv; names: () => string[] }[] = [
    {
      title: '--photos names a folder that does not exist',
      args: () => ['--photos', join(folder, 'missing')],
      names: () => ['--photos', join(folder, 'missing')],
    },
    {
      title: '--photos names a file',
      args: () => ['--photos', join(folder, 'photo.JPG')],
      names: () => ['--photos', join(folder, 'photo.JPG'), 'not a folder'],
    },
    {
      title: '--photos names a folder with no file',
      args: () => ['--photos', join(folder, 'empty')],
      names: () => ['--photos', join(folder, 'empty'), 'no file'],
    },
    {
      title: '--manifest cannot be read',
      args: () => ['--manifest', join(folder, 'manifest.json')],
      names: () => ['--manifest', join(folder, 'manifest.json')],
    },
    {
      title: '--no-gps with --photos, whose photos are not generated',
      args: () => ['--photos', join(folder, 'flight'), '--no-gps'],
      names: () => ['--no-gps', '--photos', 'generated'],
    },
    {
      title: '--mixed-cameras with --serve, which generates no photos',
      args: () => ['--serve', '--mixed-cameras'],
      names: () => ['--mixed-cameras', '--serve'],
    },
    {
      title: 'a mistyped option',
      args: () => ['--generat', '3'],
      names: () => ['--generat', 'did you mean --generate?'],
    },
    {
      title: '--fault-rate, the alias of --error-rate, out of range',
      args: () => ['--fault-rate', '2'],
      names: () => ['--error-rate', '"2"'],
    },
    {
      title: '--s3-port is busy',
      args: () => ['--serve', '--s3-port', String(portOf(busyPort))],
      names: () => [`port ${portOf(busyPort)}`, 'already in use', 'another with --s3-port N', 'omit --s3-port'],
    },
    {
      title: '--pix4d-url on this machine without PIX4D_S3_ENDPOINT',
      args: () => ['--pix4d-url', simulator.apiUrl],
      env: () => pix4dEnvironment(''),
      names: () => ['--pix4d-url', 'PIX4D_S3_ENDPOINT'],
    },
    {
      title: 'PIX4D_S3_ENDPOINT cannot be reached',
      args: () => ['--pix4d-url', simulator.apiUrl],
      env: () => pix4dEnvironment(`http://127.0.0.1:${closedPort}`),
      names: () => ['PIX4D_S3_ENDPOINT', `http://127.0.0.1:${closedPort}`, 'cannot be reached'],
    },
  ];

  it.each(cases)(
    '$title: one line naming it, exit 2, nothing started',
    async ({ args, env, names }) => {
      // Act
      const run = await runCli(args(), CLI_LIMIT_MS, env?.() ?? {});

      // Assess
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(ONE_LINE);
      for (const name of names()) expect(run.stderr).toContain(name);
      expect(run.stdout).toBe('');
    },
    CLI_LIMIT_MS + 5_000,
  );
});

describe('local CLI help and version', () => {
  it(
    '--version prints the version line and exits 0',
    async () => {
      // Act
      const run = await runCli(['--version'], CLI_LIMIT_MS);

      // Assess
      expect(run).toEqual({ code: 0, signal: null, stdout: `${versionLine('inspect-pipeline local')}\n`, stderr: '' });
    },
    CLI_LIMIT_MS + 5_000,
  );

  it(
    "-h prints the usage, with --error-rate and its alias and the generated photos' options, and exits 0",
    async () => {
      // Act
      const run = await runCli(['-h'], CLI_LIMIT_MS);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout.startsWith('Usage: npm run -s local -- [options]\n')).toBe(true);
      for (const text of [
        '--error-rate R',
        'alias --fault-rate',
        'PIX4D_S3_ENDPOINT',
        '--no-gps',
        '--mixed-cameras',
        '-h, --help',
        '--version',
        '--debug',
      ])
        expect(run.stdout).toContain(text);
      expect(run.stdout).not.toContain('--fault-rate R');
    },
    CLI_LIMIT_MS + 5_000,
  );
});
