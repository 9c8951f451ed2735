import type { MetricRecord } from './metric-log';

/** One flight's figures, from the metrics its functions emitted: what the dashboard shows of it. */
export interface FlightFigures {
  /** The batch folder, and the id its functions named in their metrics (its execution's name). */
  readonly batch: string;
  readonly batchId: string;
  /** Close -> processing started, processing started -> outcome, close -> notification; null: not reached. */
  readonly seconds: {
    readonly closeToProcessing: number | null;
    readonly processing: number | null;
    readonly closeToNotification: number | null;
  };
  readonly photosCopied: number;
  readonly bytesCopied: number;
  /** Each copied chunk's bytes over its copy time; null without a copied chunk. */
  readonly chunkThroughput: {
    readonly chunks: number;
    readonly meanBytesPerSecond: number;
    readonly minBytesPerSecond: number;
    readonly maxBytesPerSecond: number;
  } | null;
  readonly pix4d: { readonly calls: number; readonly retries: number; readonly failedCalls: number };
  readonly s3CredentialRefreshes: number;
}

export function flightFigures(
  records: readonly MetricRecord[],
  batch: { readonly id: string; readonly prefix: string },
): FlightFigures {
  const batchId = batch.id;
  const ofBatch = records.filter((record) => record.batchId === batchId);
  const values = (name: string) => ofBatch.filter((record) => record.name === name).flatMap((record) => record.values);
  const sum = (name: string) => values(name).reduce((total, value) => total + value, 0);
  const last = (name: string) => values(name).at(-1) ?? null;
  const throughput = values('CopyThroughput');
  return {
    batch: batch.prefix,
    batchId,
    seconds: {
      closeToProcessing: last('TimeToProcessingStart'),
      processing: last('ProcessingDuration'),
      closeToNotification: last('TimeToNotification'),
    },
    photosCopied: sum('PhotosCopied'),
    bytesCopied: sum('BytesCopied'),
    chunkThroughput:
      throughput.length === 0
        ? null
        : {
            chunks: throughput.length,
            meanBytesPerSecond: throughput.reduce((total, value) => total + value, 0) / throughput.length,
            minBytesPerSecond: Math.min(...throughput),
            maxBytesPerSecond: Math.max(...throughput),
          },
    pix4d: { calls: sum('Pix4dApiCalls'), retries: sum('Pix4dApiRetries'), failedCalls: sum('Pix4dApiErrors') },
    s3CredentialRefreshes: sum('S3CredentialRefreshes'),
  };
}
