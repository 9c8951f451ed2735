import { afterEach, expect } from 'vitest';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline/local-pipeline';
import { SMALL_FLIGHT_PREFLIGHT } from './small-flights';

/**
 * Starts local pipelines for the tests of a file, `defaults` under each test's options, and closes them after each
 * test. Flights of any size pass the pre-flight unless a test sets its thresholds (`config.preflight`). The test fails if IAM refused any call: every call each function and state machine made must be allowed by
 * its role in the synthesized template.
 */
export function localPipelinesPerTest(
  defaults: LocalPipelineOptions = {},
): (options?: LocalPipelineOptions) => Promise<LocalPipeline> {
  let pipelines: LocalPipeline[] = [];
  afterEach(async () => {
    const refused = pipelines.flatMap((pipeline) => pipeline.iam?.refused() ?? []);
    await Promise.all(pipelines.map((pipeline) => pipeline.close()));
    pipelines = [];
    expect(refused, 'AWS calls IAM refused').toEqual([]);
  });
  return async (options = {}) => {
    const config = { preflight: SMALL_FLIGHT_PREFLIGHT, ...defaults.config, ...options.config };
    const pipeline = await startLocalPipeline({ ...defaults, ...options, config });
    pipelines.push(pipeline);
    return pipeline;
  };
}
