import type { S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import type { S3rverEvent } from 's3rver';
import { createHandler as createCheckBatch } from '../../functions/check-batch/handler';
import { createHandler as createCheckStatus } from '../../functions/check-status/handler';
import { createHandler as createCopy } from '../../functions/copy/handler';
import { createHandler as createIngest } from '../../functions/ingest/handler';
import { createHandler as createNotify } from '../../functions/notify/handler';
import { createHandler as createPrepare } from '../../functions/prepare/handler';
import { createHandler as createRegister } from '../../functions/register/handler';
import { createHandler as createStartProcessing } from '../../functions/start-processing/handler';
import { stepLogger } from '../../functions/shared/step-runtime';
import type { NotificationV1 } from '../../src/notify/notification';
import { Pix4dAccount, Pix4dInspectClient } from '../../src/pix4d/client';
import { DEFAULT_PIPELINE_CONFIG, PipelineConfig } from '../../src/workflow/pipeline-config';
import type { StepDependencies } from '../../src/workflow/step-dependencies';
import { EmbeddedS3, startEmbeddedS3 } from '../s3/embedded-s3';
import type { SimulatorAccount } from '../simulator/api-server';
import type { SimulatorSettings } from '../simulator/settings';
import { Simulator, startSimulator } from '../simulator/simulator';
import { LocalExecution, LocalStepFunctions } from './local-step-functions';
import { synthesizeStateMachines } from './synthesized-state-machines';
import { lambdaContext } from './lambda-context';

export const LOCAL_DROP_BUCKET = 'inspect-drop';
export const LOCAL_WORK_BUCKET = 'inspect-work';

/** A Pix4Dinspect other than the embedded simulator (a standalone simulator, or the real service). */
export interface ExternalPix4d {
  readonly apiUrl: string;
  readonly authUrl?: string;
  readonly account: Pix4dAccount;
  /** S3 endpoint of its bucket when it is not AWS S3. */
  readonly s3Endpoint?: string;
}

export interface LocalPipelineOptions {
  /** @default a Pix4Dinspect simulator on the same embedded S3 server */
  readonly pix4d?: ExternalPix4d;
  readonly simulatorSettings?: Partial<SimulatorSettings>;
  readonly simulatorAccount?: Partial<SimulatorAccount>;
  /** 0 waits for manifest.json. @default 2 */
  readonly quietPeriodSeconds?: number;
  /** Processing deadline. @default 48 hours */
  readonly deadlineSeconds?: number;
  /** Each S3 event is delivered this many times, as S3 may. @default 1 */
  readonly duplicateEvents?: number;
  /** Length of every Wait state. @default 100 ms */
  readonly waitMs?: number;
  /** Port of the embedded S3 server. @default 0 (any free port) */
  readonly s3Port?: number;
  /**
   * The clock of the workflow steps and of the simulator's processing. A run can simulate hours in seconds by
   * advancing it by each Wait state's duration (`advanceClockOnWait`). @default Date.now
   */
  readonly clock?: () => number;
  /** Called when a Wait state starts, with its input, so that a simulated clock can jump ahead. */
  readonly onWait?: (state: string, input: unknown) => void;
  readonly config?: Partial<Omit<PipelineConfig, 'workBucket'>>;
  readonly onEvent?: (event: LocalPipelineEvent) => void;
}

export type LocalPipelineEvent =
  | { readonly event: 'object'; readonly key: string }
  | { readonly event: 'execution-started'; readonly machine: string; readonly name: string; readonly batch: string }
  | { readonly event: 'state'; readonly machine: string; readonly execution: string; readonly state: string }
  | { readonly event: 'execution-ended'; readonly machine: string; readonly name: string; readonly status: string; readonly transitions: number }
  | { readonly event: 'photo-copied'; readonly relativePath: string; readonly bytes: number }
  | { readonly event: 'notification'; readonly message: NotificationV1 };

export interface LocalPipeline {
  readonly s3Endpoint: string;
  readonly dropBucket: string;
  readonly workBucket: string;
  readonly embeddedS3: EmbeddedS3;
  /** Undefined with an external Pix4Dinspect. */
  readonly simulator: Simulator | undefined;
  /** A client of the embedded S3 server, to drop photos with. */
  readonly s3: S3Client;
  readonly notifications: readonly NotificationV1[];
  readonly executions: readonly LocalExecution[];
  /** S3 notifications the ingest handler failed on five times (the DLQ). */
  readonly deadLetters: readonly unknown[];
  /** Resolves once every S3 event has been ingested and every execution has ended. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

const MAX_RECEIVES = 5;

/**
 * The whole pipeline on one machine: embedded S3 (drop, work and Inspect buckets), the Pix4Dinspect simulator,
 * S3 events of the drop bucket URL-encoded as S3 sends them and fed through the real ingest handler, the state
 * machines of the synthesized stack run locally with the real step handlers, notifications collected.
 */
export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const machines = synthesizeStateMachines();
  const embeddedS3 = await startEmbeddedS3({ buckets: [LOCAL_DROP_BUCKET, LOCAL_WORK_BUCKET], ...(options.s3Port ? { port: options.s3Port } : {}) });
  const simulator = options.pix4d
    ? undefined
    : await startSimulator({
        embeddedS3,
        ...(options.simulatorAccount ? { account: options.simulatorAccount } : {}),
        ...(options.simulatorSettings ? { settings: options.simulatorSettings } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
  const pix4d: ExternalPix4d = options.pix4d ?? {
    apiUrl: simulator!.apiUrl,
    authUrl: simulator!.apiUrl,
    account: simulator!.account,
    s3Endpoint: simulator!.s3Endpoint,
  };
  const emit = options.onEvent ?? (() => undefined);
  const notifications: NotificationV1[] = [];
  const s3 = embeddedS3.client();
  const client = new Pix4dInspectClient({
    account: pix4d.account,
    apiUrl: pix4d.apiUrl,
    ...(pix4d.authUrl ? { authUrl: pix4d.authUrl } : {}),
    logger: stepLogger,
  });
  const config: PipelineConfig = {
    ...DEFAULT_PIPELINE_CONFIG,
    workBucket: LOCAL_WORK_BUCKET,
    deadlineHours: (options.deadlineSeconds ?? 48 * 3600) / 3600,
    ...options.config,
    copy: {
      ...options.config?.copy,
      onObjectCopied: (copied) => emit({ event: 'photo-copied', ...copied }),
    },
  };
  const deps: StepDependencies = {
    s3,
    pix4d: async () => client,
    publisher: {
      publish: async (built) => {
        notifications.push(built.message);
        emit({ event: 'notification', message: built.message });
      },
    },
    config,
    ...(pix4d.s3Endpoint ? { destinationEndpoint: pix4d.s3Endpoint } : {}),
    secrets: () => [pix4d.account.password, pix4d.account.apiKey],
    logger: stepLogger,
    metrics: { count: () => undefined },
    now: () => new Date((options.clock ?? Date.now)()),
  };
  const stepDeps = () => deps;
  const invoker = (handler: { (event: never, context: Context): Promise<unknown> }) => (event: unknown, context: Context) =>
    handler(event as never, context);

  const stepFunctions = new LocalStepFunctions({
    machines,
    steps: {
      prepare: invoker(createPrepare(stepDeps)),
      copy: invoker(createCopy(stepDeps)),
      register: invoker(createRegister(stepDeps)),
      'start-processing': invoker(createStartProcessing(stepDeps)),
      'check-status': invoker(createCheckStatus(stepDeps)),
      notify: invoker(createNotify(stepDeps)),
      'check-batch': invoker(createCheckBatch(() => ({ s3, workBucket: LOCAL_WORK_BUCKET, now: deps.now }))),
    },
    waitMs: options.waitMs ?? 100,
    onStateEntered: (execution, state, input) => {
      if (machines[execution.machine].waits.includes(state)) options.onWait?.(state, input);
      emit({ event: 'state', machine: execution.machine, execution: execution.name, state });
    },
    onExecutionEnded: (execution) =>
      emit({ event: 'execution-ended', machine: execution.machine, name: execution.name, status: execution.status, transitions: execution.transitions }),
  });
  const starter = {
    start: async (machine: 'inspection' | 'waiter', name: string, input: object) => {
      const result = await stepFunctions.start(machine, name, input);
      if (result === 'started') emit({ event: 'execution-started', machine, name, batch: (input as { batch: { prefix: string } }).batch.prefix });
      return result;
    },
  };
  const ingest = createIngest(() => ({
    rules: { batchDepth: 2, quietPeriodSeconds: options.quietPeriodSeconds ?? 2 },
    starter,
  }));

  const pending = new Set<Promise<void>>();
  const deadLetters: unknown[] = [];
  let messageNumber = 0;
  const deliver = async (body: string) => {
    for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
      const event: SQSEvent = { Records: [sqsRecord(`m-${++messageNumber}`, body, receive)] };
      const answer = await ingest(event, lambdaContext('inspect-pipeline-ingest', `ingest-${messageNumber}`, 256, 60_000));
      if (answer.batchItemFailures.length === 0) return;
    }
    deadLetters.push(JSON.parse(body));
  };
  embeddedS3.onObjectEvent((event) => {
    const record = event.Records[0];
    if (!record || record.s3.bucket.name !== LOCAL_DROP_BUCKET) return;
    emit({ event: 'object', key: record.s3.object.key });
    const body = JSON.stringify(asS3Notification(event));
    for (let copy = 0; copy < (options.duplicateEvents ?? 1); copy++) {
      const delivery = deliver(body).finally(() => pending.delete(delivery));
      pending.add(delivery);
    }
  });

  return {
    s3Endpoint: embeddedS3.endpoint,
    dropBucket: LOCAL_DROP_BUCKET,
    workBucket: LOCAL_WORK_BUCKET,
    embeddedS3,
    simulator,
    s3,
    notifications,
    executions: stepFunctions.executions,
    deadLetters,
    settle: async () => {
      while (pending.size > 0 || stepFunctions.executions.some((execution) => execution.status === 'running')) {
        await Promise.all(pending);
        await stepFunctions.idle();
      }
    },
    close: async () => {
      if (simulator) await simulator.close();
      await embeddedS3.close();
    },
  };
}

/** s3rver's event with the key URL-encoded the way S3 sends it (`+` for space, slashes kept). */
function asS3Notification(event: S3rverEvent) {
  return {
    Records: event.Records.map((record) => ({
      ...record,
      eventName: record.eventName.startsWith('ObjectCreated') ? record.eventName : `ObjectCreated:${record.eventName}`,
      s3: { ...record.s3, object: { ...record.s3.object, key: encodeEventKey(record.s3.object.key) } },
    })),
  };
}

export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

function sqsRecord(messageId: string, body: string, receiveCount: number): SQSEvent['Records'][number] {
  return {
    messageId,
    receiptHandle: messageId,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 's3',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:inspect-ingest',
    awsRegion: 'us-east-1',
  };
}
