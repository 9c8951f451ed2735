import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/app';
import {
  DEFAULT_STACK_NAME,
  type PipelineContext,
  PipelineContextError,
  parsePipelineContext,
} from '../../lib/pipeline-context';

/**
 * The ready app's CDK context, from `-c key=value` (strings) and cdk.json (JSON values) to the construct's props:
 * every problem one line naming the key, what it must be and what it got. The last test runs the real cdk CLI.
 */

const PROJECT_ROOT = join(__dirname, '..', '..');

/** What the cdk CLI 2.1148 passes besides cdk.json's context, as read from CDK_CONTEXT_JSON of an app it ran. */
const CLI_CONTEXT = {
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:version-reporting': true,
  'aws:cdk:bundling-stacks': ['**'],
  '@aws-cdk/core:failSynthOnValidationErrors': false,
  // Written into cdk.context.json by `cdk acknowledge 12345` and `cdk cli-telemetry --disable`.
  'acknowledged-issue-numbers': [12345],
  'cli-telemetry': false,
  // A lookup cached in cdk.context.json.
  'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
};

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    parsePipelineContext(context);
  } catch (error) {
    if (error instanceof PipelineContextError) return error.problems;
    throw error;
  }
  return [];
}

describe('CDK context: keys', () => {
  it('lets through the feature flags of cdk.json and every key the cdk CLI adds', () => {
    // Prepare
    const context = { ...cdkJsonContext(), ...CLI_CONTEXT };

    // Act
    const parsed = parsePipelineContext(context);

    // Assess
    expect(parsed).toStrictEqual({ stackName: DEFAULT_STACK_NAME, pipeline: {} });
  });

  it('refuses a mistyped key, suggesting the setting it was meant to be', () => {
    // Prepare
    const context = { ...cdkJsonContext(), notificationEmal: 'ops@example.com' };

    // Act
    const problems = problemsOf(context);

    // Assess
    expect(problems).toStrictEqual([
      'CDK context notificationEmal is not a setting of this app; did you mean notificationEmail?',
    ]);
  });

  it('refuses a key like no setting, listing the settings', () => {
    // Prepare
    const context = { colour: 'blue' };

    // Act
    const problems = problemsOf(context);

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^CDK context colour is not a setting of this app; remove it \(the settings are stackName, notificationEmail, .*pix4dApiUrl\)$/,
    );
  });

  it('names every problem at once, one line each', () => {
    // Prepare
    const context = { batchDepht: '3', batchDepth: '0', photosPerChunk: '5000' };

    // Act
    let thrown: unknown;
    try {
      parsePipelineContext(context);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(PipelineContextError);
    const { problems, message, name } = thrown as PipelineContextError;
    expect(name).toBe('PipelineContextError');
    expect(problems).toStrictEqual([
      'CDK context batchDepht is not a setting of this app; did you mean batchDepth?',
      'CDK context batchDepth must be a whole number from 1 to 10 (folder levels that make a batch), got 0',
      'CDK context photosPerChunk must be a whole number from 1 to 1000, got 5000',
    ]);
    expect(message.split('\n')).toStrictEqual(problems);
  });
});

describe('CDK context: values', () => {
  it.each([
    ['batchDepth', '0', /^CDK context batchDepth must be a whole number from 1 to 10 .*, got 0$/],
    ['batchDepth', 11, /batchDepth must be a whole number from 1 to 10 .*, got 11$/],
    ['batchDepth', '2.5', /batchDepth must be a whole number from 1 to 10/],
    ['photosPerChunk', '0', /photosPerChunk must be a whole number from 1 to 1000, got 0$/],
    [
      'copyConcurrency',
      '0',
      /copyConcurrency must be a whole number from 1 to 40 \(the Copy photos Map runs at most 40 iterations at once\), got 0$/,
    ],
    ['copyConcurrency', '41', /copyConcurrency must be a whole number from 1 to 40 .*, got 41$/],
    ['copyReservedConcurrency', '2.5', /copyReservedConcurrency must be a whole number from 1 to 100000, got 2.5$/],
    ['quietPeriodMinutes', '-1', /quietPeriodMinutes must be a number of minutes from 0 to 10079 .*, got -1$/],
    [
      'quietPeriodMinutes',
      '10080',
      /quietPeriodMinutes must be a number of minutes from 0 to 10079 .*the batch waiter gives up after 7 days/,
    ],
    ['quietPeriodMinutes', '0.001', /quietPeriodMinutes must be a number of minutes from 0 to 10079 in whole seconds/],
    ['deadlineHours', '0', /deadlineHours must be a number of hours above 0 and at most 8748, .*, got 0$/],
    ['deadlineHours', '8749', /deadlineHours must be a number of hours above 0 and at most 8748/],
    ['deadlineHours', 'soon', /deadlineHours must be a number of hours .*, got soon$/],
    ['pollMaxMinutes', '0', /pollMaxMinutes must be a number of minutes above 0/],
    ['expectedSecondsPerPhoto', '0', /expectedSecondsPerPhoto must be a number of seconds of at least 0.001/],
    ['expectedSecondsPerPhoto', 'slow', /expectedSecondsPerPhoto must be a number of seconds .*, got slow$/],
    [
      'throttleRetryMinutes',
      '0.5',
      /throttleRetryMinutes must be a number of minutes of at least 1, in whole seconds, got 0.5$/,
    ],
    ['defaultAssetType', '0', /defaultAssetType must be a whole number of 1 or more/],
    ['abortIncompleteUploadDays', '0', /abortIncompleteUploadDays must be a whole number of days of 1 or more, got 0$/],
    ['noncurrentVersionDays', '1.5', /noncurrentVersionDays must be a whole number of days of 1 or more, got 1.5$/],
    [
      'runRetentionDays',
      '0',
      /runRetentionDays must be a whole number of days of 1 or more, longer than the deadline, got 0$/,
    ],
    ['logRetentionDays', '100', /^CDK context logRetentionDays must be one of 1, 3, 5, 7, .*, 9999 .*, got 100$/],
    ['logRetentionDays', 0, /logRetentionDays must be one of 1, 3, 5/],
    ['notificationEmail', 'ops@', /notificationEmail must be an email address such as ops@example.com, got ops@$/],
    ['notificationEmail', 42, /notificationEmail must be an email address such as ops@example.com, got 42$/],
    [
      'secretName',
      'pix4d inspect',
      /secretName must be a Secrets Manager secret name: 1 to 512 letters, digits and \/_\+=\.@- characters, got "pix4d inspect"$/,
    ],
    [
      'secretArn',
      'arn:aws:s3:::drop-bucket',
      /secretArn must be a Secrets Manager secret ARN \(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>\)/,
    ],
    ['topicArn', 'arn:aws:sns:eu-west-1:123456789012:outcomes.fifo', /topicArn must be an SNS standard topic ARN/],
    ['topicArn', 'arn:aws:sqs:eu-west-1:123456789012:outcomes', /topicArn must be an SNS standard topic ARN/],
    [
      'pix4dApiUrl',
      'http://api.inspect.pix4d.com',
      /pix4dApiUrl must be an https:\/\/ URL such as https:\/\/api.inspect.pix4d.com, got http:\/\/api.inspect.pix4d.com$/,
    ],
    ['pix4dAuthUrl', 'inspect.pix4d.com', /pix4dAuthUrl must be an https:\/\/ URL/],
    [
      'stackName',
      '1st-pipeline',
      /stackName must be a CloudFormation stack name: letters, digits and hyphens, starting with a letter, at most 128 characters, got 1st-pipeline$/,
    ],
    ['stackName', 'inspect_pipeline', /stackName must be a CloudFormation stack name/],
    ['stackName', `P${'x'.repeat(128)}`, /stackName must be a CloudFormation stack name/],
    [
      'defaultProcessingParameters',
      'not json',
      /defaultProcessingParameters must be a JSON object with some of is_video, .*, got "not json"$/,
    ],
    [
      'defaultProcessingParameters',
      '{"clip_radius":1}',
      /defaultProcessingParameters must be a JSON object .*, got \{"clip_radius":1\} \(unknown field clip_radius \(did you mean clipping_radius\?\)\)$/,
    ],
    [
      'defaultProcessingParameters',
      { clipping_radius: -1 },
      /defaultProcessingParameters must be a JSON object .* \(at clipping_radius\)$/,
    ],
    [
      'minPhotos',
      '0',
      /^CDK context minPhotos must be a whole number of 1 or more \(the pre-flight refuses a flight with fewer photos\), got 0$/,
    ],
    ['maxPhotos', '2.5', /maxPhotos must be a whole number of 1 or more, or none for no limit .*, got 2.5$/],
    ['maxPhotos', 'lots', /maxPhotos must be a whole number of 1 or more, or none for no limit/],
    ['minGeotaggedShare', '90', /minGeotaggedShare must be a number from 0 to 1 .*, got 90$/],
    ['maxFlightHours', '0', /maxFlightHours must be a number of hours above 0 .*, got 0$/],
    ['maxSpreadMeters', '-5', /maxSpreadMeters must be a number of metres above 0 .*, got -5$/],
  ])('refuses %s=%j, naming what it must be', (key, value, expected) => {
    // Act
    const problems = problemsOf({ ...cdkJsonContext(), [key]: value });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('refuses a run retention shorter than a run may last, naming both settings', () => {
    // Prepare
    const context = { runRetentionDays: '2', deadlineHours: '48' };

    // Act
    const problems = problemsOf(context);

    // Assess
    expect(problems).toStrictEqual([
      'CDK context runRetentionDays 2 is shorter than a run may last (deadlineHours 48); use at least 3 days, or a shorter deadlineHours',
    ]);
  });

  it('refuses a maxPhotos below minPhotos, the default minimum included', () => {
    // Prepare
    const contexts = [{ maxPhotos: '3' }, { minPhotos: '10', maxPhotos: '8' }];

    // Act
    const problems = contexts.map(problemsOf);

    // Assess
    expect(problems).toStrictEqual([
      ['CDK context maxPhotos 3 is below minPhotos 6: no flight could pass the pre-flight'],
      ['CDK context maxPhotos 8 is below minPhotos 10: no flight could pass the pre-flight'],
    ]);
  });

  it('refuses a secret given both by ARN and by name', () => {
    // Prepare
    const context = {
      secretName: 'pix4d/inspect',
      secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/inspect-AbC123',
    };

    // Act
    const problems = problemsOf(context);

    // Assess
    expect(problems).toStrictEqual([
      'CDK context secretArn and secretName conflict: give one of them (or neither, for a new secret)',
    ]);
  });

  it('takes numbers as text from -c and as numbers from cdk.json alike', () => {
    // Prepare
    const fromCommandLine = {
      batchDepth: '3',
      quietPeriodMinutes: '0.5',
      deadlineHours: '24',
      logRetentionDays: '365',
      copyConcurrency: ' 4 ',
    };
    const fromCdkJson = {
      batchDepth: 3,
      quietPeriodMinutes: 0.5,
      deadlineHours: 24,
      logRetentionDays: 365,
      copyConcurrency: 4,
    };

    // Act
    const [typed, json] = [parsePipelineContext(fromCommandLine), parsePipelineContext(fromCdkJson)];

    // Assess
    expect(typed).toStrictEqual(json);
    expect(typed.pipeline.batchDepth).toBe(3);
    expect(typed.pipeline.quietPeriod?.toSeconds()).toBe(30);
    expect(typed.pipeline.deadline?.toHours()).toBe(24);
    expect(typed.pipeline.logRetention).toBe(365);
    expect(typed.pipeline.copyConcurrency).toBe(4);
  });

  it('takes defaultProcessingParameters as JSON text or as an object', () => {
    // Prepare
    const parameters = { clip_point_cloud: false, clipping_radius: 12.5 };

    // Act
    const fromText = parsePipelineContext({ defaultProcessingParameters: JSON.stringify(parameters) });
    const fromObject = parsePipelineContext({ defaultProcessingParameters: parameters });

    // Assess
    expect(fromText.pipeline.defaultProcessingParameters).toStrictEqual(parameters);
    expect(fromObject.pipeline.defaultProcessingParameters).toStrictEqual(parameters);
  });

  it('treats a blank value (-c key=) as not set, so the default applies', () => {
    // Prepare
    const context = {
      batchDepth: '',
      notificationEmail: '  ',
      defaultProcessingParameters: '',
      stackName: '',
      topicArn: null,
    };

    // Act
    const parsed = parsePipelineContext(context);

    // Assess
    expect(parsed).toStrictEqual({ stackName: DEFAULT_STACK_NAME, pipeline: {} });
  });

  it('turns every setting into the construct prop it configures', () => {
    // Prepare
    const context = {
      stackName: 'InspectPipeline-dev',
      notificationEmail: ' ops@example.com ',
      secretName: 'pix4d/inspect',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:inspect-notifications',
      quietPeriodMinutes: '0',
      batchDepth: '1',
      defaultAssetType: '2',
      deadlineHours: '8748',
      pollMaxMinutes: '5',
      expectedSecondsPerPhoto: '2.5',
      photosPerChunk: '1000',
      copyConcurrency: '40',
      copyReservedConcurrency: '20',
      throttleRetryMinutes: '60',
      abortIncompleteUploadDays: '3',
      noncurrentVersionDays: '10',
      logRetentionDays: '9999',
      runRetentionDays: '366',
      pix4dAuthUrl: 'https://auth.example.com',
      pix4dApiUrl: 'https://api.example.com/inspect',
      minPhotos: '3',
      maxPhotos: 'none',
      minGeotaggedShare: '0.5',
      maxFlightHours: '2',
      maxSpreadMeters: '500',
    };

    // Act
    const { stackName, pipeline }: PipelineContext = parsePipelineContext(context);

    // Assess
    expect(stackName).toBe('InspectPipeline-dev');
    expect({
      ...pipeline,
      quietPeriod: pipeline.quietPeriod?.toSeconds(),
      deadline: pipeline.deadline?.toHours(),
      pollMaxWait: pipeline.pollMaxWait?.toSeconds(),
      expectedProcessingPerPhoto: pipeline.expectedProcessingPerPhoto?.toMilliseconds(),
      throttleRetry: pipeline.throttleRetry?.toMinutes(),
    }).toStrictEqual({
      notificationEmail: 'ops@example.com',
      secretName: 'pix4d/inspect',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:inspect-notifications',
      quietPeriod: 0,
      batchDepth: 1,
      defaultAssetType: 2,
      deadline: 8748,
      pollMaxWait: Duration.minutes(5).toSeconds(),
      expectedProcessingPerPhoto: 2_500,
      photosPerChunk: 1000,
      copyConcurrency: 40,
      copyReservedConcurrency: 20,
      throttleRetry: 60,
      abortIncompleteUploadDays: 3,
      noncurrentVersionDays: 10,
      logRetention: 9999,
      runRetentionDays: 366,
      pix4dAuthUrl: 'https://auth.example.com',
      pix4dApiUrl: 'https://api.example.com/inspect',
      preflight: { minPhotos: 3, maxPhotos: null, minGeotaggedShare: 0.5, maxFlightHours: 2, maxSpreadMeters: 500 },
    });
  });
});

describe('CDK context: what `cdk synth` shows', () => {
  const outdirs: string[] = [];

  afterAll(() => {
    for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
  });

  it('prints one line for an out-of-range setting, without TypeScript source or a stack trace', {
    timeout: 180_000,
  }, async () => {
    // Prepare: an assembly folder of its own, so that the CLI's lock on cdk.out meets no other synth
    const outdir = mkdtempSync(join(tmpdir(), 'inspect-pipeline-context-'));
    outdirs.push(outdir);
    const env = { ...process.env, CDK_DEBUG: undefined, INSPECT_PIPELINE_DEBUG: undefined };

    // Act
    const failure = await promisify(execFile)(
      join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '-c', 'batchDepth=0', '--quiet', '--output', outdir],
      { cwd: PROJECT_ROOT, env, timeout: 170_000 },
    ).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );

    // Assess
    expect(failure?.code).toBe(1);
    const lines = (failure?.stderr ?? '').split('\n').filter((line) => line.trim() !== '');
    expect(lines.filter((line) => line.startsWith('inspect-pipeline:'))).toStrictEqual([
      'inspect-pipeline: CDK context batchDepth must be a whole number from 1 to 10 (folder levels that make a batch), got 0',
    ]);
    // cdk's own line: it ran the app, which exited 2 (a usage error), not 1 (a crash).
    expect(lines).toContain('npx tsx bin/inspect-pipeline.ts: Subprocess exited with error 2');
    expect(lines.filter((line) => /^\s+at |\.ts:\d+|^\s*\^+\s*$|^Node\.js v/.test(line))).toStrictEqual([]);
  });
});
