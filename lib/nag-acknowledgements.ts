import { Stack, Token, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/**
 * How cdk-nag writes a resource's ARN in a finding: its CloudFormation reference, or the literal ARN if imported.
 * An imported ARN may still hold tokens (`arn:${AWS::Partition}:s3:::name` in an environment-agnostic stack): they
 * are written as cdk-nag writes them, `<AWS::Partition>`, since an acknowledgement's id must be plain text.
 */
export function arnInFinding(resource: IConstruct & { node: IConstruct['node'] }, literalArn: string): string {
  const child = resource.node.defaultChild;
  if (child) return `<${Stack.of(resource).getLogicalId(child as never)}.Arn>`;
  return Token.isUnresolved(literalArn) ? asFindingText(Stack.of(resource).resolve(literalArn)) : literalArn;
}

/** A resolved CloudFormation value as text: `<Id>` for a Ref, `<Id.Attribute>` for a Fn::GetAtt, a Fn::Join joined. */
function asFindingText(value: unknown): string {
  if (typeof value === 'string') return value;
  const token = (value ?? {}) as { Ref?: string; 'Fn::GetAtt'?: string[]; 'Fn::Join'?: [string, unknown[]] };
  if (token.Ref) return `<${token.Ref}>`;
  if (token['Fn::GetAtt']) return `<${token['Fn::GetAtt'].join('.')}>`;
  if (token['Fn::Join']) return token['Fn::Join'][1].map(asFindingText).join(token['Fn::Join'][0]);
  throw new Error(`Cannot write ${JSON.stringify(value)} as cdk-nag writes it in a finding`);
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
