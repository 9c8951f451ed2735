import { Names, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** Where AWS services deliver vended logs of Step Functions. */
export const VENDED_LOGS_PREFIX = '/aws/vendedlogs/states/';

/**
 * Logging of a pipeline state machine: every event, with inputs and outputs (they carry ids and counts only, never
 * credentials, and they are what an operator needs to see where a run stopped), kept after the stack is deleted.
 * The group is named under `/aws/vendedlogs/states/`, for which CloudWatch Logs needs no resource policy entry per
 * group: with other names, each log group adds to the account's resource policy, whose size is capped, and busy
 * accounts run out of room. The name is unique to the stack and construct, so two stacks can share an account.
 */
export function executionLogging(
  scope: Construct,
  retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
): sfn.LogOptions {
  return {
    destination: new logs.LogGroup(scope, 'Logs', {
      logGroupName: `${VENDED_LOGS_PREFIX}${Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' })}`,
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    }),
    level: sfn.LogLevel.ALL,
    includeExecutionData: true,
  };
}
