/**
 * The package's entry point (`import { InspectPipeline } from 'inspect-pipeline'`): the construct, its props and the
 * types that fill them. The ready stack and the app (lib/app.ts, which needs cdk-nag) stay out: a consumer brings
 * its own stack and checks.
 */

export type { ProcessingParameters } from '../src/pix4d/schemas';
export type { PreflightThresholds } from '../src/preflight/preflight';
export type { StatusClasses } from '../src/status/processing-status';
export type { BatchWaiter } from './batch-waiter';
export type { IngestQueue } from './ingest-queue';
export { InspectPipeline, type InspectPipelineProps } from './inspect-pipeline';
export type { InspectionWorkflow } from './inspection-workflow';
export type { PipelineAlarms } from './pipeline-alarms';
export type { PipelineDashboard } from './pipeline-dashboard';
// The types of the construct's public members (pipeline.functions, .queue, .workflow, .waiter, .alarms, .dashboard).
export type { PipelineFunctions, PipelineStep } from './pipeline-functions';
// The outputs' names (each OutputKey is CDK's logical id, e.g. PhotosDropBucketName1A2B3C4D), for a consumer that
// makes its own from `outputValues` with `outputs: false`.
export { PIPELINE_OUTPUT_NAMES, type PipelineOutputName, type PipelineOutputValue } from './pipeline-outputs';
