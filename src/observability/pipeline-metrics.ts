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

/** A metric of `unit`: what one data point means, and its dimensions besides `service`. */
function metricOf<const U extends MetricUnitName>(unit: U) {
  return <const D extends readonly string[]>(description: string, ...dimensions: D) => ({
    unit,
    dimensions,
    description,
  });
}
const count = metricOf('Count');
const bytes = metricOf('Bytes');
const seconds = metricOf('Seconds');
const bytesPerSecond = metricOf('Bytes/Second');

export const PIPELINE_METRICS = {
  BatchesClosed: count('A batch closed (trigger: manifest or quiet-period) and its run began', 'trigger'),
  InspectionsCompleted: count('A run ended with a completed processing'),
  InspectionsFailed: count('A run ended failed (cause: input or system)', 'cause'),
  FailuresByStage: count('A failed run, by the stage it failed at', 'stage'),
  InspectionsTimedOut: count('Processing passed its deadline'),
  LatePhotosReported: count('Photos arrived in a folder whose inspection had already started'),
  RunsSkipped: count('A close of a folder that another run already handles'),
  PhotosCopied: count('Photos copied into Pix4Dinspect'),
  BytesCopied: bytes('Bytes copied into Pix4Dinspect'),
  CopyThroughput: bytesPerSecond("One chunk's bytes over its copy time"),
  S3CredentialRefreshes: count("Pix4Dinspect's temporary S3 credentials fetched again during a copy"),
  TimeToProcessingStart: seconds('From the batch closing to processing started'),
  ProcessingDuration: seconds('From processing started to its outcome'),
  TimeToNotification: seconds('From the batch closing to its notification'),
  Pix4dApiCalls: count('Pix4Dinspect requests sent, by what answered', 'statusClass'),
  Pix4dApiRetries: count('Pix4Dinspect requests sent again after a transient failure'),
  Pix4dApiErrors: count('Pix4Dinspect calls that failed after their retries, by what answered last', 'statusClass'),
  ManifestsMisplaced: count('A file named like a manifest outside a batch folder'),
  RecordsNotWritten: count("An operator record (the CLI's status) could not be written"),
  StatusChecksFailed: count('A processing status check failed and was tried again'),
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
