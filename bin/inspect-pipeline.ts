#!/usr/bin/env node
import { buildApp } from '../lib/app';
import { PipelineContextError } from '../lib/pipeline-context';
import { describeFailure } from '../local/command-line';

const PROGRAM = 'inspect-pipeline';

// `cdk synth --debug` sets CDK_DEBUG=true for the app; INSPECT_PIPELINE_DEBUG=1 asks for the stack trace too.
const debug = process.env.CDK_DEBUG === 'true' || process.env.INSPECT_PIPELINE_DEBUG === '1';

try {
  // Env-agnostic on purpose: synth needs no account or credentials; `cdk deploy` picks the target from the profile.
  // Synthesized here rather than at exit, so that a failure is reported as one line too.
  buildApp().app.synth();
} catch (error) {
  if (error instanceof PipelineContextError) {
    // A mistake in the command line or cdk.json: one line per problem, exit 2 (as every command of the project).
    const lines = debug && error.stack ? [error.stack] : error.problems;
    process.stderr.write(lines.map((line) => `${PROGRAM}: ${line}\n`).join(''));
    process.exit(2);
  }
  const { text, code } = describeFailure(PROGRAM, error, debug);
  process.stderr.write(`${text}\n`);
  process.exit(code);
}
