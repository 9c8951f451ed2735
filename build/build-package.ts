/**
 * `npm run build` (and so `npm pack`, through prepack): the package's dist/, made afresh.
 *
 * - dist/lib/index.js: the construct, bundled by esbuild with every package import left to the installed packages
 *   (aws-cdk-lib and constructs are the consumer's), and dist/lib/*.d.ts, dist/src/**\/*.d.ts by tsc.
 * - dist/functions/<step>/index.js (+ .map): each step's handler, bundled with PipelineFunctions' own settings;
 *   the compiled construct deploys these, so that a consumer needs neither esbuild nor Docker.
 * - dist/cli/inspect-pipeline.js: the operator CLI (the package's bin), without tsx.
 *
 * Every package a bundle leaves to `require` must be a dependency or peer dependency, or the installed package would
 * fail at its first import: the build fails instead, naming it.
 */

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { HANDLER_BUNDLE_FILE, HANDLER_BUNDLING, PIPELINE_STEPS } from '../lib/pipeline-functions';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');

interface PackageJson {
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly engines?: { readonly node?: string };
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** The oldest Node the package supports (engines), for the code that runs on the consumer's machine. */
const CONSUMER_TARGET = `node${/(\d+)/.exec(pkg.engines?.node ?? '20')![1]}`;

class BuildError extends Error {}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  declarations();
  const lib = await bundle({
    entryPoints: [join(ROOT, 'lib', 'index.ts')],
    outfile: join(DIST, 'lib', 'index.js'),
    target: CONSUMER_TARGET,
    packages: 'external',
  });
  await bundle({
    // The same esbuild options as NodejsFunction passes for HANDLER_BUNDLING (aws-lambda-nodejs/lib/bundling.js).
    entryPoints: PIPELINE_STEPS.map((step) => ({
      in: join(ROOT, 'functions', step, 'handler.ts'),
      out: join(step, 'index'),
    })),
    outdir: join(DIST, 'functions'),
    target: HANDLER_BUNDLING.target,
    format: HANDLER_BUNDLING.format,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    external: HANDLER_BUNDLING.externalModules,
  });
  const cliFile = join(DIST, 'cli', 'inspect-pipeline.js');
  const cli = await bundle({
    // cli/main.ts runs itself when it is the main module, as the bundle is under the bin's name.
    entryPoints: [join(ROOT, 'cli', 'main.ts')],
    outfile: cliFile,
    target: CONSUMER_TARGET,
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
  });
  chmodSync(cliFile, 0o755);
  assertDeclaredImports('dist/lib/index.js', lib);
  assertDeclaredImports('dist/cli/inspect-pipeline.js', cli);
  for (const step of PIPELINE_STEPS) {
    const file = join(DIST, 'functions', step, HANDLER_BUNDLE_FILE);
    if (!existsSync(file)) throw new BuildError(`build: ${relative(ROOT, file)} was not written`);
  }
  process.stdout.write(
    `build: dist/ (construct, ${PIPELINE_STEPS.length} handlers, CLI) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

function declarations(): void {
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0)
    throw new BuildError(`build: tsc -p tsconfig.build.json failed (exit ${tsc.status ?? tsc.signal})`);
}

async function bundle(options: BuildOptions): Promise<Metafile> {
  const result = await build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: ROOT,
    ...options,
  });
  if (!result.metafile) throw new BuildError('build: esbuild returned no metafile');
  return result.metafile;
}

/** The packages a bundle requires at run time, each of which an install of the package must bring. */
function assertDeclaredImports(bundleName: string, metafile: Metafile): void {
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const builtins = new Set(builtinModules);
  const missing = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const { path, external } of imports) {
      if (!external || path.startsWith('.') || path.startsWith('node:') || builtins.has(path)) continue;
      const name = path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!;
      if (!declared.has(name)) missing.add(`${name} (imported by ${input})`);
    }
  }
  if (missing.size > 0) {
    throw new BuildError(
      `build: ${bundleName} requires packages that are not dependencies or peerDependencies in package.json: ${[...missing].join(', ')}`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof BuildError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exit(1);
});
