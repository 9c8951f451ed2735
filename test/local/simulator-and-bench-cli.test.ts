import { type ChildProcess, execFile, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { version } from '../../package.json';

/**
 * The command lines of the standalone simulator and of the benchmarks, run as a user runs them (tsx on the real
 * entry points): the project's conventions (help, version, did-you-mean, one line and exit 2 for a mistake, a busy
 * port named with its fix), the alias shared with local mode, and the environment the simulator prints for local
 * mode's --pix4d-url, which local mode is then run with. The benchmarks themselves take minutes and are not run,
 * only what makes them exit before any work, except the prepare step's on a flight small enough to take seconds:
 * its JSON's shape is checked, never its figures.
 */

const ROOT = join(__dirname, '..', '..');
const SIMULATOR = 'local/simulator/cli.ts';
const BENCH = 'bench/bench.ts';
const COLD_START = 'bench/cold-start.ts';
const PREPARE = 'bench/prepare.ts';

/** What local mode's --pix4d-url reads (README, "Local mode"); PIX4D_ORGANIZATION_UUID only when one is set. */
const LOCAL_MODE_VARIABLES = [
  'PIX4D_API_KEY',
  'PIX4D_AUTH_URL',
  'PIX4D_ORGANIZATION_UUID',
  'PIX4D_PASSWORD',
  'PIX4D_S3_ENDPOINT',
  'PIX4D_USERNAME',
];

/** The test's environment without any PIX4D_ variable of its own, so that only the printed ones count. */
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('PIX4D_')),
);

/** An account whose values need quoting in bash: a quote, a dollar sign, a space, a backslash. */
const ACCOUNT = {
  username: "o'brien.$HOME@example.com",
  password: 'pass word \\ "$(exit 1)"',
  apiKey: 'key-`id`-0123456789',
  organizationUuid: '0b6f7a52-5c1e-4b0e-9d7c-3a1f2e4d5c6b',
};
const ACCOUNT_ARGS = [
  '--username',
  ACCOUNT.username,
  '--password',
  ACCOUNT.password,
  '--api-key',
  ACCOUNT.apiKey,
  '--organization-uuid',
  ACCOUNT.organizationUuid,
];

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly exited: Promise<Exit>;
}

const children: ChildProcess[] = [];
const servers: Server[] = [];

function start(script: string, args: readonly string[]): Running {
  // As the npm scripts run them (node --import tsx): the tsx CLI would relay a signal and kill the child when it
  // does not report the signal back within 30 ms, which a loaded machine misses.
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<Exit>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, stdout: () => stdout, exited };
}

/** A command that must end by itself (help, version, a mistake). */
function run(script: string, args: readonly string[]): Promise<Exit> {
  return start(script, args).exited;
}

/** Resolves with stdout once it matches `pattern`; rejects if the process ends first. */
function waitForOutput(running: Running, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(running.stdout())) return;
      running.child.stdout!.off('data', check);
      resolve(running.stdout());
    };
    running.child.stdout!.on('data', check);
    void running.exited.then((exit) =>
      reject(new Error(`exited ${exit.code} before printing ${pattern}: ${exit.stdout} ${exit.stderr}`)),
    );
    check();
  });
}

async function stop(running: Running): Promise<Exit> {
  running.child.kill('SIGTERM');
  return running.exited;
}

/** A loopback port this test holds, so that the simulator finds it busy. */
async function busyPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Evaluates `exports` in bash (no PIX4D_ variable inherited) and returns the PIX4D_ variables it set. */
function pix4dVariablesAfter(exports: string): Promise<Record<string, string>> {
  const script = `set -eu\n${exports}\nfor name in \${!PIX4D_@}; do printf '%s=%s\\0' "$name" "\${!name}"; done`;
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '' } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      const pairs = stdout
        .split('\0')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]);
      resolve(Object.fromEntries(pairs));
    });
  });
}

/** The lines of the human banner's local-mode block: its export line and its command. */
function localModeBlock(stdout: string): { exports: string; command: string } {
  const lines = stdout.split('\n');
  const heading = lines.findIndex((line) => line.startsWith('Environment for local mode'));
  return { exports: lines[heading + 1]?.trim() ?? '', command: lines[heading + 2]?.trim() ?? '' };
}

interface JsonBanner {
  apiUrl: string;
  authUrl: string;
  s3Endpoint: string;
  username: string;
  password: string;
  apiKey: string;
  organizationUuid?: string;
  settings: { errorRate: number };
  pix4dEnvironment: Record<string, string>;
  localModeCommand: string;
}

async function startJson(args: readonly string[]): Promise<{ running: Running; banner: JsonBanner }> {
  const running = start(SIMULATOR, ['--json', ...args]);
  const output = await waitForOutput(running, /\n/);
  return { running, banner: JSON.parse(output.split('\n')[0]!) as JsonBanner };
}

const ONE_LINE = /^[^\n]+\n$/;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

// Each test mostly waits for its child processes: the tests of each group run at the same time.
describe.concurrent('simulator CLI conventions', { timeout: 60_000 }, () => {
  it('prints its version with --version and exits 0', async ({ expect }) => {
    // Act
    const exit = await run(SIMULATOR, ['--version']);

    // Assess
    expect(exit).toEqual({ code: 0, stdout: `simulator ${version} (Node.js ${process.version})\n`, stderr: '' });
  });

  it('prints its usage with -h, naming both spellings of the error rate, and exits 0', async ({ expect }) => {
    // Act
    const exit = await run(SIMULATOR, ['-h']);

    // Assess
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe('');
    expect(exit.stdout).toMatch(/^Usage: npm run -s simulator -- \[options\]\n/);
    for (const option of [
      '--port N',
      '--s3-port N',
      '--error-rate R',
      '--fault-rate',
      '--json',
      '--version',
      '--debug',
    ])
      expect(exit.stdout).toContain(option);
  });

  const mistakes: { args: string[]; says: string[] }[] = [
    { args: ['--eror-rate', '0.1'], says: ['unknown option --eror-rate', 'did you mean --error-rate?', '--help'] },
    { args: ['--fault-rat', '0.1'], says: ['unknown option --fault-rat', 'did you mean --error-rate?'] },
    { args: ['--fault-rate', '2'], says: ['--fault-rate must be a number between 0 and 1 (got "2")'] },
    { args: ['--error-rate', 'high'], says: ['--error-rate must be a number between 0 and 1 (got "high")'] },
    { args: ['--port', '70000'], says: ['--port must be a number between 0 and 65535 (got "70000")'] },
    { args: ['--port', '4600', '--s3-port', '4600'], says: ['--port and --s3-port must differ'] },
  ];
  for (const { args, says } of mistakes) {
    it(`exits 2 with one line on stderr for ${args.join(' ')}`, async ({ expect }) => {
      // Act
      const exit = await run(SIMULATOR, args);

      // Assess
      expect(exit.code).toBe(2);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toMatch(ONE_LINE);
      expect(exit.stderr.startsWith('simulator: ')).toBe(true);
      for (const text of says) expect(exit.stderr).toContain(text);
    });
  }

  for (const option of ['--port', '--s3-port']) {
    it(`exits 2 with one line naming the busy port and how to choose another for ${option}`, async ({ expect }) => {
      // Prepare
      const port = await busyPort();

      // Act
      const exit = await run(SIMULATOR, [option, String(port)]);

      // Assess
      expect(exit.code).toBe(2);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toBe(
        `simulator: port ${port} (${option} ${port}) is already in use; choose another with ${option} N, or omit ${option} for any free port\n`,
      );
    });
  }

  it("takes --fault-rate, local mode's spelling, as --error-rate", async ({ expect }) => {
    // Prepare
    const { running, banner } = await startJson(['--fault-rate', '0.25']);

    // Act
    const exit = await stop(running);

    // Assess
    expect(banner.settings.errorRate).toBe(0.25);
    expect(exit.code).toBe(0);
  });
});

describe.concurrent('simulator CLI environment for local mode', () => {
  it('prints, in --json and as bash exports, exactly the PIX4D_ variables local mode reads, with the account and endpoints', async ({
    expect,
  }) => {
    // Prepare: the JSON banner first, then the human one on the same ports, to compare the two.
    const json = await startJson(ACCOUNT_ARGS);
    await stop(json.running);
    const apiPort = new URL(json.banner.apiUrl).port;
    const s3Port = new URL(json.banner.s3Endpoint).port;
    const human = start(SIMULATOR, [...ACCOUNT_ARGS, '--port', apiPort, '--s3-port', s3Port]);
    const printed = await waitForOutput(human, /^\s*npm run -s local -- .*\n/m);
    await stop(human);

    // Act
    const block = localModeBlock(printed);
    const variables = await pix4dVariablesAfter(block.exports);

    // Assess
    const expected = {
      PIX4D_USERNAME: ACCOUNT.username,
      PIX4D_PASSWORD: ACCOUNT.password,
      PIX4D_API_KEY: ACCOUNT.apiKey,
      PIX4D_ORGANIZATION_UUID: ACCOUNT.organizationUuid,
      PIX4D_AUTH_URL: json.banner.authUrl,
      PIX4D_S3_ENDPOINT: json.banner.s3Endpoint,
    };
    expect(Object.keys(variables).sort()).toEqual(LOCAL_MODE_VARIABLES);
    expect(variables).toEqual(expected);
    expect(json.banner.pix4dEnvironment).toEqual(expected);
    expect({
      username: json.banner.username,
      password: json.banner.password,
      apiKey: json.banner.apiKey,
      organizationUuid: json.banner.organizationUuid,
    }).toEqual(ACCOUNT);
    expect(block.command).toBe(`npm run -s local -- --pix4d-url ${json.banner.apiUrl}`);
    expect(json.banner.localModeCommand).toBe(block.command);
  }, 90_000);

  it('leaves out PIX4D_ORGANIZATION_UUID when no organization is set', async ({ expect }) => {
    // Prepare
    const { running, banner } = await startJson([]);

    // Act
    await stop(running);

    // Assess
    expect(Object.keys(banner.pix4dEnvironment).sort()).toEqual(
      LOCAL_MODE_VARIABLES.filter((name) => name !== 'PIX4D_ORGANIZATION_UUID'),
    );
  }, 90_000);

  it('lets local mode run a flight against the simulator with the printed exports and command', async ({ expect }) => {
    // Prepare
    const simulator = start(SIMULATOR, [...ACCOUNT_ARGS, '--processing-seconds', '0']);
    const block = localModeBlock(await waitForOutput(simulator, /^\s*npm run -s local -- .*\n/m));

    // Act
    const local = await new Promise<Exit>((resolve) => {
      // Six photos: the pre-flight refuses fewer (minPhotos).
      const script = `set -eu\n${block.exports}\n${block.command} --generate 6`;
      execFile('bash', ['-c', script], { cwd: ROOT, env: ENV, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });
    await stop(simulator);

    // Assess
    expect(local.code, local.stderr.slice(-2_000)).toBe(0);
    expect(local.stdout).toContain('1 of 1 flight(s) completed');
  }, 180_000);
});

describe.concurrent('benchmark CLIs exit before any work for help, version and mistakes', { timeout: 60_000 }, () => {
  const cases = [
    {
      script: BENCH,
      program: 'bench',
      command: 'npm run -s bench --',
      typo: ['--jsn'],
      suggestion: '--json',
      badValue: ['--rounds', '2'],
      names: '--rounds',
    },
    {
      script: COLD_START,
      program: 'cold-start',
      command: 'npm run -s bench:cold-start --',
      typo: ['--run', '5'],
      suggestion: '--runs',
      badValue: ['--runs', 'many'],
      names: '--runs',
    },
    {
      script: PREPARE,
      program: 'bench-prepare',
      command: 'npm run -s bench:prepare --',
      typo: ['--photo', '30'],
      suggestion: '--photos',
      badValue: ['--photos', '3'],
      names: '--photos',
    },
  ];
  for (const { script, program, command, typo, suggestion, badValue, names } of cases) {
    it(`${program}: --version and --help exit 0`, async ({ expect }) => {
      // Act
      const [versionExit, helpExit] = await Promise.all([run(script, ['--version']), run(script, ['--help'])]);

      // Assess
      expect(versionExit).toEqual({
        code: 0,
        stdout: `${program} ${version} (Node.js ${process.version})\n`,
        stderr: '',
      });
      expect(helpExit.code).toBe(0);
      expect(helpExit.stderr).toBe('');
      expect(helpExit.stdout.startsWith(`Usage: ${command} [options]\n`)).toBe(true);
      for (const option of ['--json', names, '-h, --help', '--version', '--debug'])
        expect(helpExit.stdout).toContain(option);
    });

    it(`${program}: a typo and a bad value each exit 2 with one line`, async ({ expect }) => {
      // Act
      const [typoExit, valueExit] = await Promise.all([run(script, typo), run(script, badValue)]);

      // Assess
      expect(typoExit.code).toBe(2);
      expect(typoExit.stdout).toBe('');
      expect(typoExit.stderr).toMatch(ONE_LINE);
      expect(typoExit.stderr).toContain(
        `${program}: unknown option ${typo[0]}; did you mean ${suggestion}? (${command} --help lists the options)`,
      );
      expect(valueExit.code).toBe(2);
      expect(valueExit.stdout).toBe('');
      expect(valueExit.stderr).toMatch(ONE_LINE);
      expect(valueExit.stderr).toContain(`${program}: ${names} must be`);
    });
  }
});

describe.concurrent('prepare benchmark', () => {
  it('runs the prepare step on 30 photos and prints one JSON object with each figure against its Lambda limit', async ({
    expect,
  }) => {
    // Act
    const exit = await run(PREPARE, ['--photos', '30', '--json']);

    // Assess
    expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
    expect(exit.stdout).toMatch(ONE_LINE);
    const results = JSON.parse(exit.stdout) as {
      prepare: Record<string, number>;
      lambdaLimits: Record<string, { value: number }>;
    };
    const figure = expect.any(Number);
    const limit = (max: number, unit: string) => ({
      value: figure,
      limit: max,
      unit,
      headroom: figure,
      met: expect.any(Boolean),
    });
    expect(results).toMatchObject({
      machine: { cpus: figure, node: process.version },
      photos: 30,
      upload: {
        photos: 30,
        mib: figure,
        generateSeconds: figure,
        uploadSeconds: figure,
        uploadPhotosPerSecond: figure,
        concurrency: 16,
      },
      prepare: {
        seconds: figure,
        photosPerSecond: figure,
        listingSeconds: figure,
        metadataSeconds: figure,
        otherSeconds: figure,
        readsInFlight: 32,
        rangedReads: 30,
        cpuSeconds: figure,
        peakRssMiB: figure,
        rssBeforeMiB: figure,
        peakHeapMiB: figure,
        heapBeforeMiB: figure,
        images: { found: 30, accepted: 30, skipped: 0 },
        chunks: 1,
        completed: true,
        flight: { photos: 30, geotagged: 30, cameras: ['DJI FC6310'] },
        warnings: [],
      },
      lambdaLimits: { seconds: limit(300, 's'), peakRssMiB: limit(1024, 'MiB') },
      allLimitsMet: expect.any(Boolean),
    });
    expect(results.lambdaLimits.seconds!.value).toBe(results.prepare.seconds);
    expect(results.lambdaLimits.peakRssMiB!.value).toBe(results.prepare.peakRssMiB);
    expect(results.prepare.peakRssMiB).toBeGreaterThanOrEqual(results.prepare.rssBeforeMiB!);
  }, 180_000);

  it('pads the photos with --photo-kib so that each read returns 128 KiB, and they stay photos with their Exif', async ({
    expect,
  }) => {
    // Act
    const exit = await run(PREPARE, ['--photos', '30', '--photo-kib', '160', '--json']);

    // Assess
    expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
    expect(JSON.parse(exit.stdout)).toMatchObject({
      upload: { photos: 30, meanPhotoKiB: 160 },
      prepare: {
        images: { found: 30, accepted: 30, skipped: 0 },
        completed: true,
        flight: { photos: 30, geotagged: 30 },
      },
    });
  }, 180_000);
});
