import { Arn, type ArnComponents, ArnFormat, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * Placeholders written into a created secret so that its JSON shape is visible in the console. The Lambdas refuse
 * values that still start with `REPLACE_WITH_` (see `functions/shared/pix4d-account.ts`), so a secret nobody filled
 * in fails with a message saying so instead of a 401 from Pix4D.
 */
const USERNAME_PLACEHOLDER = 'REPLACE_WITH_PIX4D_USERNAME';
const API_KEY_PLACEHOLDER = 'REPLACE_WITH_PIX4D_API_KEY';

/** Secrets Manager appends a hyphen and six characters to a secret's name to make its complete ARN. */
const COMPLETE_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

export interface Pix4dCredentialsProps {
  /**
   * A secret that the app already has a handle on, used as is.
   *
   * @default - none: `secretArn`, `secretName` or a new secret
   */
  readonly existingSecret?: secretsmanager.ISecret;

  /**
   * ARN of an existing secret in the stack's account and region. Give the complete ARN, as the console shows it
   * (its name ends with a hyphen and six characters); an ARN without that suffix is imported as a partial ARN.
   *
   * @default - none: `existingSecret`, `secretName` or a new secret
   */
  readonly secretArn?: string;

  /**
   * Name of an existing secret in the stack's account and region. If the name itself ends with a hyphen and six
   * characters, use `secretArn` with the complete ARN instead: IAM cannot tell such a name from a complete ARN.
   *
   * @default - none: `existingSecret`, `secretArn` or a new secret
   */
  readonly secretName?: string;

  /**
   * What happens to a created secret when it leaves the stack. It holds the operator's Pix4D account, which
   * nothing else keeps: deleting the stack must not delete it.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Secrets Manager secret holding the Pix4Dinspect account, as JSON
 * `{ "username", "password", "apiKey", "organizationUuid"? }`.
 *
 * Imports an existing secret (`existingSecret`, `secretArn` or `secretName`, at most one) or creates one filled
 * with placeholders for the operator to replace. Created secrets use the AWS managed key `aws/secretsmanager` and
 * are retained when the stack is deleted.
 */
export class Pix4dCredentials extends Construct {
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: Pix4dCredentialsProps = {}) {
    super(scope, id);
    assertAtMostOneSource(props);

    if (props.existingSecret) {
      this.secret = props.existingSecret;
    } else if (props.secretArn !== undefined) {
      this.secret = importByArn(this, props.secretArn);
    } else if (props.secretName !== undefined) {
      assertNotBlank('secretName', props.secretName);
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', props.secretName);
    } else {
      this.secret = createPlaceholderSecret(this, props.removalPolicy ?? RemovalPolicy.RETAIN);
    }
  }

  /**
   * Lets `grantee` read the secret's value (and decrypt it, were it under a customer managed key): only
   * `GetSecretValue`, the one call the functions make (CDK's `grantRead` adds `DescribeSecret`). A secret imported
   * by name or partial ARN is matched with the six characters Secrets Manager appends.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const secret = this.secret;
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    });
    secret.encryptionKey?.grantDecrypt(
      new kms.ViaServicePrincipal(`secretsmanager.${Stack.of(this).region}.amazonaws.com`, grantee.grantPrincipal),
    );
    return grant;
  }
}

function assertAtMostOneSource(props: Pix4dCredentialsProps): void {
  const given = (['existingSecret', 'secretArn', 'secretName'] as const).filter((key) => props[key] !== undefined);
  if (given.length > 0 && props.removalPolicy !== undefined) {
    throw new Error(
      `Pix4dCredentials: removalPolicy applies to a created secret only, not to ${given[0]}; leave it out`,
    );
  }
  if (given.length > 1) {
    throw new Error(
      `Pix4dCredentials: props ${given.slice(0, -1).join(', ')} and ${given.at(-1)} conflict; give at most one of ` +
        'existingSecret, secretArn, secretName (or none to create a new secret)',
    );
  }
}

function assertNotBlank(prop: string, value: string): void {
  if (!Token.isUnresolved(value) && value.trim() === '') {
    throw new Error(`Pix4dCredentials: ${prop} is empty; leave it out to create a new secret`);
  }
}

function importByArn(scope: Construct, secretArn: string): secretsmanager.ISecret {
  assertNotBlank('secretArn', secretArn);
  // A token (a parameter, another stack's output) cannot be inspected at synth time: trust it to be complete.
  if (Token.isUnresolved(secretArn)) {
    return secretsmanager.Secret.fromSecretCompleteArn(scope, 'Secret', secretArn);
  }
  const name = secretNameOf(secretArn);
  return COMPLETE_ARN_SUFFIX.test(name)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'Secret', secretArn)
    : secretsmanager.Secret.fromSecretPartialArn(scope, 'Secret', secretArn);
}

function secretNameOf(secretArn: string): string {
  const components = splitArn(secretArn);
  if (components?.service !== 'secretsmanager' || components.resource !== 'secret' || !components.resourceName) {
    throw new Error(
      `Pix4dCredentials: secretArn "${secretArn}" is not a Secrets Manager secret ARN ` +
        '(arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)',
    );
  }
  return components.resourceName;
}

function splitArn(arn: string): ArnComponents | undefined {
  try {
    return Arn.split(arn, ArnFormat.COLON_RESOURCE_NAME);
  } catch {
    return undefined;
  }
}

function createPlaceholderSecret(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.ISecret {
  const secret = new secretsmanager.Secret(scope, 'Secret', {
    removalPolicy,
    description:
      'Pix4Dinspect account used by the inspect pipeline. Replace the whole value with JSON ' +
      '{"username": "<Pix4D login email>", "password": "<Pix4D password>", "apiKey": "<Pix4Dinspect API key>", ' +
      '"organizationUuid": "<optional, for organization accounts>"}. The generated password is a placeholder.',
    // Only the shape is generated: the operator replaces every value with the account's own.
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ username: USERNAME_PLACEHOLDER, apiKey: API_KEY_PLACEHOLDER }),
      generateStringKey: 'password',
    },
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The secret holds the password of a Pix4D user account, which only Pix4D can change: a rotation Lambda has ' +
      'no API to rotate it. The operator rotates it in Pix4D and then updates this secret.',
  });
  return secret;
}
