import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * An S3 client for an S3-compatible endpoint (the embedded server, the simulator's gateway): path-style, and
 * checksums only where S3 requires them, since with the SDK default streamed bodies are sent aws-chunked, which
 * s3rver stores framing and all.
 */
export function createS3Client(config: S3ClientConfig & { endpoint: string }): S3Client {
  return new S3Client({
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}
