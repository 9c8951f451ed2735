/**
 * What `cli.ts` and `cli-runner.ts` share. Types only: `cli.ts` loads the runner late (after setting the environment
 * the handlers' modules read), so neither module imports the other for its types.
 */

/** The local CLI's command line, read and checked. */
export interface CliOptions {
  readonly json: boolean;
  readonly serve: boolean;
  /** How long batches in flight get to finish once a stop is requested. */
  readonly graceSeconds: number;
  readonly logLevel: string;
  readonly run: import('./local-run').LocalRunOptions;
}

/** Writes the command's output (stdout's `write`). */
export type Write = (text: string) => boolean;

/** The runner: runs the pipeline as `options` say, writes its progress, and resolves to the exit status. */
export type RunCli = (options: CliOptions, write: Write) => Promise<number>;
