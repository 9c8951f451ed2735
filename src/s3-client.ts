import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * An S3 client for an S3-compatible endpoint (the embedded server, the simulator's gateway): path-style, and
 * checksums only where S3 requires them, since with the SDK default streamed bodies are sent aws-chunked, which
 * s3rver stores framing and all.
 */
export function createS3Client(config: S3ClientConfig & { endpoint: string }): S3Client {
  return createAwsS3Client({ region: 'us-east-1', forcePathStyle: true, ...config });
}

/**
 * An S3 client for AWS S3 that computes and validates checksums only where S3 requires them. The functions stream
 * photos through: with the SDK default, every GetObject of an object that has a full-object checksum (the default
 * since 2025) is checked with a CRC over every byte, which costs about as much CPU as the copy itself (the SDK's
 * CRC32 and CRC64NVME: 2.6 to 2.9 CPU s per GiB on a 2-core benchmark machine), and a Lambda's CPU scales with its
 * memory. TLS protects the transfer, and the copy checks each object's size where it lands.
 */
export function createAwsS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}
