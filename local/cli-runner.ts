import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotificationV1 } from '../src/notify/notification';
import { systemTimers } from '../src/timers';
import type { CliOptions, RunCli, Write } from './cli-types';
import { aborted, type DroppedFlight, runLocalFlights } from './local-run';
import type { FlightFigures } from './pipeline/flight-figures';
import {
  type InFlightBatch,
  type LocalPipeline,
  type LocalPipelineEvent,
  startLocalPipeline,
} from './pipeline/local-pipeline';
import { EMBEDDED_S3_ACCESS_KEY, EMBEDDED_S3_REGION } from './s3/embedded-s3';
import type { Simulator } from './simulator/simulator';

type RunEvent =
  | LocalPipelineEvent
  | { event: 'ready'; pipeline: LocalPipeline }
  | { event: 'dropped'; flight: DroppedFlight };

/** The steps people see, by state name; the others (Pass, Choice...) are not worth a line. */
const STAGES: Record<string, string> = {
  'Prepare inspection': 'Preparing the inspection',
  'Copy photos': 'Copying photos to Pix4Dinspect',
  'Register photos': 'Registering photos',
  'Start processing': 'Starting processing',
  'Check processing status': 'Waiting for processing',
  'Notify completed': 'Publishing the notification',
  'Notify failed': 'Publishing the notification',
  'Notify timed out': 'Publishing the notification',
};

/** A stop names the stage of any state a batch can be in, the ones between the steps above included. */
const IN_FLIGHT_STAGES: Record<string, string> = {
  ...STAGES,
  'Copy chunk': 'Copying photos to Pix4Dinspect',
  'Wait for processing': 'Waiting for processing',
  'Keep polling': 'Waiting for processing',
  'Processing done?': 'Waiting for processing',
};

type StopCause = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'parent-exited';
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/**
 * On Ctrl-C the terminal signals npm and this process alike, and npm passes its signal on: the same signal this soon
 * after the first is the same request, not a second one.
 */
const SAME_REQUEST_MS = 500;
const PARENT_POLL_MS = 1_000;
/** A stopping run does not wait longer than this for its servers to close (the exit closes them anyway). */
const CLOSE_LIMIT_MS = 5_000;

export const runCli: RunCli = async (options, write) => {
  const report = options.json
    ? jsonReporter(write, !options.serve)
    : humanReporter(write, !options.serve && process.stdout.isTTY === true && process.stderr.isTTY === true);
  const shutdown = new Shutdown(options.graceSeconds * 1000, report);
  // Listening first: a signal before that would end the process at once, the folder left.
  shutdown.listen();
  useOwnTemporaryFolder();
  const run = options.serve ? serve(options, report, shutdown, write) : runOnce(options, report, shutdown, write);
  // A second request does not wait for the run: cli.ts exits with this code, and the exit removes the temporary folder.
  return Promise.race([run, shutdown.now.then(() => shutdown.stopNow())]);
};

/**
 * Every temporary file of the run (the embedded S3's objects, the synthesized cloud assembly, whatever a library
 * writes under os.tmpdir()) goes into one folder, removed as the process exits, whichever way it ends: the run's
 * end, a stop, an error. Only SIGKILL leaves it.
 */
function useOwnTemporaryFolder(): void {
  const folder = mkdtempSync(join(tmpdir(), 'inspect-pipeline-local-'));
  process.env.TMPDIR = folder;
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
}

async function runOnce(options: CliOptions, report: Reporter, shutdown: Shutdown, write: Write): Promise<number> {
  const started = Date.now();
  const finish = (notifications: readonly NotificationV1[], figures: readonly FlightFigures[] = []) =>
    report.finish(notifications, options.run.flights, (Date.now() - started) / 1000, figures, shutdown.cause);
  shutdown.summary = () => finish(shutdown.notifications);
  const result = await runLocalFlights(options.run, shutdown.filter(report.onEvent), shutdown);
  if (result.refused.length > 0) {
    // On AWS these calls would fail the same way: the role in lib/ lacks a grant. (Before the outcomes, which come last.)
    if (options.json) write(`${JSON.stringify({ event: 'iam-refused', calls: result.refused })}\n`);
    else
      write(
        `\nIAM refused ${result.refused.length} call(s) that the synthesized roles do not allow:\n${result.refused.map((call) => `  ${call.caller}: ${call.action} on ${call.resource}`).join('\n')}\n`,
      );
  }
  finish(result.notifications, result.figures);
  if (result.stopped === 'abandoned') return shutdown.exitCode;
  return result.succeeded && result.refused.length === 0 ? 0 : 1;
}

async function serve(options: CliOptions, report: Reporter, shutdown: Shutdown, write: Write): Promise<number> {
  const pipeline = await startLocalPipeline({
    ...options.run.pipeline,
    quietPeriodSeconds: options.run.pipeline.quietPeriodSeconds || 0,
    onEvent: shutdown.filter(report.onEvent),
  });
  const endpoint = {
    event: 'serving',
    s3Endpoint: pipeline.s3Endpoint,
    dropBucket: pipeline.dropBucket,
    workBucket: pipeline.workBucket,
    region: EMBEDDED_S3_REGION,
    accessKeyId: EMBEDDED_S3_ACCESS_KEY,
    secretAccessKey: EMBEDDED_S3_ACCESS_KEY,
    ...(pipeline.simulator ? { pix4dApiUrl: pipeline.simulator.apiUrl } : {}),
  };
  const quietSeconds = options.run.pipeline.quietPeriodSeconds ?? 0;
  // quietSeconds 0: only a manifest.json closes a batch.
  if (options.json) write(`${JSON.stringify({ ...endpoint, quietSeconds })}\n`);
  else write(serveBanner(endpoint, options.graceSeconds, quietSeconds));
  const stopped = () => {
    if (options.json) write(`${JSON.stringify({ event: 'stopped', notifications: pipeline.notifications.length })}\n`);
    else write(`Stopped after ${pipeline.notifications.length} notification(s).\n`);
  };
  shutdown.summary = stopped;
  await shutdown.requested;
  const drained = await shutdown.drain(pipeline);
  await closeWithin(pipeline, CLOSE_LIMIT_MS);
  const failed = pipeline.notifications.some((message) => message.type !== 'inspection.completed');
  stopped();
  if (!drained) return shutdown.exitCode;
  return failed ? 1 : 0;
}

/**
 * What a person needs to drop a flight: the endpoint and keys, how a batch closes (the one thing an S3 client can get
 * wrong: a manifest uploaded first closes the batch before its photos arrive), and a command that works as printed,
 * on the repository's sample flight.
 */
function serveBanner(
  endpoint: {
    s3Endpoint: string;
    dropBucket: string;
    workBucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
  },
  graceSeconds: number,
  quietSeconds: number,
): string {
  const folder = `s3://${endpoint.dropBucket}/tower-001/flight-1/`;
  const at = `--endpoint-url ${endpoint.s3Endpoint}`;
  const closing =
    quietSeconds > 0
      ? [
          `A batch (a folder <asset>/<flight>/) closes ${quietSeconds} s after its last new object, or as soon as its manifest.json arrives.`,
        ]
      : [
          'A batch (a folder <asset>/<flight>/) closes when its manifest.json arrives: upload manifest.json last, after the photos.',
        ];
  // The aws CLI v2 would otherwise send checksummed aws-chunked bodies, which the embedded S3 server stores framed.
  const credentials = `  export AWS_ACCESS_KEY_ID=${endpoint.accessKeyId} AWS_SECRET_ACCESS_KEY=${endpoint.secretAccessKey} AWS_DEFAULT_REGION=${endpoint.region} AWS_REQUEST_CHECKSUM_CALCULATION=when_required`;
  const drop =
    quietSeconds > 0
      ? [
          'Drop the sample flight examples/flight/ (from the repository folder) without its manifest.json:',
          credentials,
          `  aws s3 cp examples/flight/ ${folder} --recursive --exclude manifest.json ${at}`,
        ]
      : [
          'Drop the sample flight examples/flight/ (from the repository folder), the photos first and manifest.json last:',
          credentials,
          `  aws s3 cp examples/flight/ ${folder} --recursive --exclude manifest.json ${at} && \\`,
          `    aws s3 cp examples/flight/manifest.json ${folder} ${at}`,
        ];
  return [
    `inspect-pipeline is serving locally (stop with Ctrl-C; batches in flight then get ${graceSeconds} s to finish)`,
    `  S3 endpoint   ${endpoint.s3Endpoint}   region ${endpoint.region}`,
    `  Drop bucket   ${endpoint.dropBucket}   (work bucket ${endpoint.workBucket})`,
    `  Access keys   ${endpoint.accessKeyId} / ${endpoint.secretAccessKey}`,
    '',
    ...closing,
    '',
    ...drop,
    'or, with the same export, the operator CLI (it uploads manifest.json last):',
    `  npm run -s cli -- upload examples/flight --asset tower-001 --flight flight-1 --endpoint ${endpoint.s3Endpoint}`,
    '',
  ].join('\n');
}

async function closeWithin(pipeline: LocalPipeline, limitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
  try {
    await Promise.race([pipeline.close(), limit]);
  } finally {
    clearTimeout(timer);
  }
}

interface InFlightLine {
  readonly batch: string;
  readonly stage: string;
}

/**
 * How this process stops. The first SIGINT, SIGTERM or SIGHUP (or the exit of its parent process, npm killed for
 * one) stops new batches and gives those in flight `graceMs` to finish; those still running then are abandoned, each
 * said so. The next signal gives up on them at once; a third exits without a word. Every way out goes through
 * process.exit, whose 'exit' hooks remove the temporary files.
 */
class Shutdown {
  cause: StopCause | undefined;
  /** The run's last lines, which a stop at once prints too. */
  summary: (() => void) | undefined;
  private readonly controller = new AbortController();
  /** Aborted at the first request. */
  readonly signal = this.controller.signal;
  /** Resolves at the first request. */
  readonly requested: Promise<void>;
  /** Resolves at the second request. */
  readonly now: Promise<void>;
  private resolveNow: () => void = () => undefined;
  private requestedAt = 0;
  private secondCause: StopCause | undefined;
  private pipeline: LocalPipeline | undefined;
  private cutUploads: readonly string[] = [];
  private gaveUp = false;

  constructor(
    private readonly graceMs: number,
    private readonly report: Reporter,
  ) {
    this.requested = aborted(this.signal);
    this.now = new Promise((resolve) => (this.resolveNow = resolve));
  }

  /** 128 + the signal's number, as a shell reports a process the signal ended (the parent's exit counts as SIGTERM). */
  get exitCode(): number {
    const signal = this.cause === undefined || this.cause === 'parent-exited' ? 'SIGTERM' : this.cause;
    return 128 + constants.signals[signal];
  }

  listen(): void {
    for (const signal of STOP_SIGNALS) process.on(signal, () => this.request(signal));
    // A parent that exits without passing a signal on (npm killed with SIGKILL, a shell between npm and this process)
    // would leave this process serving with nobody to stop it.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) this.request('parent-exited');
    }, PARENT_POLL_MS).unref();
  }

  /** The pipeline's events, dropped once the batches in flight are given up on: what they still do is no outcome. */
  filter(onEvent: (event: RunEvent) => void): (event: RunEvent) => void {
    return (event) => {
      if (!this.gaveUp) onEvent(event);
    };
  }

  /**
   * The first request's stop: no new batches, a line per batch in flight, up to the grace period for them to end
   * (those whose upload the stop cut are not waited for). Resolves true when nothing was abandoned.
   */
  async drain(pipeline: LocalPipeline, cutUploads: readonly string[] = []): Promise<boolean> {
    this.pipeline = pipeline;
    this.cutUploads = cutUploads;
    pipeline.stopAccepting();
    this.report.stopping(this.cause ?? 'SIGTERM', this.inFlight(), this.graceMs / 1000);
    const deadline = Date.now() + this.graceMs;
    while (this.waiting() && Date.now() < deadline && this.secondCause === undefined) {
      await systemTimers.sleep(Math.min(100, deadline - Date.now()));
    }
    if (!this.waiting() && cutUploads.length === 0) return true;
    this.giveUp();
    return false;
  }

  /** The notifications published so far. */
  get notifications(): readonly NotificationV1[] {
    return this.pipeline?.notifications ?? [];
  }

  /** The second request: whatever is in flight is abandoned now. Returns the exit code. */
  stopNow(): number {
    this.report.stoppingNow(this.secondCause ?? this.cause ?? 'SIGTERM');
    this.giveUp();
    this.summary?.();
    return this.exitCode;
  }

  private request(cause: StopCause): void {
    const now = Date.now();
    if (this.cause === undefined) {
      this.cause = cause;
      this.requestedAt = now;
      this.controller.abort();
      return;
    }
    // The parent exiting after a signal is most likely that signal's doing (a shell between npm and this process dies
    // of the Ctrl-C at once): no second request.
    if (cause === 'parent-exited') return;
    if (cause === this.cause && now - this.requestedAt < SAME_REQUEST_MS) return;
    if (this.secondCause !== undefined) process.exit(this.exitCode);
    this.secondCause = cause;
    this.resolveNow();
  }

  private waiting(): boolean {
    const inFlight = this.pipeline?.inFlight();
    return (
      inFlight !== undefined &&
      (inFlight.deliveries > 0 || inFlight.batches.some((batch) => !this.cutUploads.includes(batch.batch)))
    );
  }

  /** One line per batch: a cut upload where it stopped, the others where their execution is. */
  private inFlight(): InFlightLine[] {
    const lines = new Map<string, string>(this.cutUploads.map((batch) => [batch, 'Uploading photos']));
    for (const batch of this.pipeline?.inFlight().batches ?? [])
      if (!lines.has(batch.batch)) lines.set(batch.batch, stageOf(batch));
    return [...lines].map(([batch, stage]) => ({ batch, stage }));
  }

  private giveUp(): void {
    if (this.gaveUp) return;
    const left = this.inFlight();
    this.gaveUp = true;
    this.report.abandoned(left);
  }
}

function stageOf(batch: InFlightBatch): string {
  if (batch.machine === 'waiter') return 'Waiting for the batch to close';
  if (batch.state === undefined) return 'Starting';
  return IN_FLIGHT_STAGES[batch.state] ?? batch.state;
}

interface Reporter {
  onEvent(event: RunEvent): void;
  /** The end of a run, with each notified flight's figures; `stoppedBy` when a stop request cut it short. */
  finish(
    notifications: readonly NotificationV1[],
    flights: number,
    seconds: number,
    figures: readonly FlightFigures[],
    stoppedBy?: StopCause,
  ): void;
  stopping(cause: StopCause, inFlight: readonly InFlightLine[], graceSeconds: number): void;
  stoppingNow(cause: StopCause): void;
  abandoned(batches: readonly InFlightLine[]): void;
}

/**
 * One JSON object per line; per-photo progress is thinned to a line per 5% of a flight. When the run ends, the
 * notifications come last, so that the last line is an outcome; while serving they are printed as they come.
 */
function jsonReporter(write: Write, holdNotifications = true): Reporter {
  const line = (value: object) => write(`${JSON.stringify(value)}\n`);
  const copies = new CopyTally();
  const progress = (batch: string, extra: object = {}) => {
    const { copied, skipped, total } = copies.of(batch);
    line({ event: 'copy-progress', batch, photosCopied: copied, filesSkipped: skipped, filesTotal: total, ...extra });
  };
  return {
    onEvent(event) {
      switch (event.event) {
        case 'ready':
          line({
            event: 'ready',
            s3Endpoint: event.pipeline.s3Endpoint,
            dropBucket: event.pipeline.dropBucket,
            ...(event.pipeline.simulator ? { pix4dApiUrl: event.pipeline.simulator.apiUrl } : {}),
          });
          return;
        case 'dropped':
          line({ event: 'dropped', ...event.flight });
          return;
        case 'execution-started':
          if (event.machine === 'inspection')
            line({ event: 'inspection-started', batch: event.batch, execution: event.name });
          return;
        case 'state': {
          const stage = STAGES[event.state];
          if (event.machine === 'inspection' && stage && event.state !== 'Check processing status')
            line({ event: 'stage', execution: event.execution, state: event.state });
          return;
        }
        case 'copy-started':
          copies.started(event);
          progress(event.batch);
          return;
        case 'photo-copied': {
          // A line per 5% of the batch's photos; its last line comes with copy-ended, skipped photos included.
          const batch = event.batch;
          if (batch === undefined || !copies.copied(batch)) return;
          const { copied, accepted } = copies.photos(batch);
          if (copied < accepted && copied % Math.max(1, Math.floor(accepted / 20)) === 0)
            progress(batch, { lastPhoto: event.relativePath });
          return;
        }
        case 'copy-ended':
          copies.ended(event);
          progress(event.batch);
          return;
        case 'notification':
          if (!holdNotifications) line({ event: 'notification', message: event.message });
          return;
        case 'execution-ended':
          line({
            event: 'execution-ended',
            machine: event.machine,
            execution: event.name,
            status: event.status,
            stateTransitions: event.transitions,
          });
          return;
        default:
          return;
      }
    },
    finish(notifications, flights, seconds, figures, stoppedBy) {
      for (const figure of figures) line({ event: 'flight-figures', ...figure });
      line({
        event: 'finished',
        flights,
        completed: notifications.filter((message) => message.type === 'inspection.completed').length,
        failed: notifications.filter((message) => message.type === 'inspection.failed').length,
        timedOut: notifications.filter((message) => message.type === 'inspection.timed_out').length,
        seconds: Math.round(seconds * 10) / 10,
        ...(stoppedBy ? { stoppedBy } : {}),
      });
      for (const message of notifications) line({ event: 'notification', message });
    },
    stopping(cause, inFlight, graceSeconds) {
      line({ event: 'stopping', cause, inFlight: inFlight.length, graceSeconds });
      for (const batch of inFlight) line({ event: 'in-flight', ...batch });
    },
    stoppingNow(cause) {
      line({ event: 'stopping-now', cause });
    },
    abandoned(batches) {
      for (const batch of batches) line({ event: 'abandoned', ...batch });
    },
  };
}

/** Lines a person reads: a stage per line, a progress bar while copying, then each notification and its link. */
function humanReporter(write: Write, interactive: boolean): Reporter {
  const batches = new Map<string, string>();
  const lastStage = new Map<string, string>();
  const copies = new CopyTally();
  let bar = false;
  let lastQuarter = 0;
  let lastLine = '';
  let simulator: Simulator | undefined;
  const endBar = () => {
    if (bar) write('\n');
    bar = false;
  };
  /** One bar for every batch being copied; without a terminal, a line per quarter and one at the total. */
  const showProgress = () => {
    const counts = copies.all();
    const text = progressBar(counts);
    if (interactive) {
      if (text === lastLine) return;
      write(`\r  ${text}`);
      lastLine = text;
      bar = true;
      return;
    }
    const done = counts.copied + counts.skipped;
    const quarter = counts.total > 0 ? Math.floor((4 * done) / counts.total) : 0;
    if (text !== lastLine && (quarter > lastQuarter || (done === counts.total && done > 0))) {
      write(`  ${text}\n`);
      lastLine = text;
    }
    lastQuarter = quarter;
  };
  return {
    onEvent(event) {
      switch (event.event) {
        case 'ready':
          simulator = event.pipeline.simulator;
          write(
            `Local pipeline ready: embedded S3 ${event.pipeline.s3Endpoint}` +
              (event.pipeline.simulator ? `, Pix4Dinspect simulator ${event.pipeline.simulator.apiUrl}` : '') +
              '\n',
          );
          return;
        case 'dropped':
          write(`Dropped ${event.flight.files} files (${mebibytes(event.flight.bytes)}) into ${event.flight.prefix}\n`);
          return;
        case 'execution-started':
          if (event.machine === 'inspection') batches.set(event.name, event.batch);
          return;
        case 'state': {
          const stage = STAGES[event.state];
          const batch = batches.get(event.execution);
          if (event.machine !== 'inspection' || !stage || !batch || lastStage.get(event.execution) === stage) return;
          lastStage.set(event.execution, stage);
          endBar();
          write(`${batch}  ${stage}\n`);
          return;
        }
        case 'copy-started':
          copies.started(event);
          showProgress();
          return;
        case 'photo-copied':
          if (event.batch !== undefined && copies.copied(event.batch)) showProgress();
          return;
        case 'copy-ended':
          copies.ended(event);
          showProgress();
          return;
        case 'notification':
          endBar();
          write(describeNotification(event.message));
          return;
        default:
          return;
      }
    },
    finish(notifications, flights, seconds, figures, stoppedBy) {
      endBar();
      if (figures.length > 0)
        write(`\nFrom the functions' metrics (what the dashboard shows):\n${figures.map(describeFigures).join('')}`);
      const completed = notifications.filter((message) => message.type === 'inspection.completed').length;
      write(
        `\n${stoppedBy ? `Stopped (${describeCause(stoppedBy)}): ` : ''}${completed} of ${flights} flight(s) completed in ${seconds.toFixed(1)} s.\n`,
      );
      if (simulator) {
        // What the runs left in Pix4Dinspect: one inspection per flight, whatever answers were lost on the way.
        const held = simulator.holdings();
        write(`The simulator holds ${held.inspections.length} inspection(s) of ${held.assets.length} asset(s).\n`);
      }
    },
    stopping(cause, inFlight, graceSeconds) {
      endBar();
      if (inFlight.length === 0) {
        write(`\nStopping (${describeCause(cause)}): nothing in flight.\n`);
        return;
      }
      const again = cause === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
      write(
        `\nStopping (${describeCause(cause)}): no new batches; the ${inFlight.length} in flight get ${graceSeconds} s to finish (${again} stops now):\n` +
          inFlight.map((batch) => `  ${batch.batch}  ${batch.stage}\n`).join(''),
      );
    },
    stoppingNow(cause) {
      endBar();
      write(`Stopping now (${describeCause(cause)}).\n`);
    },
    abandoned(batches) {
      endBar();
      for (const batch of batches) write(`abandoned: ${batch.batch} at ${batch.stage}\n`);
    },
  };
}

function describeCause(cause: StopCause): string {
  return cause === 'parent-exited' ? 'the parent process exited' : cause;
}

/** One flight's figures on two lines: where its time went, and what its copy and Pix4Dinspect calls did. */
function describeFigures(figures: FlightFigures): string {
  const seconds = (value: number | null) => (value === null ? 'not reached' : `${value.toFixed(1)} s`);
  const { closeToProcessing, processing, closeToNotification } = figures.seconds;
  const throughput = figures.chunkThroughput;
  const copy = throughput
    ? `${figures.photosCopied} photos, ${byteSize(figures.bytesCopied)} copied at ${byteSize(throughput.meanBytesPerSecond)}/s per chunk (${throughput.chunks} chunk${throughput.chunks === 1 ? '' : 's'})`
    : 'nothing copied';
  const { calls, retries, failedCalls } = figures.pix4d;
  return (
    `  ${figures.batch}: close -> processing ${seconds(closeToProcessing)}, processing ${seconds(processing)}, close -> notification ${seconds(closeToNotification)}\n` +
    `    ${copy}; ${calls} Pix4Dinspect requests, ${retries} sent again, ${failedCalls} failed; ${figures.s3CredentialRefreshes} S3 credential refreshes\n`
  );
}

function describeNotification(message: NotificationV1): string {
  const mark = message.type === 'inspection.completed' ? 'OK' : 'FAILED';
  const lines = [`\n[${mark}] ${message.type}  ${message.batch.prefix}`, JSON.stringify(message, null, 2)];
  if (message.inspection?.url) lines.push(`Inspection ${message.inspection.id}: ${message.inspection.url}`);
  return `${lines.join('\n')}\n`;
}

interface CopyCounts {
  readonly copied: number;
  readonly skipped: number;
  /** Files found in the batch: every one ends copied or skipped. */
  readonly total: number;
}

/**
 * What the copies of the batches have done, from the pipeline's own counts: a batch's files as Prepare found them
 * (those it skipped already counted as done), each photo as it is copied, and the copy's final counts once it ends,
 * which include the photos the copy itself skipped: copied + skipped then equals the batch's files.
 */
class CopyTally {
  private readonly batches = new Map<
    string,
    {
      found: number;
      accepted: number;
      skippedBefore: number;
      copied: number;
      ended?: { copied: number; skipped: number };
    }
  >();

  started(event: { batch: string; found: number; accepted: number; skipped: number }): void {
    this.batches.set(event.batch, {
      found: event.found,
      accepted: event.accepted,
      skippedBefore: event.skipped,
      copied: 0,
    });
  }

  /** Counts a photo of the batch; false when it changes nothing (an unknown batch, a copy already counted in full). */
  copied(batch: string): boolean {
    const copy = this.batches.get(batch);
    if (!copy || copy.ended || copy.copied >= copy.accepted) return false;
    copy.copied += 1;
    return true;
  }

  ended(event: { batch: string; copied: number; skipped: number }): void {
    const copy = this.batches.get(event.batch);
    if (copy) copy.ended = { copied: event.copied, skipped: event.skipped };
  }

  photos(batch: string): { copied: number; accepted: number } {
    const copy = this.batches.get(batch);
    return { copied: copy?.copied ?? 0, accepted: copy?.accepted ?? 0 };
  }

  of(batch: string): CopyCounts {
    const copy = this.batches.get(batch);
    if (!copy) return { copied: 0, skipped: 0, total: 0 };
    if (copy.ended)
      return { copied: copy.ended.copied, skipped: copy.skippedBefore + copy.ended.skipped, total: copy.found };
    return { copied: copy.copied, skipped: copy.skippedBefore, total: copy.found };
  }

  all(): CopyCounts {
    const counts = [...this.batches.keys()].map((batch) => this.of(batch));
    const sum = (field: keyof CopyCounts) => counts.reduce((total, count) => total + count[field], 0);
    return { copied: sum('copied'), skipped: sum('skipped'), total: sum('total') };
  }
}

function progressBar({ copied, skipped, total }: CopyCounts): string {
  const width = 30;
  const done = copied + skipped;
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  const photos = `${copied} photo${copied === 1 ? '' : 's'} copied`;
  const counts =
    skipped === 0 ? `${copied}/${total} photos copied` : `${done}/${total} files: ${photos}, ${skipped} skipped`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${counts}`;
}

/** KiB below a mebibyte, so that a small flight's figures are not 0.0 MiB. */
function byteSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : mebibytes(bytes);
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
