import type { MessageAttributeValue, PublishCommandInput } from '@aws-sdk/client-sns';

/**
 * What the SNS service refuses in one `Publish` request before accepting it, so that local mode fails where AWS
 * would. Pure: no I/O, no SNS client.
 *
 * Each rule names the AWS documentation page it comes from. The error codes and texts are SNS's own, as recorded
 * from AWS in LocalStack's snapshot tests (localstack/localstack, tests/aws/services/sns/test_sns.snapshot.json) or
 * quoted from real AWS errors in public issue reports; the few that could not be confirmed say so where they are
 * raised. Where a request breaks several rules, the order SNS checks them in is not documented: the order here
 * follows LocalStack's, which is checked against AWS for the cases it records.
 *
 * Left out, because they need more than the request: whether the topic exists, FIFO topics (MessageGroupId,
 * MessageDeduplicationId), a topic's `MaximumMessageSize` above the default, the format of `PhoneNumber`, access.
 */

/** The error codes SNS answers for these rules (the `<Code>` of its error response). */
export type SnsErrorCode = 'InvalidParameter' | 'ParameterValueInvalid' | 'ValidationError';

/**
 * A request SNS refuses, with the code, HTTP status and message SNS answers. `ParameterValueInvalid` is the wire
 * code of the SDK's `InvalidParameterValueException` (its `awsQueryError` code), not "InvalidParameterValue".
 */
export class SnsRequestError extends Error {
  override name = 'SnsRequestError';
  readonly code: SnsErrorCode;
  /** Every rule here is a client error: SNS answers 400. */
  readonly statusCode = 400;
  /** The `<Type>` of SNS's error response. */
  readonly fault = 'Sender';

  constructor(code: SnsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Publish API reference, Message: "at most 256 KB in size (262,144 bytes, not 262,144 characters)". */
export const SNS_MAX_PUBLISH_BYTES = 262_144;
/** Publish API reference, Subject: "must be less than 100 characters long". */
export const SNS_MAX_SUBJECT_CHARS = 99;
/** "Amazon SNS message attributes": "The name can be up to 256 characters long". */
export const SNS_MAX_ATTRIBUTE_NAME_CHARS = 256;
/** "Amazon SNS message attributes": the data type "can be up to 256 bytes long". */
export const SNS_MAX_DATA_TYPE_BYTES = 256;

/** Judges one `Publish` request as SNS does; throws `SnsRequestError` for the first rule it breaks. */
export function checkPublish(input: PublishCommandInput): void {
  checkMessagePresent(input.Message);
  checkDestination(input);
  checkSubject(input.Subject);
  checkMessageNotEmpty(input.Message);
  checkMessageAttributes(input.MessageAttributes);
  checkSize(input.Message, input.MessageAttributes);
  checkMessageStructure(input.MessageStructure, input.Message);
}

// ---------------------------------------------------------------------------------------------------------------
// Destination and message
// ---------------------------------------------------------------------------------------------------------------

/**
 * Publish API reference: `Message` is required. Unconfirmed text: no recorded answer for a request without
 * `Message`; this is the wording AWS gives for a missing required member (recorded for a missing `DataType`).
 */
function checkMessagePresent(message: string | undefined): asserts message is string {
  if (typeof message !== 'string') {
    throw new SnsRequestError(
      'ValidationError',
      "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
    );
  }
}

/** Publish API reference: without `TopicArn`, "you must specify a value for the PhoneNumber or TargetArn". */
function checkDestination({ TopicArn, TargetArn, PhoneNumber }: PublishCommandInput): void {
  if (TopicArn === undefined && TargetArn === undefined && PhoneNumber === undefined) {
    // Text quoted from a real AWS answer (sul-dlss/dlme#432).
    throw invalidParameter('Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
  }
  // Publish API reference, TopicArn is an ARN: SNS counts its ':'-separated elements first (an empty one is 1).
  if (TopicArn !== undefined) {
    const elements = TopicArn.split(':').length;
    if (elements < 6) {
      throw invalidParameter(
        `Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not ${elements}`,
      );
    }
  }
}

/** Publish API reference, Message: an empty message is refused. */
function checkMessageNotEmpty(message: string): void {
  if (message.length === 0) throw invalidParameter('Invalid parameter: Empty message');
}

// ---------------------------------------------------------------------------------------------------------------
// Subject
// ---------------------------------------------------------------------------------------------------------------

/**
 * Publish API reference, Subject: "ASCII text that begins with a letter, number, or punctuation mark; must not include
 * line breaks or control characters". Printable ASCII without the space first, then printable ASCII with it.
 */
const SUBJECT_PATTERN = /^[\x21-\x7E][\x20-\x7E]*$/;

/**
 * Publish API reference, Subject: the rule above and "less than 100 characters long"; empty is refused too. A report
 * from 2018 (getmoto/moto#1503) says AWS took exactly 100: the documented limit is kept, the stricter of the two.
 */
function checkSubject(subject: string | undefined): void {
  if (subject === undefined) return;
  if (subject.length > SNS_MAX_SUBJECT_CHARS || !SUBJECT_PATTERN.test(subject)) {
    throw invalidParameter('Invalid parameter: Subject');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------------------------------

/**
 * "Amazon SNS message attributes": "All parts of the message attribute, including name, type, and value, are
 * included in the message size restriction"; with the Publish API reference's 262,144 bytes, UTF-8. The Subject
 * is not counted (LocalStack's AWS-validated test fills the limit without it).
 */
function checkSize(message: string, attributes: Record<string, MessageAttributeValue> | undefined): void {
  let bytes = Buffer.byteLength(message, 'utf8');
  for (const [name, attribute] of Object.entries(attributes ?? {})) {
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.DataType ?? '', 'utf8');
    if (attribute.StringValue !== undefined) bytes += Buffer.byteLength(attribute.StringValue, 'utf8');
    if (attribute.BinaryValue !== undefined) bytes += attribute.BinaryValue.byteLength;
  }
  if (bytes > SNS_MAX_PUBLISH_BYTES) throw invalidParameter('Invalid parameter: Message too long');
}

// ---------------------------------------------------------------------------------------------------------------
// MessageStructure
// ---------------------------------------------------------------------------------------------------------------

/**
 * Publish API reference, MessageStructure: "Valid value: json"; the Message must "be a syntactically valid JSON
 * object" and "contain at least a top-level JSON key of "default" with a value that is a string". Other keys are not
 * checked: "Non-string values will cause the key to be ignored" (Publish API reference, Message), and AWS delivers
 * such a message (LocalStack's AWS-validated test_message_structure_json_to_sqs).
 */
function checkMessageStructure(structure: string | undefined, message: string): void {
  if (structure === undefined) return;
  if (structure !== 'json') {
    // Unconfirmed text: no recorded answer for another value; worded like SNS's other parameter errors.
    throw invalidParameter('Invalid parameter: MessageStructure');
  }
  let body: unknown;
  try {
    body = JSON.parse(message);
  } catch {
    throw invalidParameter('Invalid parameter: Message Structure - JSON message body failed to parse');
  }
  // A JSON array or scalar has no top-level key, so it has no `default` either.
  if (!isJsonObject(body) || typeof body.default !== 'string') {
    throw invalidParameter('Invalid parameter: Message Structure - No default entry in JSON message body');
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Message attributes
// ---------------------------------------------------------------------------------------------------------------

/**
 * "Amazon SNS message attributes": SNS sets no count for Publish. Its only count, 10, is for delivery to SQS with
 * raw message delivery, and such messages are discarded at delivery, not refused here.
 */
function checkMessageAttributes(attributes: Record<string, MessageAttributeValue> | undefined): void {
  for (const [name, attribute] of Object.entries(attributes ?? {})) {
    checkAttributeName(name);
    checkAttributeValue(name, attribute);
  }
}

/** "Amazon SNS message attributes": "A-Z, a-z, 0-9, underscore(_), hyphen(-), and period (.)". */
const NAME_CHARACTER = /^[A-Za-z0-9_.-]$/;
/** "Amazon SNS message attributes": names "cannot start with AWS. or Amazon. (or any variations in casing)". */
const RESERVED_NAME_PREFIXES = ['aws.', 'amazon.'];
/**
 * SNS's own reserved attributes, which it accepts: "Amazon SNS message attributes" (reserved attributes for mobile
 * push, e.g. AWS.SNS.MOBILE.APNS.TTL) and the SMS pages of the Developer Guide (AWS.SNS.SMS.SenderID,
 * AWS.MM.SMS.OriginationNumber...).
 */
const SNS_OWN_NAME_PREFIXES = ['AWS.SNS.MOBILE.', 'AWS.SNS.SMS.', 'AWS.MM.SMS.'];

/** "Amazon SNS message attributes" (Name), checked in the order of LocalStack's AWS-validated texts. */
function checkAttributeName(name: string): void {
  if (name.length === 0) {
    // Unconfirmed text for SNS ("Name ... must not be empty"): this is SQS's answer to an empty name.
    throw invalidValue('The request must contain non-empty message attribute name.');
  }
  if (Buffer.byteLength(name, 'utf8') > SNS_MAX_ATTRIBUTE_NAME_CHARS) {
    throw invalidValue('Length of message attribute name must be less than 256 bytes.');
  }
  // "The name must not start or end with a period, and it should not have successive periods."
  if (name.startsWith('.')) throw invalidValue("Invalid message attribute name starting with character '.' was found.");
  if (name.endsWith('.')) throw invalidValue("Invalid message attribute name ending with character '.' was found.");
  let previous = '';
  for (const character of name) {
    if (!NAME_CHARACTER.test(character)) {
      const code = (character.codePointAt(0) ?? 0).toString(16).toUpperCase();
      throw invalidValue(
        `Invalid non-alphanumeric character '#x${code}' was found in the message attribute name. ` +
          'Can only include alphanumeric characters, hyphens, underscores, or dots.',
      );
    }
    if (character === '.' && previous === '.') {
      throw invalidValue("Message attribute name can not have successive '.' character.");
    }
    previous = character;
  }
  const lowerCased = name.toLowerCase();
  const reserved = RESERVED_NAME_PREFIXES.some((prefix) => lowerCased.startsWith(prefix));
  if (reserved && !SNS_OWN_NAME_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    // Text quoted in aws/aws-sdk-js#3110 as SNS's answer; its code is unconfirmed (that of the other name errors).
    throw invalidValue("Message attribute names starting with 'AWS.' or 'Amazon.' are reserved for use by Amazon.");
  }
}

/**
 * "Amazon SNS message attributes" (Type): String, String.Array, Number or Binary. AWS also takes any of the three
 * prefixes followed by '.' and a custom label of at least one character ('String.' and 'Stringx' are refused,
 * 'String.  x.' is taken: LocalStack's AWS-validated test_message_attributes_prefixes). String.Array matches as
 * String with the label "Array".
 */
const DATA_TYPE_PATTERN = /^(String|Number|Binary)(\.[\s\S]+)?$/;
/**
 * "Amazon SNS message attributes" (Number): "positive or negative integers or floating-point numbers", written as
 * decimal digits with an optional fraction and exponent. The documented range (-10^9 to 10^9, 5 decimals) is not
 * checked: AWS takes larger values (millisecond timestamps from Spring Cloud AWS, getmoto/moto#9792).
 */
const NUMBER_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** "Amazon SNS message attributes" (Type, Value; "Name, type, and value must not be empty or null"). */
function checkAttributeValue(name: string, attribute: MessageAttributeValue): void {
  const dataType = attribute.DataType;
  if (typeof dataType !== 'string') {
    throw new SnsRequestError(
      'ValidationError',
      `1 validation error detected: Value null at 'messageAttributes.${name}.member.dataType' failed to satisfy ` +
        'constraint: Member must not be null',
    );
  }
  const kind = DATA_TYPE_PATTERN.exec(dataType)?.[1];
  // Over 256 bytes: unconfirmed text, the invalid-type answer is the closest recorded one.
  if (kind === undefined || Buffer.byteLength(dataType, 'utf8') > SNS_MAX_DATA_TYPE_BYTES) {
    throw invalidValue(
      `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes ` +
        'is Binary, Number, and String.',
    );
  }
  const empty = invalidValue(
    `The message attribute '${name}' must contain non-empty message attribute value for message attribute type ` +
      `'${dataType}'.`,
  );
  if (attribute.StringValue === undefined && attribute.BinaryValue === undefined) throw empty;

  // A Binary type carries BinaryValue (bytes); String and Number types carry StringValue.
  if (kind === 'Binary') {
    if (attribute.BinaryValue === undefined) throw mustUseField(name, dataType, 'Binary');
    if (attribute.BinaryValue.byteLength === 0) throw empty;
    return;
  }
  if (attribute.StringValue === undefined) throw mustUseField(name, dataType, 'String');
  if (attribute.StringValue.length === 0) throw empty;

  // "Amazon SNS message attributes" (Data types and validation): "if the type is a number, Amazon SNS validates
  // that it's a number". Text from moto, which quotes it as AWS's answer; no recorded AWS response was found.
  if (kind === 'Number' && !NUMBER_PATTERN.test(attribute.StringValue)) {
    throw invalidValue(`Could not cast message attribute '${name}' value to number.`);
  }
  // "Amazon SNS message attributes" (String.Array): "An array, formatted as a string ... The values can be strings,
  // numbers, or the keywords true, false, and null." Unconfirmed text: no recorded AWS answer was found.
  if (isStringArrayType(dataType) && !isArrayOfScalars(attribute.StringValue)) {
    throw invalidValue(
      `The message attribute '${name}' with type '${dataType}' must contain a JSON array of strings, numbers, ` +
        'true, false or null.',
    );
  }
}

/** String.Array, also with a custom label after it: checked as an array either way, the safer side. */
function isStringArrayType(dataType: string): boolean {
  return dataType === 'String.Array' || dataType.startsWith('String.Array.');
}

function isArrayOfScalars(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  return (
    Array.isArray(value) &&
    value.every((item: unknown) => item === null || ['string', 'number', 'boolean'].includes(typeof item))
  );
}

function mustUseField(name: string, dataType: string, field: 'String' | 'Binary'): SnsRequestError {
  return invalidValue(`The message attribute '${name}' with type '${dataType}' must use field '${field}'.`);
}

function invalidParameter(message: string): SnsRequestError {
  return new SnsRequestError('InvalidParameter', message);
}

function invalidValue(message: string): SnsRequestError {
  return new SnsRequestError('ParameterValueInvalid', message);
}
