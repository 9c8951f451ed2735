import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SECRET_PLACEHOLDER_PREFIX } from '../../functions/shared/pix4d-account';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { STEP_METADATA_KEY } from '../../lib/pipeline-functions';
import { Pix4dCredentials, type Pix4dCredentialsProps } from '../../lib/pix4d-credentials';

const COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/inspect-AbC123';
const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pix4d/inspect';
const SECRET_NAME = 'pix4d/inspect';

/**
 * These tests read templates. cdk-nag runs in cdk-nag.test.ts on the app as the CLI builds it, in each secret
 * variant; the whole pipeline stack's other resources are checked in pipeline-stack.test.ts.
 */
function newApp(): App {
  return new App({ builtinCloudFormationValidation: false });
}

/** The ready stack as `cdk synth` builds it from `-c secretArn=...` or `-c secretName=...` (bundling skipped). */
function pipelineTemplate(context: { secretArn?: string; secretName?: string } = {}): Template {
  const { stack } = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(stack);
}

/** Each variant of the pipeline stack, synthesized once. */
const pipeline = {} as { created: Template; byArn: Template; byName: Template };

beforeAll(() => {
  pipeline.created = pipelineTemplate();
  pipeline.byArn = pipelineTemplate({ secretArn: COMPLETE_ARN });
  pipeline.byName = pipelineTemplate({ secretName: SECRET_NAME });
});

/** Environment variable PIX4D_SECRET_ARN of the pipeline's prepare function. */
function secretArnOfPrepare(template: Template): unknown {
  const functions = template.findResources('AWS::Lambda::Function', { Metadata: { [STEP_METADATA_KEY]: 'prepare' } });
  const [prepare] = Object.values(functions);
  return prepare?.Properties.Environment.Variables.PIX4D_SECRET_ARN;
}

/** A stack holding the construct and a role that was granted read access to its secret. */
function grantedTemplate(props: Pix4dCredentialsProps): Template {
  const stack = new Stack(newApp(), 'Granted');
  const credentials = new Pix4dCredentials(stack, 'Pix4dCredentials', props);
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  credentials.grantRead(role);
  return Template.fromStack(stack);
}

function readStatement(resource: unknown): object {
  return {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Allow',
          // GetSecretValue alone: the functions make no other call to the secret.
          Action: 'secretsmanager:GetSecretValue',
          Resource: resource,
        }),
      ]),
    },
  };
}

describe('Pix4dCredentials', () => {
  it('creates one secret documenting its JSON shape, under the default key', () => {
    // Prepare
    const template = pipeline.created;

    // Act
    const secrets = template.findResources('AWS::SecretsManager::Secret');

    // Assess
    expect(Object.keys(secrets)).toHaveLength(1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('"username".*"password".*"apiKey".*"organizationUuid"'),
      GenerateSecretString: { GenerateStringKey: 'password', SecretStringTemplate: Match.anyValue() },
      KmsKeyId: Match.absent(),
    });
    const [secret] = Object.values(secrets);
    const placeholders = JSON.parse(secret?.Properties.GenerateSecretString.SecretStringTemplate) as object;
    expect(Object.keys(placeholders).sort()).toStrictEqual(['apiKey', 'username']);
    for (const value of Object.values(placeholders)) expect(value).toMatch(new RegExp(`^${SECRET_PLACEHOLDER_PREFIX}`));
  });

  it('keeps a created secret when the stack is deleted, unless told otherwise', () => {
    // Prepare
    const template = pipeline.created;
    const stack = new Stack(newApp(), 'Disposable');

    // Act
    new Pix4dCredentials(stack, 'Pix4dCredentials', { removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
  });

  it('refuses a removal policy for a secret it does not create', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Imported');

    // Act
    const build = () =>
      new Pix4dCredentials(stack, 'Pix4dCredentials', {
        secretName: SECRET_NAME,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    // Assess
    expect(build).toThrow('Pix4dCredentials: removalPolicy applies to a created secret only, not to secretName');
  });

  it('outputs the created secret ARN with instructions for the operator, and gives it to the functions', () => {
    // Prepare
    const template = pipeline.created;

    // Act
    const [logicalId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));

    // Assess
    template.hasOutput('Pix4dSecretArn', {
      Value: { Ref: logicalId },
      Description: Match.stringLikeRegexp(
        'Pix4Dinspect account .*JSON.*"username".*"password".*"apiKey".*"organizationUuid"',
      ),
    });
    expect(secretArnOfPrepare(template)).toStrictEqual({ Ref: logicalId });
    template.hasResourceProperties('AWS::IAM::Policy', readStatement({ Ref: logicalId }));
  });

  it('imports a secret by complete ARN without creating one, and lets the functions read it', () => {
    // Prepare
    const template = pipeline.byArn;

    // Act
    const secrets = template.findResources('AWS::SecretsManager::Secret');

    // Assess
    expect(secrets).toStrictEqual({});
    template.hasOutput('Pix4dSecretArn', { Value: COMPLETE_ARN });
    expect(secretArnOfPrepare(template)).toBe(COMPLETE_ARN);
    template.hasResourceProperties('AWS::IAM::Policy', readStatement(COMPLETE_ARN));
  });

  it('imports a secret by name without creating one, and lets the functions read it', () => {
    // Prepare
    const template = pipeline.byName;

    // Act
    const secrets = template.findResources('AWS::SecretsManager::Secret');

    // Assess
    expect(secrets).toStrictEqual({});
    const output = template.findOutputs('Pix4dSecretArn').Pix4dSecretArn;
    expect(JSON.stringify(output?.Value)).toContain(`:secret:${SECRET_NAME}`);
    expect(JSON.stringify(secretArnOfPrepare(template))).toContain(`:secret:${SECRET_NAME}`);
    template.hasResourceProperties(
      'AWS::IAM::Policy',
      readStatement({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`:secret:${SECRET_NAME}-\\?{6}$`)])] }),
    );
  });

  it('uses an existing secret handle as is', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Existing');
    const existingSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Existing', COMPLETE_ARN);

    // Act
    const credentials = new Pix4dCredentials(stack, 'Pix4dCredentials', { existingSecret });

    // Assess
    expect(credentials.secret).toBe(existingSecret);
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('refuses an ARN together with a name, naming both props', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Conflicting');

    // Act
    const build = (): Pix4dCredentials =>
      new Pix4dCredentials(stack, 'Pix4dCredentials', { secretArn: COMPLETE_ARN, secretName: SECRET_NAME });

    // Assess
    expect(build).toThrow(/props secretArn and secretName conflict/);
  });

  it('refuses an existing secret together with an ARN, naming both props', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Conflicting');
    const existingSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', SECRET_NAME);

    // Act
    const build = (): Pix4dCredentials =>
      new Pix4dCredentials(stack, 'Pix4dCredentials', { existingSecret, secretArn: COMPLETE_ARN });

    // Assess
    expect(build).toThrow(/props existingSecret and secretArn conflict/);
  });

  it.each([
    [{ secretArn: 'pix4d/inspect' }, /secretArn "pix4d\/inspect" is not a Secrets Manager secret ARN/],
    [{ secretArn: 'arn:aws:s3:::drop-bucket' }, /is not a Secrets Manager secret ARN/],
    [{ secretName: ' ' }, /secretName is empty/],
  ])('refuses an unusable reference %#', (props, expected) => {
    // Prepare
    const stack = new Stack(newApp(), 'Unusable');

    // Act
    const build = (): Pix4dCredentials => new Pix4dCredentials(stack, 'Pix4dCredentials', props);

    // Assess
    expect(build).toThrow(expected);
  });

  it('grantRead lets a role get the value of a created secret', () => {
    // Prepare
    const props = {};

    // Act
    const template = grantedTemplate(props);

    // Assess
    const [logicalId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    template.hasResourceProperties('AWS::IAM::Policy', {
      ...readStatement({ Ref: logicalId }),
      Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }],
    });
  });

  it('grantRead lets a role get the value of a secret imported by complete ARN', () => {
    // Prepare
    const props = { secretArn: COMPLETE_ARN };

    // Act
    const template = grantedTemplate(props);

    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', readStatement(COMPLETE_ARN));
  });

  it('grantRead covers the suffix Secrets Manager adds to a partial ARN or a name', () => {
    // Prepare
    const byPartialArn = { secretArn: PARTIAL_ARN };
    const byName = { secretName: SECRET_NAME };

    // Act
    const partialArnTemplate = grantedTemplate(byPartialArn);
    const nameTemplate = grantedTemplate(byName);

    // Assess
    partialArnTemplate.hasResourceProperties('AWS::IAM::Policy', readStatement(`${PARTIAL_ARN}-??????`));
    nameTemplate.hasResourceProperties(
      'AWS::IAM::Policy',
      readStatement({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`:secret:${SECRET_NAME}-\\?{6}$`)])] }),
    );
  });
});
