import type { CopyOptions } from '../copy/copier';
import { DEFAULT_PROCESSING_PARAMETERS, type ProcessingParameters } from '../pix4d/schemas';
import { DEFAULT_PREFLIGHT_THRESHOLDS, type PreflightThresholds } from '../preflight/preflight';
import { DEFAULT_POLL_SCHEDULE, type PollSchedule } from '../status/poll-schedule';
import { DEFAULT_STATUS_CLASSES, type StatusClasses } from '../status/processing-status';

/** Settings of the workflow steps; the Lambdas read them from their environment, local mode passes them in. */
export interface PipelineConfig {
  /** Bucket of run data and the asset registry. */
  readonly workBucket: string;
  /** Asset type of assets the pipeline creates. @default 1 */
  readonly defaultAssetType: number;
  /** Merged under a manifest's `processing_parameters`. @default the tutorial's */
  readonly defaultProcessingParameters: ProcessingParameters;
  /** Photos per copy invocation (one Map iteration). @default 100 */
  readonly photosPerChunk: number;
  readonly copy: CopyOptions;
  /** Time allowed from the start of processing to its end. @default 48 */
  readonly deadlineHours: number;
  readonly pollSchedule: PollSchedule;
  readonly statusClasses: StatusClasses;
  /** Base of inspection links. @default https://inspect.pix4d.com */
  readonly inspectBaseUrl: string;
  /** The pre-flight's thresholds, under those of a manifest's `preflight`. @default DEFAULT_PREFLIGHT_THRESHOLDS */
  readonly preflight: PreflightThresholds;
}

export const DEFAULT_PIPELINE_CONFIG: Omit<PipelineConfig, 'workBucket'> = {
  defaultAssetType: 1,
  defaultProcessingParameters: DEFAULT_PROCESSING_PARAMETERS,
  photosPerChunk: 100,
  copy: {},
  deadlineHours: 48,
  pollSchedule: DEFAULT_POLL_SCHEDULE,
  statusClasses: DEFAULT_STATUS_CLASSES,
  inspectBaseUrl: 'https://inspect.pix4d.com',
  preflight: DEFAULT_PREFLIGHT_THRESHOLDS,
};
