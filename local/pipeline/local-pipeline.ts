import { AsyncLocalStorage } from 'node:async_hooks';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { S3rverEvent } from 's3rver';
import { createHandler as createCheckBatch, checkBatchDependenciesFromEnv } from '../../functions/check-batch/handler';
import { createHandler as createCheckStatus } from '../../functions/check-status/handler';
import { createHandler as createCopy } from '../../functions/copy/handler';
import { createHandler as createIngest, ingestDependenciesFromEnv } from '../../functions/ingest/handler';
import { createHandler as createNotify } from '../../functions/notify/handler';
import { createHandler as createPrepare } from '../../functions/prepare/handler';
import { createHandler as createRegister } from '../../functions/register/handler';
import { createHandler as createStartProcessing } from '../../functions/start-processing/handler';
import { InvocationDependencies, once, StepClients, stepRuntimeFromEnv } from '../../functions/shared/step-runtime';
import type { PipelineStep } from '../../lib/pipeline-functions';
import type { NotificationV1 } from '../../src/notify/notification';
import type { Pix4dAccount } from '../../src/pix4d/client';
import { scaledTimers } from '../../src/timers';
import type { PipelineConfig } from '../../src/workflow/pipeline-config';
import type { CopyChunkInput, CopyChunkResult, PreparedInspection } from '../../src/workflow/workflow-state';
import { AwsFaultPlan, withAwsFaults } from '../aws/aws-faults';
import { LocalAwsServices } from '../aws/local-aws-services';
import { IamAuthorizer } from '../iam/iam-authorizer';
import { recordGrantUsage } from '../iam/grant-usage';
import { holdToRole } from '../iam/sdk-identity';
import { EmbeddedS3, startEmbeddedS3 } from '../s3/embedded-s3';
import type { SimulatorAccount } from '../simulator/api-server';
import type { SimulatorSettings } from '../simulator/settings';
import { Simulator, startSimulator } from '../simulator/simulator';
import { LambdaHandler, LocalLambda } from './local-lambda';
import { MetricLog } from './metric-log';
import { recordMetricUsage } from './metric-usage';
import { LocalExecution, LocalStepFunctions } from './local-step-functions';
import { LOCAL_ACCOUNT, LOCAL_BUCKETS, LocalFunction, SynthesizedStack, synthesizeStack } from './synthesized-stack';

export const LOCAL_DROP_BUCKET = LOCAL_BUCKETS.drop;
export const LOCAL_WORK_BUCKET = LOCAL_BUCKETS.work;

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
   * Hold every function's AWS calls, and each state machine's, to its role in the synthesized template, as IAM does.
   * @default true
   */
  readonly iamCheck?: boolean;
  /**
   * How many times faster than the wall clock the functions' time runs: Lambda timeouts and remaining time, the
   * Pix4D client's timeouts and waits, the simulator's faults (60: a function's minute takes a second). Limits keep
   * their proportions, so minutes of a stalled Pix4Dinspect take seconds. @default 1
   */
  readonly timeScale?: number;
  /**
   * The clock of the workflow steps and of the simulator's processing. A run can simulate hours in seconds by
   * advancing it by each Wait state's duration (see `onWait`). @default the functions' clock
   */
  readonly clock?: () => number;
  /** Called when a Wait state starts, with its input, so that a simulated clock can jump ahead. */
  readonly onWait?: (state: string, input: unknown) => void;
  /**
   * Which Lambda task answers to lose after the function ran (`Lambda.ServiceException`), to exercise the Retry of
   * a step that took effect. @default none
   */
  readonly loseTaskResult?: (execution: LocalExecution, state: string) => boolean;
  /**
   * Which of the functions' AWS SDK calls fail (5xx, throttling, timeout) on every attempt, so that the error
   * reaches the step as on AWS once the SDK's own retries are spent. @default none
   */
  readonly awsFaults?: AwsFaultPlan;
  /** Which Lambda task invocations are throttled (`Lambda.TooManyRequestsException`). @default none */
  readonly throttleTask?: (execution: LocalExecution, state: string, attempt: number) => boolean;
  readonly config?: Partial<Omit<PipelineConfig, 'workBucket'>>;
  readonly onEvent?: (event: LocalPipelineEvent) => void;
  /** The stack to run. @default the app's, synthesized with cdk.json's context */
  readonly stack?: SynthesizedStack;
}

export type LocalPipelineEvent =
  | { readonly event: 'object'; readonly key: string }
  | { readonly event: 'execution-started'; readonly machine: string; readonly name: string; readonly batch: string }
  | { readonly event: 'state'; readonly machine: string; readonly execution: string; readonly state: string }
  | { readonly event: 'execution-ended'; readonly machine: string; readonly name: string; readonly status: string; readonly transitions: number }
  /** The copy of a batch begins: its files, those it will copy, those it skipped already (not photos, say). */
  | { readonly event: 'copy-started'; readonly execution: string; readonly batch: string; readonly found: number; readonly accepted: number; readonly skipped: number }
  /** `batch`: the batch folder of the copy that copied it. */
  | { readonly event: 'photo-copied'; readonly relativePath: string; readonly bytes: number; readonly batch?: string }
  /** Every chunk of a batch copied: the photos copied, and those the copy skipped (on top of `copy-started`'s). */
  | { readonly event: 'copy-ended'; readonly execution: string; readonly batch: string; readonly copied: number; readonly skipped: number }
  | { readonly event: 'function-error'; readonly step: PipelineStep; readonly errorType: string; readonly message: string }
  | { readonly event: 'notification'; readonly message: NotificationV1 };

/** A batch with an execution still running, and the state that execution entered last (none yet: undefined). */
export interface InFlightBatch {
  readonly batch: string;
  readonly machine: 'inspection' | 'waiter';
  readonly state: string | undefined;
}

export interface InFlight {
  /** One per batch folder; its inspection when it has one, else its waiter. */
  readonly batches: readonly InFlightBatch[];
  /** S3 events still on their way to the ingest function. */
  readonly deliveries: number;
}

export interface DeadLetter {
  readonly notification: unknown;
  readonly reason: string;
}

export interface LocalPipeline {
  readonly s3Endpoint: string;
  readonly dropBucket: string;
  readonly workBucket: string;
  readonly embeddedS3: EmbeddedS3;
  /** Undefined with an external Pix4Dinspect. */
  readonly simulator: Simulator | undefined;
  /** A client of the embedded S3 server, to drop photos with (the uploader's own, not held to any role). */
  readonly s3: S3Client;
  readonly notifications: readonly NotificationV1[];
  readonly executions: readonly LocalExecution[];
  /** S3 notifications the ingest function failed on five times (the DLQ), or that could not reach it, and why. */
  readonly deadLetters: readonly DeadLetter[];
  /** Every grant of the template, and which of them this run used (undefined without the IAM check). */
  readonly iam: IamAuthorizer | undefined;
  /** The metrics the functions emitted, read from their EMF lines as CloudWatch reads them. */
  readonly metrics: MetricLog;
  /** The synthesized stack the run follows. */
  readonly stack: SynthesizedStack;
  /** Resolves once every S3 event has been ingested and every execution has ended. */
  settle(): Promise<void>;
  /** Ignores the drop bucket's S3 events from now on, so that a stopping run starts no new batch. */
  stopAccepting(): void;
  /** What a stop would cut short now. */
  inFlight(): InFlight;
  close(): Promise<void>;
}

const MAX_RECEIVES = 5;
const WORKFLOW_STEPS = ['prepare', 'copy', 'register', 'start-processing', 'check-status', 'notify'] as const;

/**
 * The whole pipeline on one machine, as the synthesized stack defines it: embedded S3 (drop, work and Inspect
 * buckets), the Pix4Dinspect simulator, in-process Secrets Manager, SNS and Step Functions behind the SDK clients,
 * S3 events of the drop bucket URL-encoded as S3 sends them and delivered as SQS would to the real ingest handler,
 * the state machines run locally with the real step handlers, each function with its template's environment,
 * timeout and role, and every AWS call held to that role.
 */
export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const stack = options.stack ?? synthesizeStack();
  const timers = scaledTimers(options.timeScale ?? 1);
  const clock = options.clock ?? timers.now;
  const embeddedS3 = await startEmbeddedS3({ buckets: [LOCAL_DROP_BUCKET, LOCAL_WORK_BUCKET], ...(options.s3Port ? { port: options.s3Port } : {}) });
  const simulator = options.pix4d
    ? undefined
    : await startSimulator({
        embeddedS3,
        timers,
        clock,
        ...(options.simulatorAccount ? { account: options.simulatorAccount } : {}),
        ...(options.simulatorSettings ? { settings: options.simulatorSettings } : {}),
      });
  const pix4d: ExternalPix4d = options.pix4d ?? {
    apiUrl: simulator!.apiUrl,
    authUrl: simulator!.apiUrl,
    account: simulator!.account,
    s3Endpoint: simulator!.s3Endpoint,
  };
  const emit = options.onEvent ?? (() => undefined);
  const notifications: NotificationV1[] = [];
  // The functions' EMF lines come here instead of stdout: what CloudWatch would turn into the dashboard's metrics.
  const metrics = new MetricLog();
  const metricsOutput = (line: string) => metrics.add(line);
  const authorizer = options.iamCheck === false ? undefined : new IamAuthorizer(stack);

  let stepFunctions: LocalStepFunctions | undefined;
  const services = new LocalAwsServices({
    secrets: new Map([[stack.resources.secretArn, JSON.stringify(pix4d.account)]]),
    topics: new Set([stack.resources.topicArn]),
    onPublish: ({ input }) => {
      const message = JSON.parse((JSON.parse(input.Message!) as { default: string }).default) as NotificationV1;
      notifications.push(message);
      emit({ event: 'notification', message });
    },
    executions: { start: (...args) => stepFunctions!.start(...args) },
  });
  const awsClient = { region: LOCAL_ACCOUNT.region, credentials: { accessKeyId: 'LOCAL', secretAccessKey: 'LOCAL' }, requestHandler: services.requestHandler as never };
  const asFunction = <C extends Parameters<typeof holdToRole>[0]>(fn: LocalFunction, client: C): C => {
    const held = authorizer ? holdToRole(client, { roleArn: fn.roleArn, sessionName: fn.name }, authorizer) : client;
    return options.awsFaults ? withAwsFaults(held, fn.step, options.awsFaults) : held;
  };
  const clientsOf = (fn: LocalFunction): StepClients => ({
    s3: asFunction(fn, embeddedS3.client()),
    secretsManager: asFunction(fn, new SecretsManagerClient(awsClient)),
    sns: asFunction(fn, new SNSClient(awsClient)),
  });
  // The template's environment, with what local mode changes: the Pix4Dinspect to talk to and the local settings.
  const environmentOf = (fn: LocalFunction): Record<string, string> => ({
    ...fn.environment,
    PIX4D_API_URL: pix4d.apiUrl,
    ...(pix4d.authUrl ? { PIX4D_AUTH_URL: pix4d.authUrl } : {}),
    ...(options.deadlineSeconds === undefined ? {} : { DEADLINE_HOURS: String(options.deadlineSeconds / 3600) }),
    QUIET_PERIOD_SECONDS: String(options.quietPeriodSeconds ?? 2),
  });

  // The copier reports each photo without its batch: the copy invocation it runs in knows it (by its run prefix).
  const copyRun = new AsyncLocalStorage<string>();
  const batchOfRun = new Map<string, string>();
  const inBatchContext =
    (handler: LambdaHandler): LambdaHandler =>
    (event, context) =>
      copyRun.run((event as CopyChunkInput).runPrefix, () => handler(event, context));
  const photoCopied = (copied: { relativePath: string; bytes: number }) => {
    const runPrefix = copyRun.getStore();
    const batch = runPrefix === undefined ? undefined : batchOfRun.get(runPrefix);
    emit({ event: 'photo-copied', ...copied, ...(batch === undefined ? {} : { batch }) });
  };

  const workflowStep = (fn: LocalFunction): InvocationDependencies => {
    const runtime = stepRuntimeFromEnv({ env: environmentOf(fn), clients: clientsOf(fn), timers, metricsOutput });
    return (context) => {
      const deps = runtime(context);
      return {
        ...deps,
        config: {
          ...deps.config,
          ...options.config,
          copy: { ...deps.config.copy, ...options.config?.copy, onObjectCopied: photoCopied },
        },
        ...(pix4d.s3Endpoint ? { destinationEndpoint: pix4d.s3Endpoint } : {}),
        now: () => new Date(clock()),
      };
    };
  };
  const checkBatch = stack.functions['check-batch'];
  const checkBatchDependencies = {
    ...checkBatchDependenciesFromEnv(environmentOf(checkBatch), asFunction(checkBatch, embeddedS3.client())),
    now: () => new Date(clock()),
    metricsOutput,
  };
  const ingestFunction = stack.functions.ingest;
  const ingestDependencies = {
    ...ingestDependenciesFromEnv(environmentOf(ingestFunction), asFunction(ingestFunction, new SFNClient(awsClient))),
    metricsOutput,
  };
  const handlers: Record<PipelineStep, LambdaHandler> = {
    prepare: createPrepare(workflowStep(stack.functions.prepare)),
    copy: inBatchContext(createCopy(workflowStep(stack.functions.copy))),
    register: createRegister(workflowStep(stack.functions.register)),
    'start-processing': createStartProcessing(workflowStep(stack.functions['start-processing'])),
    'check-status': createCheckStatus(workflowStep(stack.functions['check-status'])),
    notify: createNotify(workflowStep(stack.functions.notify)),
    'check-batch': createCheckBatch(() => checkBatchDependencies),
    ingest: createIngest(() => ingestDependencies),
  };
  const lambdaOf = (step: PipelineStep) =>
    new LocalLambda(stack.functions[step], handlers[step], timers, (error) =>
      emit({ event: 'function-error', step, errorType: error.errorType, message: error.errorMessage }),
    );
  const functions = Object.fromEntries(
    [...WORKFLOW_STEPS, 'check-batch' as const].map((step) => [step, { arn: stack.functions[step].arn, lambda: lambdaOf(step) }]),
  );

  const lastState = new Map<string, string>();
  const batchOf = (execution: LocalExecution) => (execution.input as { batch: { prefix: string } }).batch.prefix;
  stepFunctions = new LocalStepFunctions({
    machines: { inspection: stack.inspection, waiter: stack.waiter },
    functions,
    ...(authorizer ? { authorize: (caller, request) => authorizer.authorize(caller, request) } : {}),
    waitMs: options.waitMs ?? 100,
    ...(options.loseTaskResult ? { loseResult: options.loseTaskResult } : {}),
    ...(options.throttleTask ? { throttle: options.throttleTask } : {}),
    onExecutionStarted: (execution) =>
      emit({ event: 'execution-started', machine: execution.machine, name: execution.name, batch: batchOf(execution) }),
    onStateEntered: (execution, state, input) => {
      lastState.set(execution.arn, state);
      if (stack[execution.machine].waits.includes(state)) options.onWait?.(state, input);
      // A copy's first count comes after the stage that starts it, its last before the stage that follows it.
      if (execution.machine === 'inspection' && state === 'Register photos') copyEnded(execution.name, input);
      emit({ event: 'state', machine: execution.machine, execution: execution.name, state });
      if (execution.machine === 'inspection' && state === 'Copy photos') copyStarted(execution.name, input);
    },
    onExecutionEnded: (execution) =>
      emit({ event: 'execution-ended', machine: execution.machine, name: execution.name, status: execution.status, transitions: execution.transitions }),
  });

  /** A batch's files, from the input of its copy (the Prepare step's result): the copy's totals. */
  function copyStarted(execution: string, input: unknown): void {
    const { prepared } = (input ?? {}) as { prepared?: PreparedInspection };
    if (!prepared) return;
    batchOfRun.set(prepared.runPrefix, prepared.batch.prefix);
    emit({ event: 'copy-started', execution, batch: prepared.batch.prefix, ...prepared.images });
  }

  /** What the copy of a batch did, from the input of the step after it (the Map's results, one per chunk). */
  function copyEnded(execution: string, input: unknown): void {
    const { prepared, copy } = (input ?? {}) as { prepared?: PreparedInspection; copy?: readonly CopyChunkResult[] };
    if (!prepared || !copy) return;
    const sum = (field: 'copied' | 'skipped') => copy.reduce((total, chunk) => total + chunk[field], 0);
    emit({ event: 'copy-ended', execution, batch: prepared.batch.prefix, copied: sum('copied'), skipped: sum('skipped') });
  }

  const ingest = lambdaOf('ingest');
  const ingestRole = { roleArn: ingestFunction.roleArn, sessionName: ingestFunction.name };
  const queueArn = stack.resources.queueArn;
  const dropBucketArn = `arn:aws:s3:::${LOCAL_DROP_BUCKET}`;
  /**
   * What must hold for S3's events to reach the function: the queue takes S3's messages, the function may read them.
   * The same for every event, so judged once.
   */
  const refusedDelivery = once(async (): Promise<string | undefined> => {
    if (!authorizer) return undefined;
    const sent = await authorizer.authorizeService('s3.amazonaws.com', {
      action: 'sqs:SendMessage',
      resource: queueArn,
      context: { 'aws:SourceArn': dropBucketArn, 'aws:SourceAccount': LOCAL_ACCOUNT.account },
    });
    if (!sent.allowed) return sent.message;
    // The event source mapping polls with the function's role (AWS Lambda: "Using Lambda with Amazon SQS").
    for (const action of ['sqs:ReceiveMessage', 'sqs:GetQueueAttributes', 'sqs:DeleteMessage']) {
      const decision = await authorizer.authorize(ingestRole, { action, resource: queueArn, context: {} });
      if (!decision.allowed) return decision.message;
    }
    return undefined;
  });

  const pending = new Set<Promise<void>>();
  const deadLetters: DeadLetter[] = [];
  let messageNumber = 0;
  let accepting = true;
  const deliver = async (body: string) => {
    const refused = await refusedDelivery();
    if (refused) {
      deadLetters.push({ notification: JSON.parse(body), reason: refused });
      return;
    }
    for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
      const event: SQSEvent = { Records: [sqsRecord(`m-${++messageNumber}`, body, receive, queueArn)] };
      const answer = (await ingest.invoke(event).catch(() => undefined)) as SQSBatchResponse | undefined;
      if (answer && answer.batchItemFailures.length === 0) return;
    }
    deadLetters.push({ notification: JSON.parse(body), reason: `the ingest function failed on it ${MAX_RECEIVES} times` });
  };
  embeddedS3.onObjectEvent((event) => {
    const record = event.Records[0];
    if (!accepting || !record || record.s3.bucket.name !== LOCAL_DROP_BUCKET) return;
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
    s3: embeddedS3.client(),
    notifications,
    executions: stepFunctions.executions,
    deadLetters,
    iam: authorizer,
    metrics,
    stack,
    settle: async () => {
      while (pending.size > 0 || stepFunctions.executions.some((execution) => execution.status === 'running')) {
        await Promise.all(pending);
        await stepFunctions.idle();
      }
    },
    stopAccepting: () => {
      accepting = false;
    },
    inFlight: () => {
      const batches = new Map<string, InFlightBatch>();
      for (const execution of stepFunctions.executions) {
        if (execution.status !== 'running') continue;
        const batch = batchOf(execution);
        const known = batches.get(batch);
        if (!known || (known.machine === 'waiter' && execution.machine === 'inspection')) {
          batches.set(batch, { batch, machine: execution.machine, state: lastState.get(execution.arn) });
        }
      }
      return { batches: [...batches.values()], deliveries: pending.size };
    },
    close: async () => {
      if (authorizer) await recordGrantUsage(authorizer);
      await recordMetricUsage(metrics);
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

function sqsRecord(messageId: string, body: string, receiveCount: number, queueArn: string): SQSEvent['Records'][number] {
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
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}
