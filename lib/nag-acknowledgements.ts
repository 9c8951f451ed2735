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
  return Token.isUnresolved(literalArn) ? asTemplateText(Stack.of(resource).resolve(literalArn)) : literalArn;
}

/**
 * A resolved CloudFormation value as the text cdk-nag (and a reader of the template) writes for it: `<Id>` for a Ref
 * (`<AWS::Partition>` for a pseudo parameter), `<Id.Attribute>` for a Fn::GetAtt, a Fn::Join joined. Anything else
 * throws, naming it, so that an unexpected token cannot pass unnoticed.
 */
export function asTemplateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const token = (value ?? {}) as { Ref?: unknown; 'Fn::GetAtt'?: unknown; 'Fn::Join'?: unknown };
  if (typeof token.Ref === 'string') return `<${token.Ref}>`;
  const getAtt = token['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
  if (typeof getAtt === 'string') return `<${getAtt}>`;
  const join = token['Fn::Join'];
  if (Array.isArray(join)) {
    const [separator, parts] = join as [string, unknown[]];
    return parts.map(asTemplateText).join(separator);
  }
  throw new Error(`Cannot write ${JSON.stringify(value)} as template text`);
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
