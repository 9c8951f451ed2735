/**
 * Grants of the synthesized template that no call of the pipeline's code makes, each with the reason it stays.
 * Local mode records which grant allowed each AWS call; after the test suite, every grant no call used must be
 * listed here (test/local/least-privilege.test.ts), as cdk-nag findings must be acknowledged where they arise.
 */
export interface GrantAcknowledgement {
  /** Who holds the grant, as local mode names it: `function <step>`, `state machine inspection|waiter`, or a custom resource. */
  readonly holder: string | RegExp;
  /** The action as the policy writes it. */
  readonly action: string | RegExp;
  /** The resource as the policy writes it, resolved to local names. @default any */
  readonly resource?: string | RegExp;
  readonly reason: string;
}

export const GRANT_ACKNOWLEDGEMENTS: readonly GrantAcknowledgement[] = [
  {
    holder: /^function /,
    action: /^xray:Put(TraceSegments|TelemetryRecords)$/,
    resource: '*',
    reason:
      "Active tracing: Lambda sends the trace segments of an invocation with the function's role; the code makes no X-Ray call.",
  },
  {
    holder: /^state machine /,
    action: /^(logs|xray):/,
    resource: '*',
    reason: 'Step Functions itself uses these: delivery of the execution logs to CloudWatch Logs, and X-Ray tracing.',
  },
  {
    holder: /^state machine /,
    action: 'lambda:InvokeFunction',
    resource: /:\*$/,
    reason:
      "CDK's LambdaInvoke also grants the function's versions and aliases; the tasks invoke the unqualified function.",
  },
  {
    holder: 'function ingest',
    action: /^sqs:(ChangeMessageVisibility|GetQueueUrl)$/,
    reason:
      "Part of the SQS event source's grant; the event source mapping polls with ReceiveMessage, GetQueueAttributes and " +
      'DeleteMessage (local mode checks those), and failed messages come back when their visibility timeout ends.',
  },
  {
    holder: /\(a CDK custom resource\)$/,
    action: /^s3:(Get|Put)BucketNotification$/,
    reason:
      "CDK's custom resource merges the queue notification into the drop bucket's notification configuration (it " +
      'reads the configuration and puts it back, keeping notifications it did not add) when the stack is deployed; no ' +
      'run calls it.',
  },
];
