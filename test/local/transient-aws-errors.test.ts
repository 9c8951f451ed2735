import { describe, expect, it } from 'vitest';
import type { AwsCall, AwsFaultKind } from '../../local/aws/aws-faults';
import type { LocalPipeline } from '../../local/pipeline/local-pipeline';
import type { NotificationV1 } from '../../src/notify/notification';
import { sha256 } from '../helpers/bucket-contents';
import { dropFlight, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * One transient AWS failure (a 5xx answer, throttling, a timeout), once the SDK's own retries are spent, at each
 * call the functions make (S3 get, put, list, head; SNS publish; Secrets Manager read): every run still ends with
 * its true notification, one inspection and one processing start per flight.
 */

const KINDS: readonly AwsFaultKind[] = ['server-error', 'throttling', 'timeout'];

const start = localPipelinesPerTest({ quietPeriodSeconds: 0, simulatorSettings: { processingSeconds: 0.3 } });

/** A flight closed by its manifest, or (without one) by the batch waiter after the quiet period. */
interface Flight {
  readonly prefix: string;
  readonly manifest: boolean;
}

async function drop(pipeline: LocalPipeline, flights: readonly Flight[]): Promise<void> {
  await Promise.all(
    flights.map((flight) =>
      dropFlight(
        pipeline.s3,
        pipeline.dropBucket,
        flight.prefix,
        photos(2),
        flight.manifest ? { inspection: { name: 'Faulty day' } } : undefined,
      ),
    ),
  );
  await pipeline.settle();
}

/**
 * Which flight a call works for, from what it names: a key or prefix under the flight's folder, a run's files or
 * batch record (the execution's name), the asset's registry record, or the published message's batch.
 */
function flightOf(pipeline: LocalPipeline, flights: readonly Flight[], call: AwsCall): Flight | undefined {
  const named = [call.input.Key, call.input.Prefix, call.input.Message]
    .filter((value): value is string => typeof value === 'string')
    .join(' ');
  const byPrefix = flights.find((flight) => named.includes(flight.prefix) || named.includes(registryKeyOf(flight)));
  if (byPrefix) return byPrefix;
  const execution = pipeline.executions.find(
    (candidate) => named.includes(`runs/${candidate.name}/`) || named.includes(`batches/${candidate.name}.json`),
  );
  const prefix = (execution?.input as { batch?: { prefix?: string } } | undefined)?.batch?.prefix;
  return flights.find((flight) => flight.prefix === prefix);
}

/** The asset registry's record of the flight's asset (its folder name, hashed). */
const registryKeyOf = (flight: Flight) => `asset-registry/${sha256(flight.prefix.split('/')[0]!)}.json`;

/** A call site: who calls what on which kind of object, with the flight's own names taken out. */
function siteOf(call: AwsCall, flight: Flight, pipeline: LocalPipeline): string {
  let target = String(call.input.Key ?? call.input.Prefix ?? '');
  target = target.replace(flight.prefix, '<flight>/').replace(/<flight>\/DCIM\/[^/]+$/, '<flight>/<photo>');
  target = target.replace(registryKeyOf(flight), 'asset-registry/<asset>.json');
  for (const execution of pipeline.executions) target = target.replace(execution.name, '<run>');
  const bucket =
    call.input.Bucket === pipeline.dropBucket ? 'drop' : call.input.Bucket === pipeline.workBucket ? 'work' : '';
  return `${call.caller}: ${call.client.replace(/Client$/, '')} ${call.operation} ${bucket} ${target}`.trim();
}

/** Sites every run has: the prepared run, a chunk's copy record, the batch records, the message. */
const SITES_OF_EVERY_RUN = [
  'prepare: S3 ListObjectsV2 drop <flight>/',
  'prepare: S3 PutObject work runs/<run>/prepared.json',
  'prepare: S3 PutObject work batches/<run>.json',
  'prepare: S3 GetObject work asset-registry/<asset>.json',
  'prepare: S3 PutObject work asset-registry/<asset>.json',
  'copy: S3 GetObject drop <flight>/<photo>',
  'copy: S3 PutObject work runs/<run>/copy-0.json',
  'register: S3 PutObject work batches/<run>.json',
  'start-processing: S3 PutObject work batches/<run>.json',
  'notify: SNS Publish',
  'notify: S3 PutObject work runs/<run>/notified.json',
];
const SITES_OF_MANIFEST_RUNS = ['prepare: S3 GetObject drop <flight>/manifest.json'];
const SITES_OF_WAITER_RUNS = [
  'check-batch: S3 ListObjectsV2 drop <flight>/',
  'check-batch: S3 PutObject work batches/<run>.json',
];

function completed(pipeline: LocalPipeline, flight: Flight): NotificationV1[] {
  return pipeline.notifications.filter((message) => message.batch.prefix === flight.prefix);
}

describe('transient AWS errors', () => {
  it.each([
    ['closed by manifest', true, 0],
    ['closed by the quiet period', false, 1],
  ] as const)(
    'never fail a run %s: one failure at each call of each function (5xx, throttling, timeout in turn; all three at Publish), after the SDK retries',
    async (_closed, manifest, quietPeriodSeconds) => {
      // Prepare: a clean run lists every call site of a flight (the secret is read once per function: see below).
      const sites: string[] = [];
      const clean: Flight = { prefix: 'site/flight-1/', manifest };
      const discovery = await start({
        quietPeriodSeconds,
        awsFaults: (call) => {
          const site =
            call.client === 'SecretsManagerClient'
              ? undefined
              : flightOf(discovery, [clean], call) && siteOf(call, clean, discovery);
          if (site && !sites.includes(site)) sites.push(site);
          return undefined;
        },
      });
      await drop(discovery, [clean]);
      expect(discovery.notifications.map((message) => message.type)).toEqual(['inspection.completed']);

      // One flight per site, whose first call at that site fails; the kinds take turns (all three at SNS Publish).
      const planned = sites.flatMap((site, index) =>
        (site === 'notify: SNS Publish' ? KINDS : [KINDS[index % KINDS.length]!]).map((kind) => ({
          site,
          kind,
          flight: { prefix: `f${index}-${kind}/flight-1/`, manifest } satisfies Flight,
        })),
      );
      const flights = planned.map(({ flight }) => flight);
      const fired = new Set<string>();
      const faulty = await start({
        quietPeriodSeconds,
        awsFaults: (call) => {
          if (call.client === 'SecretsManagerClient') return undefined;
          const flight = flightOf(faulty, flights, call);
          const plan = flight && planned.find((candidate) => candidate.flight === flight);
          if (!plan || fired.has(plan.flight.prefix) || siteOf(call, flight, faulty) !== plan.site) return undefined;
          fired.add(plan.flight.prefix);
          return plan.kind;
        },
      });

      // Act
      await drop(faulty, flights);

      // Assess: every planned failure happened, and every flight completed once, with one inspection and one start.
      expect(sites).toEqual(
        expect.arrayContaining(
          manifest
            ? SITES_OF_EVERY_RUN.concat(SITES_OF_MANIFEST_RUNS)
            : SITES_OF_EVERY_RUN.concat(SITES_OF_WAITER_RUNS),
        ),
      );
      expect(
        planned.filter((plan) => !fired.has(plan.flight.prefix)).map(({ site, kind }) => `${site} (${kind})`),
      ).toEqual([]);
      const outcomes = flights.map((flight) => [
        flight.prefix,
        completed(faulty, flight).map((message) => message.type),
      ]);
      expect(outcomes).toEqual(flights.map((flight) => [flight.prefix, ['inspection.completed']]));
      const { inspections, assets } = faulty.simulator!.holdings();
      expect(assets).toHaveLength(flights.length);
      expect(inspections).toHaveLength(flights.length);
      expect(inspections.filter((inspection) => !inspection.processingStarted)).toEqual([]);
      const starts = faulty.simulator!.requests.filter(
        (request) => request.method === 'POST' && /\/process\/?$/.test(request.path) && request.status < 300,
      );
      expect(starts).toHaveLength(flights.length);
    },
    300_000,
  );

  it.each(KINDS)(
    'never fail a run: the first Secrets Manager read of every function fails (%s) after the SDK retries',
    async (kind) => {
      // Prepare: each function reads the secret once and keeps it; that read fails once.
      const failedFor = new Set<string>();
      const local = await start({
        awsFaults: (call) => {
          if (call.client !== 'SecretsManagerClient' || failedFor.has(call.caller)) return undefined;
          failedFor.add(call.caller);
          return kind;
        },
      });

      // Act
      await drop(local, [{ prefix: `secret-${kind}/flight-1/`, manifest: true }]);

      // Assess
      expect([...failedFor].sort()).toEqual(['check-status', 'copy', 'prepare', 'register', 'start-processing']);
      expect(local.notifications.map((message) => message.type)).toEqual(['inspection.completed']);
      expect(local.simulator!.holdings().inspections).toHaveLength(1);
    },
    120_000,
  );
});
