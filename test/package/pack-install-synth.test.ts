import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InspectPipeline } from '../../lib/index';
import { PIPELINE_STEPS, STEP_METADATA_KEY } from '../../lib/pipeline-functions';
import { PIPELINE_OUTPUT_NAMES } from '../../lib/pipeline-outputs';

/**
 * The package as another CDK app gets it: `npm pack` of this repository (prepack builds dist/), a fresh app that
 * installs the tarball from npm's cache next to aws-cdk-lib, constructs and cdk-nag, and synthesizes
 * `new InspectPipeline(stack, 'Photos', ...)` with cdk-nag's AwsSolutions checks, as lib/app.ts does, with plain node.
 */

const ROOT = join(__dirname, '..', '..');
const STACK_NAME = 'PhotoPipeline';
const CONSTRUCT_ID = 'Photos';
const NOTIFICATION_EMAIL = 'ops@example.com';
const QUIET_PERIOD_MINUTES = 5;
/** Each command's limit, within the hook's: a hung npm is killed and fails the test instead of outliving it. */
const COMMAND_LIMIT_MS = 240_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}

/** npm's own variables from `npm test` (the repository as local prefix, its package and lifecycle) stay out of the child npm's way. */
function childEnv(): NodeJS.ProcessEnv {
  const parentNpm = /^npm_(package_|lifecycle_|command$|config_(local_prefix|call|argv)$)/i;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !parentNpm.test(name)));
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: COMMAND_LIMIT_MS, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
      },
    );
  });
}

/** The repository's exact version of a package, so that the consumer builds with what the tests ran. */
function repoVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >;
  const found = pkg.dependencies?.[name] ?? pkg.devDependencies?.[name];
  if (!found) throw new Error(`package.json has no version of ${name}`);
  return found;
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The consumer's app: plain CommonJS, as a JavaScript CDK app would be, with cdk-nag as lib/app.ts adds it. */
const APP_JS = `'use strict';
const { writeFileSync } = require('node:fs');
const { App, Duration, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const { InspectPipeline } = require('inspect-pipeline');

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, '${STACK_NAME}');
new InspectPipeline(stack, '${CONSTRUCT_ID}', { notificationEmail: '${NOTIFICATION_EMAIL}', quietPeriod: Duration.minutes(${QUIET_PERIOD_MINUTES}) });
const checks = new AwsSolutionsChecks(app);
// A passing plugin's report is left out of cdk.out/validation-report.json: kept here, to show that the checks ran.
const validate = checks.validate.bind(checks);
let report = null;
checks.validate = (context) => (report = validate(context));
Validations.of(app).addPlugins(checks);
// Throws, naming the rule, on any finding that is not acknowledged.
app.synth();
writeFileSync('nag-report.json', JSON.stringify(report && { pluginName: checks.name, success: report.success, violations: report.violations }));
`;

/** A TypeScript consumer's use of the declarations: the props and the types that fill them. */
const APP_TS = `import { App, Duration, Stack } from 'aws-cdk-lib';
import { InspectPipeline, type InspectPipelineProps, type ProcessingParameters, type StatusClasses } from 'inspect-pipeline';

const parameters: Partial<ProcessingParameters> = {};
const statusClasses: StatusClasses | undefined = undefined;
const props: InspectPipelineProps = { quietPeriod: Duration.minutes(5), defaultProcessingParameters: parameters, statusClasses };
const pipeline = new InspectPipeline(new Stack(new App(), 'Typed'), 'Photos', props);
export const dropBucketName: string = pipeline.dropBucket.bucketName;
// @ts-expect-error: a misspelt prop is refused
new InspectPipeline(new Stack(new App(), 'Misspelt'), 'Photos', { quietPeriode: Duration.minutes(5) });
`;

let packDir: string;
let appDir: string;
let distExisted: boolean;
let tarball: string;
let packed: Run;
let listed: Run;
let installed: Run;
let synthesized: Run;
let typeChecked: Run;
let help: Run;
let version: Run;
let template: CfnTemplate;
/** The same construct built in process from lib/, for the template comparison (functions not bundled: code is left out). */
let repoTemplate: CfnTemplate;

/** The typed consumer checked by the repository's TypeScript; @types/node is the repository's too. */
function typeCheck(): Promise<Run> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const options = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
  ];
  return run(
    process.execPath,
    [tsc, ...options, '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', 'typed-app.ts'],
    appDir,
  );
}

/** The same construct built in process from lib/ (functions bundled from source, here skipped), as the consumer's app builds it. */
function repositoryTemplate(): CfnTemplate {
  const app = new App({ outdir: join(appDir, 'repository.out'), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, STACK_NAME);
  new InspectPipeline(stack, CONSTRUCT_ID, {
    notificationEmail: NOTIFICATION_EMAIL,
    quietPeriod: Duration.minutes(QUIET_PERIOD_MINUTES),
  });
  return app.synth().getStackByName(STACK_NAME).template as CfnTemplate;
}

beforeAll(async () => {
  const started = Date.now();
  distExisted = existsSync(join(ROOT, 'dist'));
  packDir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-pack-'));
  appDir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-consumer-'));

  packed = await run('npm', ['pack', '--pack-destination', packDir, '--no-audit', '--no-fund'], ROOT);
  if (packed.code !== 0) return;
  tarball = join(packDir, readdirSync(packDir).find((name) => name.endsWith('.tgz'))!);
  listed = await run('tar', ['-tzf', tarball], packDir);

  // One install, as `npm install` of a fresh app that lists them (two, the CDK app's then the package, cost more).
  const dependencies = {
    'aws-cdk-lib': repoVersion('aws-cdk-lib'),
    constructs: repoVersion('constructs'),
    'cdk-nag': repoVersion('cdk-nag'),
    'inspect-pipeline': `file:${tarball}`,
  };
  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({ name: 'photo-pipeline-app', private: true, dependencies }),
  );
  writeFileSync(join(appDir, 'app.js'), APP_JS);
  writeFileSync(join(appDir, 'typed-app.ts'), APP_TS);
  const installing = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], appDir);
  // While npm mostly waits on the cache and the disk.
  repoTemplate = repositoryTemplate();
  installed = await installing;
  if (installed.code !== 0) return;

  [synthesized, help, version, typeChecked] = await Promise.all([
    run(process.execPath, ['app.js'], appDir),
    run('npx', ['--no', '--', 'inspect-pipeline', '--help'], appDir),
    run(join(appDir, 'node_modules', '.bin', 'inspect-pipeline'), ['--version'], appDir),
    typeCheck(),
  ]);
  if (synthesized.code === 0)
    template = JSON.parse(readFileSync(join(appDir, 'cdk.out', `${STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;

  const phases = { pack: packed, install: installed, synth: synthesized, help, 'type check': typeChecked };
  const each = Object.entries(phases)
    .map(([phase, { seconds }]) => `${phase} ${seconds.toFixed(1)} s`)
    .join(', ');
  console.info(`package test: ${((Date.now() - started) / 1000).toFixed(1)} s (${each})`);
}, 300_000);

afterAll(() => {
  for (const dir of [packDir, appDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  // dist/ is the build's output for the tarball; one the developer had built stays (refreshed by the pack).
  if (!distExisted) rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
}, 120_000);

function pipelineFunctions(from: CfnTemplate): [string, CfnResource][] {
  return Object.entries(from.Resources).filter(
    ([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.[STEP_METADATA_KEY] !== undefined,
  );
}

function withoutFunctionCode(from: CfnTemplate): unknown {
  const copy = structuredClone(from) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  };
  for (const resource of Object.values(copy.Resources))
    if (resource.Type === 'AWS::Lambda::Function') delete resource.Properties?.Code;
  return copy;
}

describe('the package, packed and installed into another CDK app', () => {
  it('packs with a fresh build: the construct, its declarations, the handler bundles and the CLI, no sources', () => {
    // Prepare
    expect(packed.code, packed.stderr).toBe(0);

    // Act
    const files = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((file) => file.replace(/^package\//, ''));

    // Assess
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/cli/inspect-pipeline.js',
      ]),
    );
    for (const step of PIPELINE_STEPS)
      expect(files).toEqual(
        expect.arrayContaining([`dist/functions/${step}/index.js`, `dist/functions/${step}/index.js.map`]),
      );
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toStrictEqual([]);
    expect(
      files.filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(file)),
    ).toStrictEqual([]);
  });

  it('leaves no tarball in the repository', () => {
    // Prepare
    expect(packed.code, packed.stderr).toBe(0);

    // Act
    const tarballs = readdirSync(ROOT).filter((name) => name.endsWith('.tgz'));

    // Assess
    expect(tarballs).toStrictEqual([]);
  });

  it('installs from the tarball with no install script of its own and without esbuild', () => {
    // Prepare
    expect(installed.code, installed.stderr).toBe(0);

    // Act
    const installedPackage = JSON.parse(
      readFileSync(join(appDir, 'node_modules', 'inspect-pipeline', 'package.json'), 'utf8'),
    ) as { scripts?: Record<string, string> };

    // Assess
    expect(
      Object.keys(installedPackage.scripts ?? {}).filter((script) =>
        ['preinstall', 'install', 'postinstall'].includes(script),
      ),
    ).toStrictEqual([]);
    expect(existsSync(join(appDir, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(join(appDir, 'node_modules', '@esbuild'))).toBe(false);
  });

  it('synthesizes with cdk-nag AwsSolutions and no unacknowledged finding', () => {
    // Prepare
    expect(synthesized.code, synthesized.stderr).toBe(0);

    // Act
    const report = JSON.parse(readFileSync(join(appDir, 'nag-report.json'), 'utf8')) as {
      pluginName: string;
      success: boolean;
      violations: unknown[];
    } | null;

    // Assess
    expect(report).toMatchObject({ pluginName: 'AwsSolutions', violations: [], success: true });
  });

  it("has the pipeline's resources: 8 functions on Node.js 24 ARM64, 2 state machines, the buckets and the queue", () => {
    // Prepare
    expect(synthesized.code, synthesized.stderr).toBe(0);
    const count = (type: string) =>
      Object.values(template.Resources).filter((resource) => resource.Type === type).length;

    // Act
    const functions = pipelineFunctions(template);

    // Assess
    expect(functions.map(([, fn]) => fn.Metadata?.[STEP_METADATA_KEY]).sort()).toStrictEqual(
      [...PIPELINE_STEPS].sort(),
    );
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
    }
    expect(count('AWS::StepFunctions::StateMachine')).toBe(2);
    expect(count('AWS::S3::Bucket')).toBe(3); // drop, work, access logs
    expect(count('AWS::SQS::Queue')).toBe(2); // the ingest queue and its dead-letter queue
    expect(count('AWS::Lambda::EventSourceMapping')).toBe(1);
  });

  it("deploys the package's prebuilt bundles as the functions' code", () => {
    // Prepare
    expect(synthesized.code, synthesized.stderr).toBe(0);

    // Act
    const deployed = pipelineFunctions(template).map(([, fn]) => {
      const key = (fn.Properties!.Code as { S3Key: string }).S3Key;
      const asset = join(appDir, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`);
      return { step: fn.Metadata?.[STEP_METADATA_KEY] as string, asset };
    });

    // Assess
    for (const { step, asset } of deployed) {
      const bundle = readFileSync(
        join(appDir, 'node_modules', 'inspect-pipeline', 'dist', 'functions', step, 'index.js'),
      );
      expect(readdirSync(asset).sort(), step).toStrictEqual(['index.js', 'index.js.map']);
      expect(readFileSync(join(asset, 'index.js')).equals(bundle), step).toBe(true);
    }
  });

  it("is the repository's own template but for the functions' code: same settings, metadata and grants", () => {
    // Prepare
    expect(synthesized.code, synthesized.stderr).toBe(0);

    // Act
    const [fromPackage, fromRepository] = [withoutFunctionCode(template), withoutFunctionCode(repoTemplate)];

    // Assess
    expect(fromPackage).toStrictEqual(fromRepository);
  });

  it("has the construct's outputs, each OutputKey its name with the construct's path and a hash", () => {
    // Prepare
    expect(synthesized.code, synthesized.stderr).toBe(0);

    // Act
    const keys = Object.keys(template.Outputs ?? {});

    // Assess
    for (const name of PIPELINE_OUTPUT_NAMES)
      expect(keys, name).toContainEqual(expect.stringMatching(new RegExp(`^${CONSTRUCT_ID}${name}[0-9A-F]{8}$`)));
  });

  it('type-checks a TypeScript consumer against the installed declarations', () => {
    // Prepare
    expect(installed.code, installed.stderr).toBe(0);

    // Act
    const { code, stdout } = typeChecked;

    // Assess
    expect(stdout).toBe('');
    expect(code).toBe(0);
  });

  it('runs the operator CLI from the package bin, without tsx: npx inspect-pipeline --help, and its --version', () => {
    // Prepare
    expect(installed.code, installed.stderr).toBe(0);

    // Act
    const [helpRun, versionRun] = [help, version];

    // Assess
    expect(helpRun.code, helpRun.stderr).toBe(0);
    expect(helpRun.stdout).toMatch(/^Usage: inspect-pipeline <command>/);
    expect(versionRun.code, versionRun.stderr).toBe(0);
    expect(versionRun.stdout).toContain(`inspect-pipeline ${PACKAGE_VERSION}`);
    expect(existsSync(join(appDir, 'node_modules', 'tsx'))).toBe(false);
  });
});
