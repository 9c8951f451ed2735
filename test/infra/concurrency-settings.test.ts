import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { longestWaitSeconds, throttleSchedule } from '../../lib/retry-policies';
import { type SynthesizedStack, synthesizeStack } from '../../local/pipeline/synthesized-stack';

/** The concurrency and throttling settings, from CDK context (`cdk deploy -c key=value`) to the template. */

type Retrier = {
  ErrorEquals: string[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxAttempts: number;
  MaxDelaySeconds: number;
  JitterStrategy?: string;
};
type State = {
  Type: string;
  Retry?: Retrier[];
  MaxConcurrency?: number;
  ItemProcessor?: { States: Record<string, State> };
};

const context = (settings: Record<string, unknown>) => ({
  ...cdkJsonContext(),
  'aws:cdk:bundling-stacks': [],
  ...settings,
});

function longestWait(retrier: Retrier): number {
  return longestWaitSeconds({
    interval: Duration.seconds(retrier.IntervalSeconds),
    backoffRate: retrier.BackoffRate,
    maxDelay: Duration.seconds(retrier.MaxDelaySeconds),
    maxAttempts: retrier.MaxAttempts,
    jitter: retrier.JitterStrategy === 'FULL',
  });
}

function states(definition: unknown): Record<string, State> {
  const all: Record<string, State> = {};
  const collect = (machine: { States: Record<string, State> }) => {
    for (const [name, state] of Object.entries(machine.States)) {
      all[name] = state;
      if (state.ItemProcessor) collect(state.ItemProcessor);
    }
  };
  collect(definition as { States: Record<string, State> });
  return all;
}

let configured: SynthesizedStack;

beforeAll(() => {
  configured = synthesizeStack({ throttleRetryMinutes: '60', copyConcurrency: '4', copyReservedConcurrency: '20' });
}, 60_000);

describe('concurrency and throttling settings', () => {
  it('waits out throttling for throttleRetryMinutes in every task, and notifies for at least as long', () => {
    // Prepare
    const inspection = states(configured.inspection.definition);
    const waiter = states(configured.waiter.definition);

    // Act
    const throttling = [...Object.entries(inspection), ...Object.entries(waiter)]
      .filter(([, state]) => state.Type === 'Task')
      .map(
        ([name, state]) =>
          [
            name,
            state.Retry!.find((retrier) => retrier.ErrorEquals.some((error) => /Throttl|TooManyRequests/.test(error)))!,
          ] as const,
      );

    // Assess
    expect(throttling.length).toBe(12);
    for (const [name, retrier] of throttling) {
      expect(longestWait(retrier), name).toBeGreaterThanOrEqual(60 * 60);
      expect(longestWait(retrier), name).toBeLessThanOrEqual(65 * 60);
    }
    expect(longestWaitSeconds(throttleSchedule(Duration.minutes(60)))).toBeGreaterThanOrEqual(3600);
  });

  it('sets the Copy photos Map concurrency from copyConcurrency and reserves copyReservedConcurrency for the copy function only', () => {
    // Prepare
    const { stack } = buildApp({ context: context({ copyConcurrency: '4', copyReservedConcurrency: '20' }) });
    const template = Template.fromStack(stack);

    // Act
    const map = states(configured.inspection.definition)['Copy photos'];
    const reserved = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { ReservedConcurrentExecutions: Match.anyValue() },
      }),
    );

    // Assess
    expect(map?.MaxConcurrency).toBe(4);
    expect(
      reserved.map((fn) => [fn.Metadata?.['inspect-pipeline:step'], fn.Properties.ReservedConcurrentExecutions]),
    ).toEqual([['copy', 20]]);
  });

  it("warns when the reserved concurrency is below one flight's copies", () => {
    // Act
    const { stack } = buildApp({ context: context({ copyConcurrency: '10', copyReservedConcurrency: '5' }) });

    // Assess
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('copyReservedConcurrency 5 is below copyConcurrency 10'),
    );
  });

  it.each([
    ['copyConcurrency', '0', /copyConcurrency must be a whole number from 1 to 40 .*, got 0/],
    ['copyReservedConcurrency', '2.5', /copyReservedConcurrency must be a whole number/],
    ['throttleRetryMinutes', '0', /throttleRetryMinutes must be a number of minutes of at least 1/],
  ])('refuses %s=%s, naming it', (key, value, message) => {
    // Act
    const build = () => buildApp({ context: context({ [key]: value }) });

    // Assess
    expect(build).toThrow(message);
  });
});
