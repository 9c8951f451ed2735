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

/** What a CloudFormation token becomes in text read from the template, as cdk-nag writes it (lib's reader). */
export { asTemplateText as placeholderOf } from '../../lib/nag-acknowledgements';
