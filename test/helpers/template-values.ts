import type { Template } from 'aws-cdk-lib/assertions';

/** Values of a synthesized template as text a test can compare: tokens become placeholders. */

export type TemplateJson = {
  readonly Resources?: Readonly<
    Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>
  >;
};

/** The template's JSON, from an assertions Template or as it is. */
export function templateJson(template: Template | TemplateJson): TemplateJson {
  return typeof (template as Template).toJSON === 'function'
    ? ((template as Template).toJSON() as TemplateJson)
    : (template as TemplateJson);
}

/**
 * What a CloudFormation token becomes in text read from the template: `<LogicalId>` for a Ref (`<AWS::Region>` for a
 * pseudo parameter), `<LogicalId.Attribute>` for a Fn::GetAtt, a Fn::Join joined. Anything else throws, naming it,
 * so that an unexpected token cannot pass unnoticed.
 */
export function placeholderOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const token = (value ?? {}) as Record<string, unknown>;
  if (typeof token.Ref === 'string') return `<${token.Ref}>`;
  const getAtt = token['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
  if (typeof getAtt === 'string') return `<${getAtt}>`;
  const join = token['Fn::Join'];
  if (Array.isArray(join)) {
    const [separator, parts] = join as [string, unknown[]];
    return parts.map(placeholderOf).join(separator);
  }
  throw new Error(`No placeholder for the token ${JSON.stringify(value)}`);
}
