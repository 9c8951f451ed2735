import { LOCAL_ACCOUNT } from '../pipeline/synthesized-stack';

/** One authorization AWS makes for an API call: the IAM action, the resource ARN and the request's condition keys. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | string[]>>;
}

type Input = Readonly<Record<string, unknown>>;
type Mapping = (input: Input) => IamRequest[];

const { region, account } = LOCAL_ACCOUNT;
const object = (input: Input) => `arn:aws:s3:::${text(input.Bucket)}/${text(input.Key)}`;
const bucket = (input: Input) => `arn:aws:s3:::${text(input.Bucket)}`;
const request = (action: string, resource: string, context: Record<string, string | string[]> = {}): IamRequest => ({
  action,
  resource,
  context,
});

/**
 * The IAM authorizations of the SDK commands the functions send, as the service reference of each service lists
 * them. Most actions are named after their operation; S3's are not (ListObjectsV2 is s3:ListBucket, HeadObject and
 * GetObject are s3:GetObject, a multipart upload is s3:PutObject), hence a table. A command missing here fails
 * loudly rather than going unchecked.
 */
const MAPPINGS: Readonly<Record<string, Readonly<Record<string, Mapping>>>> = {
  S3Client: {
    GetObjectCommand: (input) => [request(input.VersionId ? 's3:GetObjectVersion' : 's3:GetObject', object(input))],
    HeadObjectCommand: (input) => [request(input.VersionId ? 's3:GetObjectVersion' : 's3:GetObject', object(input))],
    PutObjectCommand: (input) => [
      request('s3:PutObject', object(input)),
      ...(input.Tagging ? [request('s3:PutObjectTagging', object(input))] : []),
      ...(input.ACL ? [request('s3:PutObjectAcl', object(input))] : []),
    ],
    CreateMultipartUploadCommand: (input) => [request('s3:PutObject', object(input))],
    UploadPartCommand: (input) => [request('s3:PutObject', object(input))],
    CompleteMultipartUploadCommand: (input) => [request('s3:PutObject', object(input))],
    AbortMultipartUploadCommand: (input) => [request('s3:AbortMultipartUpload', object(input))],
    DeleteObjectCommand: (input) => [
      request(input.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', object(input)),
    ],
    ListObjectsV2Command: (input) => [
      request('s3:ListBucket', bucket(input), {
        ...(input.Prefix === undefined ? {} : { 's3:prefix': text(input.Prefix) }),
        ...(input.Delimiter === undefined ? {} : { 's3:delimiter': text(input.Delimiter) }),
        ...(input.MaxKeys === undefined ? {} : { 's3:max-keys': String(input.MaxKeys) }),
      }),
    ],
    // The service reference gives it no s3:prefix or s3:delimiter condition key, unlike ListBucket.
    ListMultipartUploadsCommand: (input) => [request('s3:ListBucketMultipartUploads', bucket(input))],
  },
  SFNClient: {
    StartExecutionCommand: (input) => [request('states:StartExecution', text(input.stateMachineArn))],
  },
  SNSClient: {
    PublishCommand: (input) => [request('sns:Publish', text(input.TopicArn ?? input.TargetArn))],
  },
  SecretsManagerClient: {
    GetSecretValueCommand: (input) => {
      const id = text(input.SecretId);
      return [
        request(
          'secretsmanager:GetSecretValue',
          id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${region}:${account}:secret:${id}`,
        ),
      ];
    },
  },
};

/** What AWS authorizes for `command` of `client` (SDK class names, such as `S3Client` and `GetObjectCommand`). */
export function iamRequestsFor(client: string, command: string, input: Input): IamRequest[] {
  const mapping = MAPPINGS[client]?.[command];
  if (!mapping) {
    throw new Error(
      `Local mode does not know which IAM action ${client} ${command} needs: add it to local/iam/aws-actions.ts`,
    );
  }
  return mapping(input);
}

function text(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new Error(`Expected a non-empty string in the request, got ${JSON.stringify(value)}`);
  return value;
}
