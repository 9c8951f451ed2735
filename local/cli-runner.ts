import type { CliOptions } from './cli';
import { EMBEDDED_S3_ACCESS_KEY, EMBEDDED_S3_REGION } from './s3/embedded-s3';
import { DroppedFlight, runLocalFlights } from './local-run';
import { LocalPipeline, LocalPipelineEvent, startLocalPipeline } from './pipeline/local-pipeline';
import type { NotificationV1 } from '../src/notify/notification';
import type { Simulator } from './simulator/simulator';

type Write = (text: string) => boolean;
type RunEvent = LocalPipelineEvent | { event: 'ready'; pipeline: LocalPipeline } | { event: 'dropped'; flight: DroppedFlight };

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

export async function runCli(options: CliOptions, write: Write): Promise<number> {
  return options.serve ? serve(options, write) : runOnce(options, write);
}

async function runOnce(options: CliOptions, write: Write): Promise<number> {
  const started = Date.now();
  const report = options.json ? jsonReporter(write) : humanReporter(write, process.stdout.isTTY === true && process.stderr.isTTY === true);
  const result = await runLocalFlights(options.run, report.onEvent);
  if (result.refused.length > 0) {
    // On AWS these calls would fail the same way: the role in lib/ lacks a grant. (Before the outcomes, which come last.)
    if (options.json) write(`${JSON.stringify({ event: 'iam-refused', calls: result.refused })}\n`);
    else write(`\nIAM refused ${result.refused.length} call(s) that the synthesized roles do not allow:\n${result.refused.map((call) => `  ${call.caller}: ${call.action} on ${call.resource}`).join('\n')}\n`);
  }
  report.finish(result.notifications, result.flights.length, (Date.now() - started) / 1000);
  return result.succeeded && result.refused.length === 0 ? 0 : 1;
}

async function serve(options: CliOptions, write: Write): Promise<number> {
  const report = options.json ? jsonReporter(write, false) : humanReporter(write, false);
  const pipeline = await startLocalPipeline({ ...options.run.pipeline, quietPeriodSeconds: options.run.pipeline.quietPeriodSeconds || 0, onEvent: report.onEvent });
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
  if (options.json) write(`${JSON.stringify(endpoint)}\n`);
  else {
    write(
      [
        'inspect-pipeline is serving locally (stop with Ctrl-C)',
        `  S3 endpoint   ${endpoint.s3Endpoint}   region ${endpoint.region}`,
        `  Drop bucket   ${endpoint.dropBucket}   (work bucket ${endpoint.workBucket})`,
        `  Access keys   ${endpoint.accessKeyId} / ${endpoint.secretAccessKey}`,
        '',
        'Drop a flight, for example:',
        `  AWS_ACCESS_KEY_ID=${endpoint.accessKeyId} AWS_SECRET_ACCESS_KEY=${endpoint.secretAccessKey} \\`,
        `    aws s3 cp ./photos/ s3://${endpoint.dropBucket}/tower-001/flight-1/ --recursive --endpoint-url ${endpoint.s3Endpoint} --region ${endpoint.region}`,
        '',
      ].join('\n'),
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await pipeline.settle();
  await pipeline.close();
  const failed = pipeline.notifications.some((message) => message.type !== 'inspection.completed');
  if (options.json) write(`${JSON.stringify({ event: 'stopped', notifications: pipeline.notifications.length })}\n`);
  else write(`Stopped after ${pipeline.notifications.length} notification(s).\n`);
  return failed ? 1 : 0;
}

interface Reporter {
  onEvent(event: RunEvent): void;
  finish(notifications: readonly NotificationV1[], flights: number, seconds: number): void;
}

/**
 * One JSON object per line; per-photo progress is thinned to a line per 5% of a flight. When the run ends, the
 * notifications come last, so that the last line is an outcome; while serving they are printed as they come.
 */
function jsonReporter(write: Write, holdNotifications = true): Reporter {
  const line = (value: object) => write(`${JSON.stringify(value)}\n`);
  const copied = new Map<string, number>();
  let total = 0;
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
          total = Math.max(total, event.flight.files);
          line({ event: 'dropped', ...event.flight });
          return;
        case 'execution-started':
          if (event.machine === 'inspection') line({ event: 'inspection-started', batch: event.batch, execution: event.name });
          return;
        case 'state': {
          const stage = STAGES[event.state];
          if (event.machine === 'inspection' && stage && event.state !== 'Check processing status') line({ event: 'stage', execution: event.execution, state: event.state });
          return;
        }
        case 'photo-copied': {
          const batch = event.relativePath;
          const count = (copied.get('all') ?? 0) + 1;
          copied.set('all', count);
          const step = Math.max(1, Math.floor(total / 20));
          if (count % step === 0) line({ event: 'copy-progress', photosCopied: count, lastPhoto: batch });
          return;
        }
        case 'notification':
          if (!holdNotifications) line({ event: 'notification', message: event.message });
          return;
        case 'execution-ended':
          line({ event: 'execution-ended', machine: event.machine, execution: event.name, status: event.status, stateTransitions: event.transitions });
          return;
        default:
          return;
      }
    },
    finish(notifications, flights, seconds) {
      line({
        event: 'finished',
        flights,
        completed: notifications.filter((message) => message.type === 'inspection.completed').length,
        failed: notifications.filter((message) => message.type === 'inspection.failed').length,
        timedOut: notifications.filter((message) => message.type === 'inspection.timed_out').length,
        seconds: Math.round(seconds * 10) / 10,
      });
      for (const message of notifications) line({ event: 'notification', message });
    },
  };
}

/** Lines a person reads: a stage per line, a progress bar while copying, then each notification and its link. */
function humanReporter(write: Write, interactive: boolean): Reporter {
  const batches = new Map<string, string>();
  const lastStage = new Map<string, string>();
  let photosTotal = 0;
  let photosCopied = 0;
  let bar = false;
  let simulator: Simulator | undefined;
  const endBar = () => {
    if (bar) write('\n');
    bar = false;
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
          photosTotal += event.flight.files;
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
        case 'photo-copied':
          photosCopied += 1;
          if (interactive) {
            write(`\r  ${progressBar(photosCopied, photosTotal)}`);
            bar = true;
          } else if (photosCopied === photosTotal || photosCopied % Math.max(1, Math.ceil(photosTotal / 4)) === 0) {
            write(`  ${progressBar(photosCopied, photosTotal)}\n`);
          }
          return;
        case 'notification':
          endBar();
          write(describeNotification(event.message));
          return;
        default:
          return;
      }
    },
    finish(notifications, flights, seconds) {
      endBar();
      const completed = notifications.filter((message) => message.type === 'inspection.completed').length;
      write(`\n${completed} of ${flights} flight(s) completed in ${seconds.toFixed(1)} s.\n`);
      if (simulator) {
        // What the runs left in Pix4Dinspect: one inspection per flight, whatever answers were lost on the way.
        const held = simulator.holdings();
        write(`The simulator holds ${held.inspections.length} inspection(s) of ${held.assets.length} asset(s).\n`);
      }
    },
  };
}

function describeNotification(message: NotificationV1): string {
  const mark = message.type === 'inspection.completed' ? 'OK' : 'FAILED';
  const lines = [`\n[${mark}] ${message.type}  ${message.batch.prefix}`, JSON.stringify(message, null, 2)];
  if (message.inspection?.url) lines.push(`Inspection ${message.inspection.id}: ${message.inspection.url}`);
  return `${lines.join('\n')}\n`;
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} photos copied`;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
