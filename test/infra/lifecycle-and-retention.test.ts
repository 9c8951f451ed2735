import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { VENDED_LOGS_PREFIX } from '../../lib/execution-logging';

/** What the stack keeps, for how long, and what survives its deletion: from CDK context to the template. */

// biome-ignore lint/suspicious/noExplicitAny: template properties are read by path as CloudFormation writes them.
type Resource = { Type: string; DeletionPolicy?: string; Properties: Record<string, any> };

const synth = (settings: Record<string, unknown> = {}) =>
  Template.fromStack(buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...settings } }).stack);

let resources: Record<string, Resource>;

beforeAll(() => {
  resources = synth().toJSON().Resources as Record<string, Resource>;
}, 60_000);

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const refOf = (value: unknown) => (value as { Ref?: string } | undefined)?.Ref;
const getAttOf = (value: unknown) => (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];

describe('lifecycle and retention', () => {
  it('take the lifecycle days from CDK context', () => {
    // Prepare
    const settings = { abortIncompleteUploadDays: '3', noncurrentVersionDays: '60', runRetentionDays: '120' };

    // Act
    const rules = Object.values(synth(settings).findResources('AWS::S3::Bucket')).flatMap(
      (bucket) => (bucket.Properties.LifecycleConfiguration?.Rules ?? []) as object[],
    );

    // Assess
    expect(rules).toContainEqual({
      Id: 'AbortIncompleteUploads',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 },
      Status: 'Enabled',
    });
    expect(rules).toContainEqual({
      Id: 'ExpireReplacedVersions',
      NoncurrentVersionExpiration: { NoncurrentDays: 60 },
      Status: 'Enabled',
    });
    expect(rules).toContainEqual({ Id: 'ExpireRuns', Prefix: 'runs/', ExpirationInDays: 120, Status: 'Enabled' });
    expect(rules).toContainEqual({
      Id: 'ExpireBatchRecords',
      Prefix: 'batches/',
      ExpirationInDays: 120,
      Status: 'Enabled',
    });
  });

  it('refuse a run retention shorter than a run may last', () => {
    // Prepare
    const settings = { runRetentionDays: '2', deadlineHours: '48' };

    // Act
    const build = () => synth(settings);

    // Assess
    expect(build).toThrow(
      'CDK context runRetentionDays 2 is shorter than a run may last (deadlineHours 48); use at least 3 days',
    );
  });

  it("give every log group a retention, and every function, CDK's own included, a log group of the stack", () => {
    // Prepare
    const logGroups = ofType('AWS::Logs::LogGroup');
    const functions = ofType('AWS::Lambda::Function');

    // Act
    const withoutRetention = logGroups.filter(([, group]) => !(group.Properties.RetentionInDays > 0)).map(([id]) => id);
    const withoutOwnGroup = functions
      .filter(([, fn]) => resources[refOf(fn.Properties.LoggingConfig?.LogGroup) ?? '']?.Type !== 'AWS::Logs::LogGroup')
      .map(([id]) => id);

    // Assess
    expect(functions.map(([id]) => id)).toContainEqual(expect.stringMatching(/^BucketNotificationsHandler/));
    expect(functions).toHaveLength(9);
    expect(logGroups).toHaveLength(11);
    expect(withoutRetention).toStrictEqual([]);
    expect(withoutOwnGroup).toStrictEqual([]);
  });

  it('take the retention of every log group from CDK context, and refuse one CloudWatch Logs does not offer', () => {
    // Prepare
    const year = { logRetentionDays: '365' };

    // Act
    const retentions = Object.values(synth(year).findResources('AWS::Logs::LogGroup')).map(
      (group) => group.Properties.RetentionInDays,
    );
    const build = () => synth({ logRetentionDays: '100' });

    // Assess
    expect(retentions).toHaveLength(11);
    expect(new Set(retentions)).toStrictEqual(new Set([365]));
    expect(build).toThrow(/CDK context logRetentionDays must be one of 1, 3, 5, .*, got 100/);
  });

  it('make stack traces in the logs readable: every function of the pipeline ships its source map and uses it', () => {
    // Prepare
    const functions = ofType('AWS::Lambda::Function').filter(([id]) => !id.startsWith('BucketNotificationsHandler'));

    // Act
    const options = functions.map(([, fn]) => fn.Properties.Environment?.Variables?.NODE_OPTIONS as unknown);

    // Assess
    expect(options).toHaveLength(8);
    expect(new Set(options)).toStrictEqual(new Set(['--enable-source-maps']));
  });

  it('log both state machines under the vended logs prefix, each to a group of its own', () => {
    // Prepare
    const stateMachines = ofType('AWS::StepFunctions::StateMachine');

    // Act
    const names = stateMachines.map(([, machine]) => {
      const [destination] = machine.Properties.LoggingConfiguration.Destinations as {
        CloudWatchLogsLogGroup: { LogGroupArn: unknown };
      }[];
      return resources[getAttOf(destination?.CloudWatchLogsLogGroup.LogGroupArn) ?? '']?.Properties
        .LogGroupName as string;
    });

    // Assess
    expect(names).toHaveLength(2);
    for (const name of names) expect(name.startsWith(VENDED_LOGS_PREFIX)).toBe(true);
    expect(new Set(names).size).toBe(2);
  });

  it('list in the README every resource that stays after cdk destroy', () => {
    // Prepare
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Teardown: what stays'), readme.indexOf('## Configuration'));

    // Act
    const kept = new Map<string, number>();
    for (const [, resource] of Object.entries(resources)) {
      if (resource.DeletionPolicy === 'Retain') kept.set(resource.Type, (kept.get(resource.Type) ?? 0) + 1);
    }
    const listed = new Map(
      [...section.matchAll(/^\| (\d+) \| `(AWS::[A-Za-z0-9:]+)` \|/gm)].map((row) => [row[2], Number(row[1])]),
    );

    // Assess
    expect(kept.size).toBeGreaterThan(0);
    expect(listed).toStrictEqual(kept);
  });
});
