import type { MessageAttributeValue, PublishCommandInput } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import {
  checkPublish,
  SNS_MAX_PUBLISH_BYTES,
  SNS_MAX_SUBJECT_CHARS,
  SnsRequestError,
} from '../../local/aws/sns-publish-rules';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:inspection-outcomes';

/** A request SNS accepts, with the given fields on top. */
function request(overrides: Partial<PublishCommandInput> = {}): PublishCommandInput {
  return { TopicArn: TOPIC_ARN, Message: 'hello', ...overrides };
}

function withAttribute(name: string, attribute: MessageAttributeValue): PublishCommandInput {
  return request({ MessageAttributes: { [name]: attribute } });
}

/** The error `checkPublish` throws; fails the test when it accepts the request or throws something else. */
function refusal(input: PublishCommandInput): SnsRequestError {
  try {
    checkPublish(input);
  } catch (error) {
    if (error instanceof SnsRequestError) return error;
    throw error;
  }
  throw new Error(`checkPublish accepted ${JSON.stringify(input).slice(0, 200)}`);
}

function expectRefused(input: PublishCommandInput, code: string, message: string): void {
  const error = refusal(input);
  expect({ name: error.name, code: error.code, statusCode: error.statusCode, message: error.message }).toEqual({
    name: 'SnsRequestError',
    code,
    statusCode: 400,
    message,
  });
}

function expectAccepted(input: PublishCommandInput): void {
  expect(() => checkPublish(input)).not.toThrow();
}

const invalidType = (name: string) =>
  `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`;
const emptyValue = (name: string, dataType: string) =>
  `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`;

describe('SnsRequestError', () => {
  it('is an Error named SnsRequestError with the SNS code, status 400 and the Sender fault', () => {
    // Prepare
    const error = new SnsRequestError('InvalidParameter', 'Invalid parameter: Subject');

    // Act
    const { name, code, statusCode, fault, message } = error;

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect({ name, code, statusCode, fault, message }).toEqual({
      name: 'SnsRequestError',
      code: 'InvalidParameter',
      statusCode: 400,
      fault: 'Sender',
      message: 'Invalid parameter: Subject',
    });
  });
});

describe('checkPublish: destination and message', () => {
  it('accepts a TopicArn, a TargetArn or a PhoneNumber, and refuses a request with none of them', () => {
    // Prepare
    const none = { Message: 'hello' };

    // Act
    const accepted = [
      request(),
      { TargetArn: TOPIC_ARN, Message: 'hello' },
      { PhoneNumber: '+41791234567', Message: 'hello' },
    ];

    // Assess
    for (const input of accepted) expectAccepted(input);
    expectRefused(
      none,
      'InvalidParameter',
      'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
    );
  });

  it('accepts a TopicArn of 6 elements and refuses one of 5, or an empty one', () => {
    // Prepare
    const sixElements = 'arn:aws:sns:eu-west-1:123456789012:t';
    const fiveElements = 'arn:aws:sns:eu-west-1:123456789012';

    // Act
    const accepted = request({ TopicArn: sixElements });

    // Assess
    expectAccepted(accepted);
    expectRefused(
      request({ TopicArn: fiveElements }),
      'InvalidParameter',
      'Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 5',
    );
    expectRefused(
      request({ TopicArn: '' }),
      'InvalidParameter',
      'Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1',
    );
  });

  it('accepts a one-character message and refuses an empty or missing one', () => {
    // Prepare
    const missing = { TopicArn: TOPIC_ARN, Message: undefined };

    // Act
    const oneCharacter = request({ Message: 'x' });

    // Assess
    expectAccepted(oneCharacter);
    expectRefused(request({ Message: '' }), 'InvalidParameter', 'Invalid parameter: Empty message');
    expectRefused(
      missing,
      'ValidationError',
      "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
    );
  });
});

describe('checkPublish: Subject', () => {
  it('accepts 99 characters and refuses 100', () => {
    // Prepare
    const longest = 'S'.repeat(99);
    const tooLong = 'S'.repeat(100);

    // Act
    const accepted = request({ Subject: longest });

    // Assess
    expect(SNS_MAX_SUBJECT_CHARS).toBe(99);
    expectAccepted(accepted);
    expectRefused(request({ Subject: tooLong }), 'InvalidParameter', 'Invalid parameter: Subject');
  });

  it('accepts a subject that begins with a letter, a number or punctuation and contains spaces', () => {
    // Prepare
    const subjects = ['Inspection completed: a/b (3 photos)', '7 photos', '[ALERT] x', '~', `!${' '.repeat(97)}x`];

    // Act
    const inputs = subjects.map((Subject) => request({ Subject }));

    // Assess
    for (const input of inputs) expectAccepted(input);
    expectAccepted(request({ Subject: undefined }));
  });

  it('refuses an empty subject, a leading space, line breaks, tabs, control characters and non-ASCII text', () => {
    // Prepare
    const subjects = [
      '',
      ' leading space',
      'two\nlines',
      'carriage\rreturn',
      'tab\there',
      'bell\u0007',
      'del\u007F',
      'été',
      'tower 🗼',
    ];

    // Act
    const errors = subjects.map((Subject) => refusal(request({ Subject })));

    // Assess
    for (const error of errors) {
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'InvalidParameter',
        message: 'Invalid parameter: Subject',
      });
    }
  });
});

describe('checkPublish: size', () => {
  it('accepts a message of 262,144 bytes and refuses one more byte', () => {
    // Prepare
    const atLimit = 'a'.repeat(SNS_MAX_PUBLISH_BYTES);

    // Act
    const accepted = request({ Message: atLimit, Subject: 'The subject is not counted' });

    // Assess
    expect(SNS_MAX_PUBLISH_BYTES).toBe(262_144);
    expectAccepted(accepted);
    expectRefused(request({ Message: `${atLimit}a` }), 'InvalidParameter', 'Invalid parameter: Message too long');
  });

  it('counts UTF-8 bytes, not characters', () => {
    // Prepare
    const twoByteCharacters = 'é'.repeat(SNS_MAX_PUBLISH_BYTES / 2);

    // Act
    const accepted = request({ Message: twoByteCharacters });

    // Assess
    expectAccepted(accepted);
    expectRefused(
      request({ Message: `${twoByteCharacters}a` }),
      'InvalidParameter',
      'Invalid parameter: Message too long',
    );
  });

  it('counts the name, data type and value of every attribute, string or binary', () => {
    // Prepare
    const attributes: Record<string, MessageAttributeValue> = {
      attr1: { DataType: 'Number', StringValue: '1' },
      blob: { DataType: 'Binary', BinaryValue: new Uint8Array(10) },
    };
    const attributeBytes = 'attr1'.length + 'Number'.length + 1 + 'blob'.length + 'Binary'.length + 10;
    const message = 'a'.repeat(SNS_MAX_PUBLISH_BYTES - attributeBytes);

    // Act
    const accepted = request({ Message: message, MessageAttributes: attributes });

    // Assess
    expectAccepted(accepted);
    expectRefused(
      request({ Message: `${message}a`, MessageAttributes: attributes }),
      'InvalidParameter',
      'Invalid parameter: Message too long',
    );
  });
});

describe('checkPublish: MessageStructure json', () => {
  it('accepts a JSON object with a string default, other keys of any value, and an empty default', () => {
    // Prepare
    const messages = [
      JSON.stringify({ default: 'for everyone' }),
      JSON.stringify({ default: 'for everyone', email: 'for people', sqs: JSON.stringify({ a: 1 }) }),
      // SNS ignores a protocol key whose value is not a string.
      JSON.stringify({ default: 'for everyone', sqs: { field: 'value' }, lambda: 3 }),
      JSON.stringify({ default: '' }),
    ];

    // Act
    const inputs = messages.map((Message) => request({ Message, MessageStructure: 'json' }));

    // Assess
    for (const input of inputs) expectAccepted(input);
  });

  it('refuses a message that is not JSON', () => {
    // Prepare
    const messages = ['{"default": "This is a default message"} }', 'plain text'];

    // Act
    const inputs = messages.map((Message) => request({ Message, MessageStructure: 'json' }));

    // Assess
    for (const input of inputs) {
      expectRefused(
        input,
        'InvalidParameter',
        'Invalid parameter: Message Structure - JSON message body failed to parse',
      );
    }
  });

  it('refuses JSON without a string default: missing, not a string, or not an object at all', () => {
    // Prepare
    const messages = [
      JSON.stringify({ sqs: 'Test message' }),
      JSON.stringify({ default: { object: 'test' } }),
      JSON.stringify({ default: 1 }),
      JSON.stringify({ default: null }),
      JSON.stringify(['default']),
      JSON.stringify('default'),
    ];

    // Act
    const inputs = messages.map((Message) => request({ Message, MessageStructure: 'json' }));

    // Assess
    for (const input of inputs) {
      expectRefused(
        input,
        'InvalidParameter',
        'Invalid parameter: Message Structure - No default entry in JSON message body',
      );
    }
  });

  it('refuses a MessageStructure other than json, and does not parse a message without one', () => {
    // Prepare
    const notJson = 'plain text';

    // Act
    const plain = request({ Message: notJson });

    // Assess
    expectAccepted(plain);
    expectRefused(
      request({ Message: JSON.stringify({ default: 'x' }), MessageStructure: 'JSON' }),
      'InvalidParameter',
      'Invalid parameter: MessageStructure',
    );
  });
});

describe('checkPublish: message attribute names', () => {
  it('accepts a name of 256 characters and refuses 257', () => {
    // Prepare
    const longest = 'a'.repeat(256);

    // Act
    const accepted = withAttribute(longest, { DataType: 'String', StringValue: 'v' });

    // Assess
    expectAccepted(accepted);
    expectRefused(
      withAttribute(`${longest}a`, { DataType: 'String', StringValue: 'v' }),
      'ParameterValueInvalid',
      'Length of message attribute name must be less than 256 bytes.',
    );
  });

  it('accepts letters, digits, underscores, hyphens and single inner periods', () => {
    // Prepare
    const names = ['type', 'asset', 'A-Za_z0-9', 'a.b.c', '_', '-', 'AWSx', 'aws_x', 'Amazonia.x'];

    // Act
    const inputs = names.map((name) => withAttribute(name, { DataType: 'String', StringValue: 'v' }));

    // Assess
    for (const input of inputs) expectAccepted(input);
  });

  it('refuses periods at either end or in succession, with the SNS message for each', () => {
    // Prepare
    const cases = [
      ['.abc', "Invalid message attribute name starting with character '.' was found."],
      ['abc.', "Invalid message attribute name ending with character '.' was found."],
      ['a..bc', "Message attribute name can not have successive '.' character."],
    ] as const;

    // Act
    const errors = cases.map(([name]) => refusal(withAttribute(name, { DataType: 'String', StringValue: 'v' })));

    // Assess
    errors.forEach((error, index) => {
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'ParameterValueInvalid',
        message: cases[index]?.[1],
      });
    });
  });

  it('refuses any other character, naming the first one in hexadecimal', () => {
    // Prepare
    const cases = [
      ['a^*?', '5E'],
      ['a b', '20'],
      ['été', 'E9'],
      ['tower🗼', '1F5FC'],
      ['a/b', '2F'],
    ] as const;

    // Act
    const errors = cases.map(([name]) => refusal(withAttribute(name, { DataType: 'String', StringValue: 'v' })));

    // Assess
    errors.forEach((error, index) => {
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'ParameterValueInvalid',
        message:
          `Invalid non-alphanumeric character '#x${cases[index]?.[1]}' was found in the message attribute name. ` +
          'Can only include alphanumeric characters, hyphens, underscores, or dots.',
      });
    });
  });

  it('refuses an empty name', () => {
    // Prepare
    const input = withAttribute('', { DataType: 'String', StringValue: 'v' });

    // Act
    const error = refusal(input);

    // Assess
    expect({ code: error.code, message: error.message }).toEqual({
      code: 'ParameterValueInvalid',
      message: 'The request must contain non-empty message attribute name.',
    });
  });

  it('refuses the reserved prefixes AWS. and Amazon. in any case, but takes SNS’s own reserved attributes', () => {
    // Prepare
    const reserved = ['AWS.custom', 'aws.custom', 'Aws.Sns.SMS.SenderID', 'Amazon.custom', 'AMAZON.custom', 'amazon.x'];
    const snsOwn = [
      'AWS.SNS.SMS.SenderID',
      'AWS.SNS.SMS.SMSType',
      'AWS.SNS.MOBILE.APNS.TTL',
      'AWS.MM.SMS.OriginationNumber',
    ];

    // Act
    const errors = reserved.map((name) => refusal(withAttribute(name, { DataType: 'String', StringValue: 'v' })));

    // Assess
    for (const error of errors) {
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'ParameterValueInvalid',
        message: "Message attribute names starting with 'AWS.' or 'Amazon.' are reserved for use by Amazon.",
      });
    }
    for (const name of snsOwn) expectAccepted(withAttribute(name, { DataType: 'String', StringValue: 'v' }));
  });

  it('sets no limit on the number of attributes a Publish carries', () => {
    // Prepare
    const attributes = Object.fromEntries(
      Array.from({ length: 50 }, (_, index) => [`attr${index}`, { DataType: 'String', StringValue: `${index}` }]),
    );

    // Act
    const input = request({ MessageAttributes: attributes });

    // Assess
    expectAccepted(input);
  });
});

describe('checkPublish: message attribute data types', () => {
  it('accepts the four types and custom labels after String., Number. and Binary.', () => {
    // Prepare
    const attributes: Record<string, MessageAttributeValue> = {
      s: { DataType: 'String', StringValue: 'v' },
      a: { DataType: 'String.Array', StringValue: '["v"]' },
      n: { DataType: 'Number', StringValue: '1' },
      b: { DataType: 'Binary', BinaryValue: new Uint8Array([1]) },
      sp: { DataType: 'String.prefixed', StringValue: 'v' },
      sq: { DataType: 'String.  prefixed.', StringValue: 'v' },
      nf: { DataType: 'Number.java.lang.Long', StringValue: '1755790334457' },
      bg: { DataType: 'Binary.gzip', BinaryValue: new Uint8Array([1]) },
    };

    // Act
    const input = request({ MessageAttributes: attributes });

    // Assess
    expectAccepted(input);
  });

  it('accepts a data type of 256 bytes and refuses 257', () => {
    // Prepare
    const longest = `String.${'x'.repeat(256 - 'String.'.length)}`;

    // Act
    const accepted = withAttribute('attr1', { DataType: longest, StringValue: 'v' });

    // Assess
    expect(longest).toHaveLength(256);
    expectAccepted(accepted);
    expectRefused(
      withAttribute('attr1', { DataType: `${longest}x`, StringValue: 'v' }),
      'ParameterValueInvalid',
      invalidType('attr1'),
    );
  });

  it('refuses an unknown type, a wrong case, an empty label and a prefix without its period', () => {
    // Prepare
    const dataTypes = ['InvalidType', 'string', 'STRING', 'String.', 'Stringprefixed', 'Numbers', '', 'Array'];

    // Act
    const inputs = dataTypes.map((DataType) => withAttribute('attr1', { DataType, StringValue: '123' }));

    // Assess
    for (const input of inputs) expectRefused(input, 'ParameterValueInvalid', invalidType('attr1'));
  });

  it('refuses an attribute without a data type as a missing required member', () => {
    // Prepare
    const input = withAttribute('attr1', { DataType: undefined, StringValue: 'value' });

    // Act
    const error = refusal(input);

    // Assess
    expect({ code: error.code, message: error.message }).toEqual({
      code: 'ValidationError',
      message:
        "1 validation error detected: Value null at 'messageAttributes.attr1.member.dataType' failed to satisfy constraint: Member must not be null",
    });
  });
});

describe('checkPublish: message attribute values', () => {
  it('refuses a missing or empty value of each kind', () => {
    // Prepare
    const cases = [
      [{ DataType: 'String', StringValue: '' }, 'String'],
      [{ DataType: 'String' }, 'String'],
      [{ DataType: 'Number', StringValue: '' }, 'Number'],
      [{ DataType: 'String.Array' }, 'String.Array'],
      [{ DataType: 'Binary', BinaryValue: new Uint8Array(0) }, 'Binary'],
      [{ DataType: 'Binary.gzip' }, 'Binary.gzip'],
    ] as const;

    // Act
    const errors = cases.map(([attribute]) => refusal(withAttribute('attr1', attribute)));

    // Assess
    errors.forEach((error, index) => {
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'ParameterValueInvalid',
        message: emptyValue('attr1', cases[index]?.[1] ?? ''),
      });
    });
  });

  it('accepts a one-character string and a one-byte binary value', () => {
    // Prepare
    const attributes: Record<string, MessageAttributeValue> = {
      s: { DataType: 'String', StringValue: 'v' },
      b: { DataType: 'Binary', BinaryValue: new Uint8Array([0]) },
    };

    // Act
    const input = request({ MessageAttributes: attributes });

    // Assess
    expectAccepted(input);
  });

  it('refuses a value in the field the type does not use', () => {
    // Prepare
    const cases = [
      [{ DataType: 'String', BinaryValue: new Uint8Array([1, 2, 3]) }, "with type 'String' must use field 'String'."],
      [{ DataType: 'Number', BinaryValue: new Uint8Array([1, 2, 3]) }, "with type 'Number' must use field 'String'."],
      [{ DataType: 'Binary', StringValue: '123' }, "with type 'Binary' must use field 'Binary'."],
    ] as const;

    // Act
    const errors = cases.map(([attribute]) => refusal(withAttribute('attr1', attribute)));

    // Assess
    errors.forEach((error, index) => {
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'ParameterValueInvalid',
        message: `The message attribute 'attr1' ${cases[index]?.[1]}`,
      });
    });
  });

  it('accepts integers, decimals, exponents and values beyond 10^9 as numbers', () => {
    // Prepare
    const values = [
      '0',
      '1',
      '-1',
      '+7',
      '99.12',
      '-0.00001',
      '.5',
      '1.',
      '1e3',
      '2.5E-4',
      '1755790334457',
      '1000000000.123456',
    ];

    // Act
    const inputs = values.map((StringValue) => withAttribute('n', { DataType: 'Number', StringValue }));

    // Assess
    for (const input of inputs) expectAccepted(input);
  });

  it('refuses a Number value that is not a number', () => {
    // Prepare
    const values = ['abc', '1,5', ' 1', '1 ', '0x10', 'NaN', 'Infinity', '1e', '--1', '.', '1.2.3'];

    // Act
    const inputs = values.map((StringValue) => withAttribute('price', { DataType: 'Number.float', StringValue }));

    // Assess
    for (const input of inputs) {
      expectRefused(input, 'ParameterValueInvalid', "Could not cast message attribute 'price' value to number.");
    }
  });

  it('accepts a String.Array of strings, numbers, true, false and null, even empty', () => {
    // Prepare
    const values = ['["a", 1, 2.5, true, false, null]', '[]', '["only"]'];

    // Act
    const inputs = values.map((StringValue) => withAttribute('tags', { DataType: 'String.Array', StringValue }));

    // Assess
    for (const input of inputs) expectAccepted(input);
  });

  it('refuses a String.Array value that is not a JSON array of scalars', () => {
    // Prepare
    const values = ['"a"', 'a,b', '{"a": 1}', '[["a"]]', '[{"a": 1}]', '[1,]'];

    // Act
    const inputs = values.map((StringValue) => withAttribute('tags', { DataType: 'String.Array', StringValue }));

    // Assess
    for (const input of inputs) {
      expectRefused(
        input,
        'ParameterValueInvalid',
        "The message attribute 'tags' with type 'String.Array' must contain a JSON array of strings, numbers, true, false or null.",
      );
    }
  });
});
