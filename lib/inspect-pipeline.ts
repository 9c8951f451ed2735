import { Annotations, type CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { ASSET_REGISTRY_PREFIX } from '../src/assets/asset-registry';
import { BATCH_STATE_PREFIX } from '../src/batch-state/batch-state';
import type { ProcessingParameters } from '../src/pix4d/schemas';
import {
  DEFAULT_PREFLIGHT_THRESHOLDS,
  type PreflightThresholds,
  preflightOverridesSchema,
  withOverrides,
} from '../src/preflight/preflight';
import { PROCESSING_HISTORY_KEY } from '../src/status/processing-history';
import type { StatusClasses } from '../src/status/processing-status';
import { suggest } from '../src/suggest';
import { RUNS_PREFIX } from '../src/workflow/run-store';
import { BatchWaiter } from './batch-waiter';
import { DropBucket } from './drop-bucket';
import { IngestQueue } from './ingest-queue';
import { InspectionWorkflow } from './inspection-workflow';
import { arnInFinding } from './nag-acknowledgements';
import { Notifications } from './notifications';
import { PipelineAlarms } from './pipeline-alarms';
import { PipelineDashboard } from './pipeline-dashboard';
import { PipelineFunctions } from './pipeline-functions';
import {
  addPipelineOutputs,
  type PipelineOutputName,
  type PipelineOutputValue,
  pipelineOutputValues,
} from './pipeline-outputs';
import { Pix4dCredentials } from './pix4d-credentials';
import { WorkBucket } from './work-bucket';
import { WorkflowAlarms } from './workflow-alarms';

export interface InspectPipelineProps {
  /** Email address subscribed to the outcome notifications and to the alarms. @default no subscription */
  readonly notificationEmail?: string;
  /** An existing topic for the outcome notifications. @default a new topic (or `topicArn`) */
  readonly existingTopic?: sns.ITopic;
  /** ARN of an existing topic for the outcome notifications. @default a new topic (or `existingTopic`) */
  readonly topicArn?: string;
  /** An existing secret with the Pix4Dinspect account. @default a new secret (or `secretArn` / `secretName`) */
  readonly existingSecret?: secretsmanager.ISecret;
  /** ARN of an existing secret with the Pix4Dinspect account. @default a new secret */
  readonly secretArn?: string;
  /** Name of an existing secret with the Pix4Dinspect account. @default a new secret */
  readonly secretName?: string;
  /** An existing bucket to watch instead of a new drop bucket. @default a new, versioned, logged bucket */
  readonly existingDropBucket?: s3.IBucket;
  /** Days before a created drop bucket aborts an unfinished multipart upload. @default 7 */
  readonly abortIncompleteUploadDays?: number;
  /** Days before a created drop bucket deletes a replaced version of a photo. @default 30 */
  readonly noncurrentVersionDays?: number;
  /**
   * Days the work bucket keeps a run's data and batch records (the operator CLI's history); more than `deadline`.
   *
   * @default 90
   */
  readonly runRetentionDays?: number;
  /** A batch without manifest.json closes after this long without a new object; 0 waits for a manifest. @default 10 minutes */
  readonly quietPeriod?: Duration;
  /** Folder levels that make a batch (`<asset>/<flight>/` is 2). @default 2 */
  readonly batchDepth?: number;
  /** Type of the assets the pipeline creates. @default 1 */
  readonly defaultAssetType?: number;
  /** Processing parameters under those of a manifest. @default the vendor tutorial's */
  readonly defaultProcessingParameters?: Partial<ProcessingParameters>;
  /** Time allowed for processing before `inspection.timed_out`. @default 48 hours */
  readonly deadline?: Duration;
  /**
   * How often the status is read around a processing's expected end (learnt from past runs), and the shortest
   * wait between status checks. @default 60 seconds
   */
  readonly pollInterval?: Duration;
  /** Longest wait between status checks once the expected end has passed. @default 15 minutes */
  readonly pollMaxWait?: Duration;
  /**
   * Processing time per photo expected while the work bucket holds no past run (the schedule learns the real
   * figure from each completed run). @default 10 seconds
   */
  readonly expectedProcessingPerPhoto?: Duration;
  /** Which statuses count as success and failure. @default id 7 / "Processing completed"; fail|error|abort|cancel */
  readonly statusClasses?: StatusClasses;
  /** Photos per copy invocation. @default 100 */
  readonly photosPerChunk?: number;
  /**
   * Copy invocations at once per flight (the Copy photos Map's MaxConcurrency). Flights copying at once multiply it:
   * keep flights x copyConcurrency within the Lambda concurrency the account can give the copy function. At most 40,
   * the concurrency of an inline Map.
   *
   * @default 10
   */
  readonly copyConcurrency?: number;
  /**
   * Reserved concurrency of the copy function: at most this many copies at once across all flights, and as many
   * kept free for it from the account's quota. Invocations above it are throttled and waited out.
   *
   * @default none: the copy function shares the account's unreserved concurrency
   */
  readonly copyReservedConcurrency?: number;
  /**
   * How long throttling (Lambda's, and AWS services' throttling of the functions' calls) is waited out before a
   * step fails, with backoff and full jitter. Notify waits it out for at least 30 minutes or this, the longer.
   *
   * @default 30 minutes
   */
  readonly throttleRetry?: Duration;
  /**
   * The pre-flight check of each flight's photos, before its inspection is created (a manifest's `preflight`
   * overrides them per flight): refuse fewer than `minPhotos` or more than `maxPhotos` photos, or a geotagged share
   * below `minGeotaggedShare`; warn on capture times over `maxFlightHours` or positions over `maxSpreadMeters`.
   *
   * @default { minPhotos: 6, maxPhotos: null (no limit), minGeotaggedShare: 0 (off), maxFlightHours: 6, maxSpreadMeters: 2000 }
   */
  readonly preflight?: Partial<PreflightThresholds>;
  /** Host of the token endpoint. @default https://inspect.pix4d.com */
  readonly pix4dAuthUrl?: string;
  /** Host of the API. @default https://api.inspect.pix4d.com */
  readonly pix4dApiUrl?: string;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Whether the construct adds its CloudFormation outputs (`PIPELINE_OUTPUT_NAMES`: the buckets, topics, state
   * machines, secret and an upload command). In another app's stack their OutputKeys get CDK's logical ids, such as
   * `PhotosDropBucketName1A2B3C4D`; turn them off to make your own from `outputValues`.
   *
   * @default true
   */
  readonly outputs?: boolean;
  /**
   * Whether the construct adds its CloudWatch dashboard (`PipelineDashboard`: runs, failures by cause and stage, the
   * copy, Pix4Dinspect's answers, the queues, the state machines and the functions). A dashboard is billed beyond
   * the account's free ones.
   *
   * @default true
   */
  readonly dashboard?: boolean;
}

const INGEST_TIMEOUT = Duration.seconds(60);

/**
 * The Pix4Dinspect drop-bucket pipeline: photos dropped under `<asset>/<flight>/` become one processed inspection
 * and one SNS message per closed batch. S3 -> SQS (DLQ) -> ingest Lambda -> batch waiter / inspection workflow
 * (Step Functions) -> step Lambdas -> Pix4Dinspect, and the outcome to SNS. Alarms (on the pipeline's own trouble,
 * never on a person's input) go to a separate topic; a CloudWatch dashboard shows every metric.
 */
export class InspectPipeline extends Construct {
  readonly dropBucket: s3.IBucket;
  readonly workBucket: s3.IBucket;
  readonly topic: sns.ITopic;
  readonly alarmTopic: sns.ITopic;
  readonly secret: secretsmanager.ISecret;
  readonly queue: IngestQueue;
  readonly functions: PipelineFunctions;
  readonly workflow: InspectionWorkflow;
  readonly waiter: BatchWaiter;
  /** The alarms on system failures, timed-out processing and the copy function (besides the queue's and the state machines'). */
  readonly alarms: PipelineAlarms;
  /** The CloudWatch dashboard; undefined with `dashboard: false`. */
  readonly dashboard: PipelineDashboard | undefined;
  /** What the outputs hold (tokens until deployed), whether or not the construct adds them. */
  readonly outputValues: Readonly<Record<PipelineOutputName, PipelineOutputValue>>;
  /** The `aws s3 cp` commands that drop a flight into the drop bucket, photos first and manifest.json last. */
  readonly uploadExample: string;
  /** The CloudFormation outputs, by name; undefined with `outputs: false`. */
  readonly outputs: Readonly<Record<PipelineOutputName, CfnOutput>> | undefined;

  constructor(scope: Construct, id: string, props: InspectPipelineProps = {}) {
    super(scope, id);
    assertConcurrency(this, props);
    // The secret and topic props carry the same names here as on their constructs.
    const credentials = new Pix4dCredentials(this, 'Pix4dCredentials', props);
    const notifications = new Notifications(this, 'Notifications', props);
    const preflight = preflightThresholdsOf(props.preflight);
    const deadline = props.deadline ?? Duration.hours(48);
    assertRunDataOutlivesRuns(props.runRetentionDays, deadline);
    const { drop, work, queue } = this.addStorage(props, notifications);
    const functions = this.addFunctions(props, { work, credentials, notifications, deadline, preflight });
    const fn = functions.functions;
    const { workflow, waiter } = this.addStateMachines(props, fn, queue, deadline);
    const alarms = this.addAlarms(workflow, waiter, fn, notifications);
    this.dashboard =
      props.dashboard === false
        ? undefined
        : new PipelineDashboard(this, 'Dashboard', {
            inspectionWorkflow: workflow.stateMachine,
            batchWaiter: waiter.stateMachine,
            queue: queue.queue,
            deadLetterQueue: queue.deadLetterQueue,
            functions: fn,
            alarms: [...alarms.all, queue.deadLetterAlarm],
          });
    grantCalls({ fn, workflow, waiter, drop, work, credentials, notifications });

    acknowledgeWildcards(functions, [workflow.stateMachine, waiter.stateMachine], drop.bucket, work.bucket);
    this.dropBucket = drop.bucket;
    this.workBucket = work.bucket;
    this.topic = notifications.topic;
    this.alarmTopic = notifications.alarmTopic;
    this.secret = credentials.secret;
    this.queue = queue;
    this.functions = functions;
    this.workflow = workflow;
    this.waiter = waiter;
    this.alarms = alarms.pipeline;
    this.outputValues = pipelineOutputValues({
      dropBucket: drop.bucket,
      workBucket: work.bucket,
      topic: notifications.topic,
      alarmTopic: notifications.alarmTopic,
      stateMachine: workflow.stateMachine,
      batchWaiter: waiter.stateMachine,
      secret: credentials.secret,
      preflightThresholds: preflight,
    });
    this.uploadExample = this.outputValues.UploadExample.value;
    this.outputs = props.outputs === false ? undefined : addPipelineOutputs(this, this.outputValues);
  }

  /** The drop bucket (notifying the ingest queue of each created object), the work bucket and the ingest queue. */
  private addStorage(
    props: InspectPipelineProps,
    notifications: Notifications,
  ): { drop: DropBucket; work: WorkBucket; queue: IngestQueue } {
    const drop = new DropBucket(this, 'DropBucket', {
      existingBucket: props.existingDropBucket,
      abortIncompleteUploadDays: props.abortIncompleteUploadDays,
      noncurrentVersionDays: props.noncurrentVersionDays,
      notificationsHandlerLogRetention: props.logRetention,
    });
    const work = new WorkBucket(this, 'WorkBucket', {
      runRetentionDays: props.runRetentionDays,
      ...(drop.accessLogs ? { accessLogs: drop.accessLogs } : {}),
    });
    const queue = new IngestQueue(this, 'IngestQueue', {
      visibilityTimeout: Duration.seconds(INGEST_TIMEOUT.toSeconds() * 6),
      consumerTimeout: INGEST_TIMEOUT,
      alarmAction: notifications.alarmAction,
    });
    drop.notifyQueue(queue.queue);
    return { drop, work, queue };
  }

  /** The step functions, configured from the props through their environment. */
  private addFunctions(
    props: InspectPipelineProps,
    settings: {
      work: WorkBucket;
      credentials: Pix4dCredentials;
      notifications: Notifications;
      deadline: Duration;
      preflight: PreflightThresholds;
    },
  ): PipelineFunctions {
    const { work, credentials, notifications, deadline, preflight } = settings;
    return new PipelineFunctions(this, 'Functions', {
      environment: {
        WORK_BUCKET: work.bucket.bucketName,
        PIX4D_SECRET_ARN: credentials.secret.secretArn,
        DEADLINE_HOURS: String(deadline.toHours({ integral: false })),
        ...optional('PIX4D_AUTH_URL', props.pix4dAuthUrl),
        ...optional('PIX4D_API_URL', props.pix4dApiUrl),
        ...optional('DEFAULT_ASSET_TYPE', props.defaultAssetType?.toString()),
        ...optional(
          'DEFAULT_PROCESSING_PARAMETERS',
          props.defaultProcessingParameters && JSON.stringify(props.defaultProcessingParameters),
        ),
        ...optional('PHOTOS_PER_CHUNK', props.photosPerChunk?.toString()),
        ...optional('POLL_INTERVAL_SECONDS', props.pollInterval?.toSeconds().toString()),
        ...optional('POLL_MAX_SECONDS', props.pollMaxWait?.toSeconds().toString()),
        ...optional(
          'EXPECTED_SECONDS_PER_PHOTO',
          props.expectedProcessingPerPhoto && String(props.expectedProcessingPerPhoto.toMilliseconds() / 1000),
        ),
        ...optional('STATUS_CLASSES', props.statusClasses && JSON.stringify(props.statusClasses)),
      },
      stepEnvironment: {
        ingest: {
          BATCH_DEPTH: String(props.batchDepth ?? 2),
          QUIET_PERIOD_SECONDS: String((props.quietPeriod ?? Duration.minutes(10)).toSeconds()),
        },
        notify: { TOPIC_ARN: notifications.topic.topicArn },
        ...(props.preflight === undefined ? {} : { prepare: { PREFLIGHT_THRESHOLDS: JSON.stringify(preflight) } }),
      },
      ...(props.copyReservedConcurrency === undefined
        ? {}
        : { reservedConcurrency: { copy: props.copyReservedConcurrency } }),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
  }

  /** The inspection workflow and the batch waiter, started by the ingest function from the queue's messages. */
  private addStateMachines(
    props: InspectPipelineProps,
    fn: PipelineFunctions['functions'],
    queue: IngestQueue,
    deadline: Duration,
  ): { workflow: InspectionWorkflow; waiter: BatchWaiter } {
    const workflow = new InspectionWorkflow(this, 'InspectionWorkflow', {
      prepare: fn.prepare,
      copy: fn.copy,
      register: fn.register,
      startProcessing: fn['start-processing'],
      checkStatus: fn['check-status'],
      notify: fn.notify,
      deadline,
      ...(props.copyConcurrency ? { copyConcurrency: props.copyConcurrency } : {}),
      ...(props.throttleRetry ? { throttleRetry: props.throttleRetry } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    const waiter = new BatchWaiter(this, 'BatchWaiter', {
      checkBatch: fn['check-batch'],
      inspectionWorkflow: workflow.stateMachine,
      ...(props.throttleRetry ? { throttleRetry: props.throttleRetry } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    fn.ingest.addEnvironment('INSPECTION_STATE_MACHINE_ARN', workflow.stateMachine.stateMachineArn);
    fn.ingest.addEnvironment('WAITER_STATE_MACHINE_ARN', waiter.stateMachine.stateMachineArn);
    fn.ingest.addEventSource(
      new lambdaEvents.SqsEventSource(queue.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    return { workflow, waiter };
  }

  /** The alarms of both state machines and of the pipeline (the queue's come with it). */
  private addAlarms(
    workflow: InspectionWorkflow,
    waiter: BatchWaiter,
    fn: PipelineFunctions['functions'],
    notifications: Notifications,
  ): { pipeline: PipelineAlarms; all: cloudwatch.IAlarm[] } {
    // A failed inspection execution pages through the system-failure alarm, which also counts system failures that
    // were notified; a run refused for the person's input ends Succeeded and pages nobody.
    const inspectionAlarms = new WorkflowAlarms(this, 'InspectionAlarms', {
      stateMachine: workflow.stateMachine,
      alarmAction: notifications.alarmAction,
      alarmOnFailed: false,
    });
    const pipeline = new PipelineAlarms(this, 'Alarms', {
      inspectionWorkflow: workflow.stateMachine,
      copyFunction: fn.copy,
      alarmAction: notifications.alarmAction,
    });
    const waiterAlarms = new WorkflowAlarms(this, 'WaiterAlarms', {
      stateMachine: waiter.stateMachine,
      alarmAction: notifications.alarmAction,
      workflowName: 'the batch waiter (batches without manifest.json)',
    });
    return { pipeline, all: [...pipeline.alarms, ...inspectionAlarms.alarms, ...waiterAlarms.alarms] };
  }
}

interface PipelineParts {
  readonly fn: PipelineFunctions['functions'];
  readonly workflow: InspectionWorkflow;
  readonly waiter: BatchWaiter;
  readonly drop: DropBucket;
  readonly work: WorkBucket;
  readonly credentials: Pix4dCredentials;
  readonly notifications: Notifications;
}

/**
 * Least privilege, measured: each function is granted the calls it makes and no other (local mode holds every call
 * to these grants, and `npm test` fails on a grant no call used). The copy function streams photos, the prepare
 * function reads their first bytes (content and metadata); nothing writes or deletes in the drop bucket.
 */
function grantCalls({ fn, workflow, waiter, drop, work, credentials, notifications }: PipelineParts): void {
  workflow.stateMachine.grantStartExecution(fn.ingest);
  waiter.stateMachine.grantStartExecution(fn.ingest);
  const allow = (grantee: iam.IGrantable, actions: string[], resources: string[]) =>
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
  const runFiles = work.bucket.arnForObjects(`${RUNS_PREFIX}*`);
  const registry = work.bucket.arnForObjects(`${ASSET_REGISTRY_PREFIX}*`);
  const batchRecords = work.bucket.arnForObjects(`${BATCH_STATE_PREFIX}*`);
  for (const reader of [fn.copy, fn.prepare]) allow(reader, ['s3:GetObject'], [drop.bucket.arnForObjects('*')]);
  allow(fn.prepare, ['s3:GetObject', 's3:PutObject'], [registry]);
  for (const reader of [fn.prepare, fn.copy, fn.register, fn['start-processing'], fn.notify])
    allow(reader, ['s3:GetObject'], [runFiles]);
  for (const writer of [fn.prepare, fn.copy, fn['start-processing'], fn.notify])
    allow(writer, ['s3:PutObject'], [runFiles]);
  // Past processing times, at which the poll schedule aims (one object, the start reads it, notify adds to it).
  const processingHistory = work.bucket.arnForObjects(PROCESSING_HISTORY_KEY);
  allow(fn['start-processing'], ['s3:GetObject'], [processingHistory]);
  allow(fn.notify, ['s3:GetObject', 's3:PutObject'], [processingHistory]);
  // Where each batch stands, for the operator CLI (`batches/<run>.json`).
  for (const recorder of [fn.prepare, fn['check-batch'], fn.register, fn['start-processing'], fn.notify])
    allow(recorder, ['s3:PutObject'], [batchRecords]);
  // Listing the batches, and, since S3 answers a missing key with 403 instead of 404 (NoSuchKey) to a caller that
  // may not list the bucket, for the functions that look up a file that may not exist yet (a photo deleted after
  // listing, a run's marker, an asset not yet registered).
  for (const lister of [fn.prepare, fn.copy, fn['check-batch']])
    allow(lister, ['s3:ListBucket'], [drop.bucket.bucketArn]);
  for (const lister of [fn.prepare, fn['start-processing'], fn.notify])
    allow(lister, ['s3:ListBucket'], [work.bucket.bucketArn]);
  // Uploads in progress hold a batch open: listings do not show them.
  allow(fn['check-batch'], ['s3:ListBucketMultipartUploads'], [drop.bucket.bucketArn]);
  for (const user of [fn.prepare, fn.copy, fn.register, fn['start-processing'], fn['check-status']])
    credentials.grantRead(user);
  notifications.grantPublish(fn.notify);
}

/**
 * The wildcards cdk-nag finds in the grants above, acknowledged on the role that has them, each with its reason:
 * object-level S3 grants name keys created at run time, and X-Ray and log delivery take no resource.
 */
function acknowledgeWildcards(
  functions: PipelineFunctions,
  stateMachines: sfn.IStateMachine[],
  dropBucket: s3.IBucket,
  workBucket: s3.IBucket,
): void {
  const drop = arnInFinding(dropBucket, dropBucket.bucketArn);
  const work = arnInFinding(workBucket, workBucket.bucketArn);
  const reasons = {
    dropObjects: [
      `Resource::${drop}/*`,
      'Reads any photo of the drop bucket (read only): the photos of a batch are named at upload.',
    ],
    runFiles: [`Resource::${work}/${RUNS_PREFIX}*`, 'Run data of the work bucket (runs/<run>/...), named at run time.'],
    registry: [
      `Resource::${work}/${ASSET_REGISTRY_PREFIX}*`,
      'The asset registry of the work bucket (one record per asset name).',
    ],
    batchRecords: [
      `Resource::${work}/${BATCH_STATE_PREFIX}*`,
      'Writes the batch state records (batches/<run>.json) of the work bucket.',
    ],
    tracing: ['Resource::*', 'X-Ray trace segments take no resource.'],
  } as const;
  const { functions: fn } = functions;
  const findings: [IConstruct, (keyof typeof reasons)[]][] = [
    [fn.copy, ['dropObjects', 'runFiles', 'tracing']],
    [fn.prepare, ['dropObjects', 'runFiles', 'registry', 'batchRecords', 'tracing']],
    [fn.register, ['runFiles', 'batchRecords', 'tracing']],
    [fn['start-processing'], ['runFiles', 'batchRecords', 'tracing']],
    [fn.notify, ['runFiles', 'batchRecords', 'tracing']],
    [fn['check-batch'], ['batchRecords', 'tracing']],
    [fn['check-status'], ['tracing']],
    [fn.ingest, ['tracing']],
  ];
  for (const [construct, keys] of findings) {
    for (const key of keys) {
      const [finding, reason] = reasons[key];
      Validations.of(construct).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
  for (const stateMachine of stateMachines) {
    Validations.of(stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Log delivery to CloudWatch Logs and X-Ray tracing of a state machine take no resource.',
    });
  }
}

/** The full thresholds: the defaults under the props; a threshold out of range is refused, naming it and its range. */
function preflightThresholdsOf(given: Partial<PreflightThresholds> | undefined): PreflightThresholds {
  const parsed = preflightOverridesSchema.safeParse(given ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => {
            const suggestion = suggest(key, Object.keys(DEFAULT_PREFLIGHT_THRESHOLDS));
            return `preflight.${key} is not a threshold${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`;
          })
        : [`preflight.${issue.path.join('.')} ${issue.message}`],
    );
    throw new Error(`InspectPipeline: ${problems.join('; ')}`);
  }
  const thresholds = withOverrides(DEFAULT_PREFLIGHT_THRESHOLDS, parsed.data);
  if (thresholds.maxPhotos !== null && thresholds.maxPhotos < thresholds.minPhotos) {
    throw new Error(
      `InspectPipeline: preflight.maxPhotos ${thresholds.maxPhotos} is below minPhotos ${thresholds.minPhotos}: no flight could pass`,
    );
  }
  return thresholds;
}

/** Concurrency and throttling settings that would stop copies or never wait: refused, naming the setting. */
function assertConcurrency(scope: Construct, props: InspectPipelineProps): void {
  const whole = (name: string, value: number | undefined, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
      throw new Error(`InspectPipeline: ${name} must be a whole number from 1 to ${max}, got ${value}`);
    }
  };
  // MaxConcurrency 0 would mean "no limit"; an inline Map runs at most 40 iterations at once whatever it says (Step
  // Functions, "Inline mode"); a reserved concurrency of 0 would stop every copy.
  whole('copyConcurrency', props.copyConcurrency, 40);
  whole('copyReservedConcurrency', props.copyReservedConcurrency, 100_000);
  if (props.throttleRetry !== undefined && props.throttleRetry.toSeconds() < 60) {
    throw new Error(
      `InspectPipeline: throttleRetry must be at least 1 minute, got ${props.throttleRetry.toSeconds()} seconds`,
    );
  }
  const perFlight = props.copyConcurrency ?? 10;
  if (props.copyReservedConcurrency !== undefined && props.copyReservedConcurrency < perFlight) {
    Annotations.of(scope).addWarningV2(
      'inspect-pipeline:copyReservedBelowMapConcurrency',
      `copyReservedConcurrency ${props.copyReservedConcurrency} is below copyConcurrency ${perFlight}: every flight's copies will be throttled (and waited out); lower copyConcurrency to at most the reserved concurrency`,
    );
  }
}

/** A run reads its own data until its deadline passes: the work bucket must not expire it earlier. */
function assertRunDataOutlivesRuns(runRetentionDays: number | undefined, deadline: Duration): void {
  const neededDays = Math.ceil(deadline.toHours({ integral: false }) / 24) + 1;
  if (runRetentionDays !== undefined && Number.isInteger(runRetentionDays) && runRetentionDays < neededDays) {
    throw new Error(
      `InspectPipeline: runRetentionDays ${runRetentionDays} is shorter than a run may last (deadline ${deadline.toHours({ integral: false })} hours); ` +
        `use at least ${neededDays} days`,
    );
  }
}

function optional(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: value };
}
