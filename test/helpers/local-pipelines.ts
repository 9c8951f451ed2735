import { afterEach, expect } from 'vitest';
import { startLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from '../../local/pipeline/local-pipeline';

/**
 * Starts local pipelines for the tests of a file, `defaults` under each test's options, and closes them after each
 * test. The test fails if IAM refused any call: every call each function and state machine made must be allowed by
 * its role in the synthesized template.
 */
export function localPipelinesPerTest(defaults: LocalPipelineOptions = {}): (options?: LocalPipelineOptions) => Promise<LocalPipeline> {
  let pipelines: LocalPipeline[] = [];
  afterEach(async () => {
    const refused = pipelines.flatMap((pipeline) => pipeline.iam?.refused() ?? []);
    await Promise.all(pipelines.map((pipeline) => pipeline.close()));
    pipelines = [];
    expect(refused, 'AWS calls IAM refused').toEqual([]);
  });
  return async (options = {}) => {
    const pipeline = await startLocalPipeline({ ...defaults, ...options });
    pipelines.push(pipeline);
    return pipeline;
  };
}
