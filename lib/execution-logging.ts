import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/**
 * Logging of a pipeline state machine: every event, with inputs and outputs (they carry ids and counts only, never
 * credentials, and they are what an operator needs to see where a run stopped), kept after the stack is deleted.
 */
export function executionLogging(scope: Construct, retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS): sfn.LogOptions {
  return {
    destination: new logs.LogGroup(scope, 'Logs', { retention, removalPolicy: RemovalPolicy.RETAIN }),
    level: sfn.LogLevel.ALL,
    includeExecutionData: true,
  };
}
