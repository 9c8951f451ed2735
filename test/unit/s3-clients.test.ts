import { describe, expect, it } from 'vitest';
import { checkBatchDependenciesFromEnv } from '../../functions/check-batch/handler';
import { defaultStepClients } from '../../functions/shared/step-runtime';
import { createAwsS3Client } from '../../src/s3-client';

/**
 * The functions' own S3 clients on AWS validate no checksum S3 does not require: a CRC over every byte of every photo
 * a GetObject streams costs about as much CPU as the copy itself.
 */
describe("the functions' S3 clients", () => {
  it.each([
    ['createAwsS3Client()', () => createAwsS3Client({ region: 'eu-west-1' })],
    ['the steps client', () => defaultStepClients().s3],
    ['the check-batch client', () => checkBatchDependenciesFromEnv({ WORK_BUCKET: 'work' }).s3],
  ])('%s computes and validates checksums only when S3 requires them', async (_name, client) => {
    // Act
    const { config } = client();

    // Assess
    expect(await config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
  });

  it('keeps the SDK default for a client built without the helper, which is what the helper changes', async () => {
    // Act
    const { S3Client } = await import('@aws-sdk/client-s3');
    const { config } = new S3Client({ region: 'eu-west-1' });

    // Assess
    expect(await config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
  });
});
