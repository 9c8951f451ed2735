/**
 * Every metric the pipeline's functions emit (CloudWatch embedded metric format, through Powertools Metrics): the
 * one list the functions, the dashboard, the alarms and the tests read, so that none of them names a metric the
 * others do not know.
 */
export const METRICS_NAMESPACE = 'InspectPipeline';

/** The `service` dimension every metric carries (Powertools' default dimension). */
export const METRICS_SERVICE = 'inspect-pipeline';

export type MetricUnitName = 'Count' | 'Bytes' | 'Seconds' | 'Bytes/Second';

export interface MetricSpec {
  readonly unit: MetricUnitName;
  /** Dimensions besides `service`; each data point names a value for each. */
  readonly dimensions: readonly string[];
  /** What one data point means, in plain words. */
  readonly description: string;
}

/** Why a failed run failed: the person's flight or manifest (`input`), or the pipeline and its services (`system`). */
export const FAILURE_CAUSES = ['input', 'system'] as const;
export type FailureCause = (typeof FAILURE_CAUSES)[number];

/** How a batch closed. */
export const CLOSE_TRIGGERS = ['manifest', 'quiet-period'] as const;
export type CloseTrigger = (typeof CLOSE_TRIGGERS)[number];

/** Errors that name a problem of the person's input: the notification tells them what to fix, nobody is paged. */
export const INPUT_ERRORS: readonly string[] = ['ManifestError', 'PreflightError', 'NoPhotosError', 'FolderNameError'];

/** The stages a failure is reported at (the notification's `error.stage`). */
export const FAILURE_STAGES = [
  'manifest',
  'preflight',
  'prepare',
  'copy',
  'register',
  'processing',
  'status',
  'unknown',
] as const;

/** What answered a Pix4Dinspect request: the HTTP status class, or no answer at all. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network' | 'timeout';
export const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'network', 'timeout'];

export const PIPELINE_METRICS = {
  BatchesClosed: {
    unit: 'Count',
    dimensions: ['trigger'],
    description: 'A batch closed (trigger: manifest or quiet-period) and its run began',
  },
  InspectionsCompleted: { unit: 'Count', dimensions: [], description: 'A run ended with a completed processing' },
  InspectionsFailed: {
    unit: 'Count',
    dimensions: ['cause'],
    description: 'A run ended failed (cause: input or system)',
  },
  FailuresByStage: { unit: 'Count', dimensions: ['stage'], description: 'A failed run, by the stage it failed at' },
  InspectionsTimedOut: { unit: 'Count', dimensions: [], description: 'Processing passed its deadline' },
  LatePhotosReported: {
    unit: 'Count',
    dimensions: [],
    description: 'Photos arrived in a folder whose inspection had already started',
  },
  RunsSkipped: { unit: 'Count', dimensions: [], description: 'A close of a folder that another run already handles' },
  PhotosCopied: { unit: 'Count', dimensions: [], description: 'Photos copied into Pix4Dinspect' },
  BytesCopied: { unit: 'Bytes', dimensions: [], description: 'Bytes copied into Pix4Dinspect' },
  CopyThroughput: { unit: 'Bytes/Second', dimensions: [], description: "One chunk's bytes over its copy time" },
  S3CredentialRefreshes: {
    unit: 'Count',
    dimensions: [],
    description: "Pix4Dinspect's temporary S3 credentials fetched again during a copy",
  },
  TimeToProcessingStart: {
    unit: 'Seconds',
    dimensions: [],
    description: 'From the batch closing to processing started',
  },
  ProcessingDuration: { unit: 'Seconds', dimensions: [], description: 'From processing started to its outcome' },
  TimeToNotification: { unit: 'Seconds', dimensions: [], description: 'From the batch closing to its notification' },
  Pix4dApiCalls: {
    unit: 'Count',
    dimensions: ['statusClass'],
    description: 'Pix4Dinspect requests sent, by what answered',
  },
  Pix4dApiRetries: {
    unit: 'Count',
    dimensions: [],
    description: 'Pix4Dinspect requests sent again after a transient failure',
  },
  Pix4dApiErrors: {
    unit: 'Count',
    dimensions: ['statusClass'],
    description: 'Pix4Dinspect calls that failed after their retries, by what answered last',
  },
  ManifestsMisplaced: {
    unit: 'Count',
    dimensions: [],
    description: 'A file named like a manifest outside a batch folder',
  },
  RecordsNotWritten: {
    unit: 'Count',
    dimensions: [],
    description: "An operator record (the CLI's status) could not be written",
  },
  StatusChecksFailed: {
    unit: 'Count',
    dimensions: [],
    description: 'A processing status check failed and was tried again',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof PIPELINE_METRICS;

type DimensionNames<N extends MetricName> = (typeof PIPELINE_METRICS)[N]['dimensions'][number];

/** The dimensions argument of a metric: none for a metric without, each of its dimensions otherwise. */
export type MetricDimensionsArgument<N extends MetricName> = [DimensionNames<N>] extends [never]
  ? []
  : [Readonly<Record<DimensionNames<N>, string>>];

/** What the domain modules record metrics through, so that they need no Powertools types. */
export interface StepMetrics {
  record<N extends MetricName>(name: N, value: number, ...dimensions: MetricDimensionsArgument<N>): void;
  /** Names the batch this invocation's metrics are about (metadata of its EMF lines, not a dimension). */
  about(batchId: string): void;
}

/** The status class of an HTTP status. */
export function statusClassOf(status: number): StatusClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}
