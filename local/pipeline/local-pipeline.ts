import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { checkBatchDependenciesFromEnv, createHandler as createCheckBatch } from '../../functions/check-batch/handler';
import { createHandler as createCheckStatus } from '../../functions/check-status/handler';
import { createHandler as createCopy } from '../../functions/copy/handler';
import { createHandler as createIngest, ingestDependenciesFromEnv } from '../../functions/ingest/handler';
import { createHandler as createNotify } from '../../functions/notify/handler';
import { createHandler as createPrepare } from '../../functions/prepare/handler';
import { createHandler as createRegister } from '../../functions/register/handler';
import { type InvocationDependencies, type StepClients, stepRuntimeFromEnv } from '../../functions/shared/step-runtime';
import { createHandler as createStartProcessing } from '../../functions/start-processing/handler';
import type { PipelineStep } from '../../lib/pipeline-functions';
import type { NotificationV1 } from '../../src/notify/notification';
import type { Pix4dAccount } from '../../src/pix4d/client';
import { scaledTimers, type Timers } from '../../src/timers';
import type { PipelineConfig } from '../../src/workflow/pipeline-config';
import { type AwsFaultPlan, withAwsFaults } from '../aws/aws-faults';
import { LocalAwsServices, type LocalExecutions } from '../aws/local-aws-services';
import { recordGrantUsage } from '../iam/grant-usage';
import { IamAuthorizer } from '../iam/iam-authorizer';
import { holdToRole } from '../iam/sdk-identity';
import { type EmbeddedS3, startEmbeddedS3 } from '../s3/embedded-s3';
import type { SimulatorAccount } from '../simulator/api-server';
import type { SimulatorSettings } from '../simulator/settings';
import { type Simulator, startSimulator } from '../simulator/simulator';
import { type CopyEvent, CopyProgress } from './copy-progress';
import { type LambdaHandler, LocalLambda } from './local-lambda';
import { type LocalExecution, LocalStepFunctions } from './local-step-functions';
import { MetricLog } from './metric-log';
import { recordMetricUsage } from './metric-usage';
import { type DeadLetter, deliverS3Events, type S3EventDelivery } from './s3-event-delivery';
import {
  LOCAL_ACCOUNT,
  LOCAL_BUCKETS,
  type LocalFunction,
  type SynthesizedStack,
  synthesizeStack,
} from './synthesized-stack';

export { type DeadLetter, encodeEventKey } from './s3-event-delivery';

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
  | {
      readonly event: 'execution-ended';
      readonly machine: string;
      readonly name: string;
      readonly status: string;
      readonly transitions: number;
    }
  | CopyEvent
  | {
      readonly event: 'function-error';
      readonly step: PipelineStep;
      readonly errorType: string;
      readonly message: string;
    }
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

/** What the steps of a start share: the run's options, the stack it follows, its clock, S3 and Pix4Dinspect. */
interface PipelineParts {
  readonly options: LocalPipelineOptions;
  readonly stack: SynthesizedStack;
  readonly timers: Timers;
  readonly clock: () => number;
  readonly emit: (event: LocalPipelineEvent) => void;
  readonly embeddedS3: EmbeddedS3;
  readonly pix4d: ExternalPix4d;
  /** Undefined without the IAM check. */
  readonly authorizer: IamAuthorizer | undefined;
  /** Where the functions write their EMF lines. */
  readonly metricsOutput: (line: string) => void;
}

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
  const emit = options.onEvent ?? (() => undefined);
  const { embeddedS3, simulator, pix4d } = await startServers(options, timers, clock);
  // The functions' EMF lines come here instead of stdout: what CloudWatch would turn into the dashboard's metrics.
  const metrics = new MetricLog();
  const authorizer = options.iamCheck === false ? undefined : new IamAuthorizer(stack);
  const parts: PipelineParts = {
    options,
    stack,
    timers,
    clock,
    emit,
    embeddedS3,
    pix4d,
    authorizer,
    metricsOutput: (line) => metrics.add(line),
  };

  const notifications: NotificationV1[] = [];
  // The ingest function starts executions through these services, and the executions run the functions that call
  // them: the Step Functions come last, reached through this variable once they exist.
  let stepFunctions: LocalStepFunctions | undefined;
  const services = awsServices(parts, notifications, { start: (...args) => stepFunctions!.start(...args) });
  const copyProgress = new CopyProgress(emit);
  const lambdaOf = localLambdas(parts, handlersOf(parts, functionClients(parts, services), copyProgress));
  const lastState = new Map<string, string>();
  stepFunctions = startStepFunctions(parts, lambdaOf, copyProgress, lastState);
  const delivery = deliverS3Events({
    embeddedS3,
    stack,
    ingest: lambdaOf('ingest'),
    authorizer,
    duplicateEvents: options.duplicateEvents ?? 1,
    onObject: (key) => emit({ event: 'object', key }),
  });
  return pipelineOf({ ...parts, simulator, metrics, notifications, stepFunctions, lastState, delivery });
}

/** The embedded S3 server and, unless the run talks to another Pix4Dinspect, the simulator on it. */
async function startServers(
  options: LocalPipelineOptions,
  timers: Timers,
  clock: () => number,
): Promise<{ embeddedS3: EmbeddedS3; simulator: Simulator | undefined; pix4d: ExternalPix4d }> {
  const embeddedS3 = await startEmbeddedS3({
    buckets: [LOCAL_DROP_BUCKET, LOCAL_WORK_BUCKET],
    ...(options.s3Port ? { port: options.s3Port } : {}),
  });
  if (options.pix4d) return { embeddedS3, simulator: undefined, pix4d: options.pix4d };
  const simulator = await startSimulator({
    embeddedS3,
    timers,
    clock,
    ...(options.simulatorAccount ? { account: options.simulatorAccount } : {}),
    ...(options.simulatorSettings ? { settings: options.simulatorSettings } : {}),
  });
  const pix4d = {
    apiUrl: simulator.apiUrl,
    authUrl: simulator.apiUrl,
    account: simulator.account,
    s3Endpoint: simulator.s3Endpoint,
  };
  return { embeddedS3, simulator, pix4d };
}

/** Secrets Manager with the Pix4D account's secret, SNS with the stack's topic (its messages kept), Step Functions. */
function awsServices(
  { stack, pix4d, emit }: PipelineParts,
  notifications: NotificationV1[],
  executions: LocalExecutions,
): LocalAwsServices {
  return new LocalAwsServices({
    secrets: new Map([[stack.resources.secretArn, JSON.stringify(pix4d.account)]]),
    topics: new Set([stack.resources.topicArn]),
    onPublish: ({ input }) => {
      const message = JSON.parse((JSON.parse(input.Message!) as { default: string }).default) as NotificationV1;
      notifications.push(message);
      emit({ event: 'notification', message });
    },
    executions,
  });
}

/** Each function's clients and environment, as its template and local mode make them. */
interface FunctionClients {
  /** The clients a workflow step uses. */
  stepClients(fn: LocalFunction): StepClients;
  s3(fn: LocalFunction): S3Client;
  stepFunctions(fn: LocalFunction): SFNClient;
  environment(fn: LocalFunction): Record<string, string>;
}

/**
 * Clients of the embedded S3 server and of the local services, each held to the function's role (unless the IAM
 * check is off) and failing as `awsFaults` says.
 */
function functionClients(
  { options, embeddedS3, pix4d, authorizer }: PipelineParts,
  services: LocalAwsServices,
): FunctionClients {
  const awsClient = {
    region: LOCAL_ACCOUNT.region,
    credentials: { accessKeyId: 'LOCAL', secretAccessKey: 'LOCAL' },
    requestHandler: services.requestHandler as never,
  };
  const asFunction = <C extends Parameters<typeof holdToRole>[0]>(fn: LocalFunction, client: C): C => {
    const held = authorizer ? holdToRole(client, { roleArn: fn.roleArn, sessionName: fn.name }, authorizer) : client;
    return options.awsFaults ? withAwsFaults(held, fn.step, options.awsFaults) : held;
  };
  return {
    stepClients: (fn) => ({
      s3: asFunction(fn, embeddedS3.client()),
      secretsManager: asFunction(fn, new SecretsManagerClient(awsClient)),
      sns: asFunction(fn, new SNSClient(awsClient)),
    }),
    s3: (fn) => asFunction(fn, embeddedS3.client()),
    stepFunctions: (fn) => asFunction(fn, new SFNClient(awsClient)),
    // The template's environment, with what local mode changes: the Pix4Dinspect to talk to and the local settings.
    environment: (fn) => ({
      ...fn.environment,
      PIX4D_API_URL: pix4d.apiUrl,
      ...(pix4d.authUrl ? { PIX4D_AUTH_URL: pix4d.authUrl } : {}),
      ...(options.deadlineSeconds === undefined ? {} : { DEADLINE_HOURS: String(options.deadlineSeconds / 3600) }),
      QUIET_PERIOD_SECONDS: String(options.quietPeriodSeconds ?? 2),
    }),
  };
}

/** The real handler of every function, built with the dependencies its container would build from its environment. */
function handlersOf(
  parts: PipelineParts,
  clients: FunctionClients,
  copyProgress: CopyProgress,
): Record<PipelineStep, LambdaHandler> {
  const { stack, clock, metricsOutput } = parts;
  const workflowStep = (fn: LocalFunction) => workflowStepDependencies(parts, clients, fn, copyProgress);
  const checkBatch = stack.functions['check-batch'];
  const checkBatchDependencies = {
    ...checkBatchDependenciesFromEnv(clients.environment(checkBatch), clients.s3(checkBatch)),
    now: () => new Date(clock()),
    metricsOutput,
  };
  const ingest = stack.functions.ingest;
  const ingestDependencies = {
    ...ingestDependenciesFromEnv(clients.environment(ingest), clients.stepFunctions(ingest)),
    metricsOutput,
  };
  return {
    prepare: createPrepare(workflowStep(stack.functions.prepare)),
    copy: copyProgress.inBatchContext(createCopy(workflowStep(stack.functions.copy))),
    register: createRegister(workflowStep(stack.functions.register)),
    'start-processing': createStartProcessing(workflowStep(stack.functions['start-processing'])),
    'check-status': createCheckStatus(workflowStep(stack.functions['check-status'])),
    notify: createNotify(workflowStep(stack.functions.notify)),
    'check-batch': createCheckBatch(() => checkBatchDependencies),
    ingest: createIngest(() => ingestDependencies),
  };
}

/**
 * A workflow step's dependencies as its container builds them, with what the run overrides: the configuration, the
 * copier's reports, the Pix4Dinspect bucket's endpoint and the workflow's clock.
 */
function workflowStepDependencies(
  { options, timers, clock, pix4d, metricsOutput }: PipelineParts,
  clients: FunctionClients,
  fn: LocalFunction,
  copyProgress: CopyProgress,
): InvocationDependencies {
  const runtime = stepRuntimeFromEnv({
    env: clients.environment(fn),
    clients: clients.stepClients(fn),
    timers,
    metricsOutput,
  });
  return (context) => {
    const deps = runtime(context);
    return {
      ...deps,
      config: {
        ...deps.config,
        ...options.config,
        copy: { ...deps.config.copy, ...options.config?.copy, onObjectCopied: copyProgress.photoCopied },
      },
      ...(pix4d.s3Endpoint ? { destinationEndpoint: pix4d.s3Endpoint } : {}),
      now: () => new Date(clock()),
    };
  };
}

/** Each step's handler as Lambda runs it (its template's timeout), its errors reported as `function-error`. */
function localLambdas(
  { stack, timers, emit }: PipelineParts,
  handlers: Record<PipelineStep, LambdaHandler>,
): (step: PipelineStep) => LocalLambda {
  return (step) =>
    new LocalLambda(stack.functions[step], handlers[step], timers, (error) =>
      emit({ event: 'function-error', step, errorType: error.errorType, message: error.errorMessage }),
    );
}

/**
 * The stack's state machines, their tasks calling the local Lambdas, their roles held to the template. Their
 * progress becomes the run's events, the copy's included; `lastState` keeps the state each execution entered last.
 */
function startStepFunctions(
  { options, stack, emit, authorizer }: PipelineParts,
  lambdaOf: (step: PipelineStep) => LocalLambda,
  copyProgress: CopyProgress,
  lastState: Map<string, string>,
): LocalStepFunctions {
  // The functions the machines' Task states invoke, as the template names them.
  const invoked = new Set(
    [...Object.values(stack.inspection.tasks), ...Object.values(stack.waiter.tasks)].filter(
      (task): task is PipelineStep => task !== 'start-execution',
    ),
  );
  const functions = Object.fromEntries(
    [...invoked].map((step) => [step, { arn: stack.functions[step].arn, lambda: lambdaOf(step) }]),
  );
  return new LocalStepFunctions({
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
      if (execution.machine === 'inspection' && state === 'Register photos') copyProgress.ended(execution.name, input);
      emit({ event: 'state', machine: execution.machine, execution: execution.name, state });
      if (execution.machine === 'inspection' && state === 'Copy photos') copyProgress.started(execution.name, input);
    },
    onExecutionEnded: (execution) =>
      emit({
        event: 'execution-ended',
        machine: execution.machine,
        name: execution.name,
        status: execution.status,
        transitions: execution.transitions,
      }),
  });
}

/** The started pipeline's parts, as `pipelineOf` hands them out. */
interface StartedParts extends PipelineParts {
  readonly simulator: Simulator | undefined;
  readonly metrics: MetricLog;
  readonly notifications: readonly NotificationV1[];
  readonly stepFunctions: LocalStepFunctions;
  readonly lastState: ReadonlyMap<string, string>;
  readonly delivery: S3EventDelivery;
}

/** The pipeline as its users see it: what it did so far, when it is settled, what is in flight, and its close. */
function pipelineOf(parts: StartedParts): LocalPipeline {
  const { embeddedS3, simulator, stepFunctions, delivery, authorizer, metrics } = parts;
  return {
    s3Endpoint: embeddedS3.endpoint,
    dropBucket: LOCAL_DROP_BUCKET,
    workBucket: LOCAL_WORK_BUCKET,
    embeddedS3,
    simulator,
    s3: embeddedS3.client(),
    notifications: parts.notifications,
    executions: stepFunctions.executions,
    deadLetters: delivery.deadLetters,
    iam: authorizer,
    metrics,
    stack: parts.stack,
    settle: async () => {
      // Deliveries start executions, and more events may come while executions run: until neither is left.
      while (
        delivery.pending.size > 0 ||
        stepFunctions.executions.some((execution) => execution.status === 'running')
      ) {
        await Promise.all(delivery.pending);
        await stepFunctions.idle();
      }
    },
    stopAccepting: () => delivery.stopAccepting(),
    inFlight: () => inFlight(stepFunctions, parts.lastState, delivery),
    close: async () => {
      if (authorizer) await recordGrantUsage(authorizer);
      await recordMetricUsage(metrics);
      if (simulator) await simulator.close();
      await embeddedS3.close();
    },
  };
}

/** The running executions, one per batch (its inspection rather than its waiter), and the undelivered events. */
function inFlight(
  stepFunctions: LocalStepFunctions,
  lastState: ReadonlyMap<string, string>,
  delivery: S3EventDelivery,
): InFlight {
  const batches = new Map<string, InFlightBatch>();
  for (const execution of stepFunctions.executions) {
    if (execution.status !== 'running') continue;
    const batch = batchOf(execution);
    const known = batches.get(batch);
    if (!known || (known.machine === 'waiter' && execution.machine === 'inspection')) {
      batches.set(batch, { batch, machine: execution.machine, state: lastState.get(execution.arn) });
    }
  }
  return { batches: [...batches.values()], deliveries: delivery.pending.size };
}

function batchOf(execution: LocalExecution): string {
  return (execution.input as { batch: { prefix: string } }).batch.prefix;
}
