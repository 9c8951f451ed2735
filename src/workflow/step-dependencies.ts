import type { S3Client } from '@aws-sdk/client-s3';
import type { StepMetrics } from '../observability/pipeline-metrics';
import type { Pix4dInspectApi } from '../pix4d/client';
import type { NotificationPublisher } from './notification-publisher';
import type { PipelineConfig } from './pipeline-config';

export interface StepLogger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

export type { StepMetrics } from '../observability/pipeline-metrics';

/** What the steps need from the outside world; the Lambdas build it from their environment, local mode directly. */
export interface StepDependencies {
  /** Reads the drop bucket; reads and writes the work bucket. */
  readonly s3: S3Client;
  /** The Pix4Dinspect API (credentials are resolved when it is first needed). */
  readonly pix4d: () => Promise<Pix4dInspectApi>;
  readonly publisher: NotificationPublisher;
  readonly config: PipelineConfig;
  /** S3 endpoint of Inspect's bucket when it is not AWS S3 (the simulator's). */
  readonly destinationEndpoint?: string;
  /** Values that must never leave the process (removed from notifications). */
  readonly secrets: () => readonly string[];
  readonly logger: StepLogger;
  readonly metrics: StepMetrics;
  /** Wraps the S3 clients a step creates itself (the copy's, with Inspect's credentials). @default as they are */
  readonly instrumentClient?: (client: S3Client) => S3Client;
  readonly now: () => Date;
}
