import { Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/** How cdk-nag writes a resource's ARN in a finding: its CloudFormation reference, or the literal ARN if imported. */
export function arnInFinding(resource: IConstruct & { node: IConstruct['node'] }, literalArn: string): string {
  const child = resource.node.defaultChild;
  return child ? `<${Stack.of(resource).getLogicalId(child as never)}.Arn>` : literalArn;
}

/**
 * Step Functions' LambdaInvoke grants `lambda:InvokeFunction` on each function and on `<function ARN>:*` (its
 * versions and aliases); the wildcard names nothing else.
 */
export function acknowledgeInvokeWildcards(scope: IConstruct, functions: readonly lambda.IFunction[]): void {
  for (const fn of functions) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arnInFinding(fn, fn.functionArn)}:*]`,
      reason: 'Invoking the step function and its versions, as the LambdaInvoke task grants; no other function.',
    });
  }
}
