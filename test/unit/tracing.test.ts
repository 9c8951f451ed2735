import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PIPELINE_STEPS } from '../../lib/pipeline-functions';
import { LocalAwsServices } from '../../local/aws/local-aws-services';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import type { InspectionRequest } from '../../src/ingest/batch-events';
import type {
  CopyChunkResult,
  PollState,
  PreparedInspection,
  ProcessingState,
  RegistrationResult,
} from '../../src/workflow/workflow-state';
import { dropFlight, photos } from '../helpers/flights';
import { startXrayDaemon, type TraceDocument, type XrayDaemon } from '../helpers/xray-daemon';

/**
 * The functions' handlers as Lambda runs them with active tracing: the environment Lambda sets (execution
 * environment, task root, trace header per invocation, daemon address), the default SDK clients built from it and
 * sent to local stand-ins (`AWS_ENDPOINT_URL_<SERVICE>`: the embedded S3, local mode's Secrets Manager, Step
 * Functions and SNS), real Pix4Dinspect calls to the simulator, and a UDP socket as the X-Ray daemon receiving
 * every document the SDK sends. The tracer reads its environment when it is built, so the handlers are imported
 * only once it is set; vitest runs each test file in its own process, so no other file's modules are shared.
 */

const DROP_BUCKET = 'drop-traced';
const WORK_BUCKET = 'work-traced';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pix4d/inspect-AbC123';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:inspect-outcomes';
const INSPECTION_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Inspection';
const WAITER_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:BatchWaiter';
const PREFIX = 'tower-t/flight-1/';
const HANDLER_SUBSEGMENT = '## index.handler';
// The function's own role credentials, as Lambda puts them in its environment (s3rver accepts only this key id).
const ROLE = {
  accessKeyId: 'S3RVER',
  secretAccessKey: `role-secret-${randomBytes(12).toString('hex')}`,
  sessionToken: `role-token-${randomBytes(24).toString('hex')}`,
};

type Handler = (event: never, context: Context) => Promise<unknown>;

let daemon: XrayDaemon;
let embedded: EmbeddedS3;
let simulator: Simulator;
const bridges: Server[] = [];
const executions: { arn: string; name: string; input: string }[] = [];
const published: string[] = [];
const savedEnv = { ...process.env };
const realFetch = globalThis.fetch;
/** Every answer body of Pix4Dinspect, read off the wire: the tokens and S3 credentials it handed out. */
const pix4dAnswers: string[] = [];

/** One of local mode's services behind an HTTP endpoint of its own, for a default SDK client to be sent to. */
async function serviceEndpoint(services: LocalAwsServices, hostname: string): Promise<string> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      services.requestHandler
        .handle({ hostname, headers: request.headers as Record<string, string>, body: Buffer.concat(chunks) })
        .then(({ response: answer }) => {
          response.writeHead(answer.statusCode, answer.headers);
          answer.body.pipe(response);
        })
        .catch((error: unknown) => response.writeHead(500).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bridges.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function contextOf(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomBytes(16).toString('hex'),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'traced',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

interface Invocation<R> {
  readonly traceId: string;
  /** The segment Lambda records for the invocation, parent of the handler's subsegment. */
  readonly parentId: string;
  readonly outcome: { readonly result: R } | { readonly error: Error };
}

/** One invocation as Lambda makes it: a trace header of its own in the environment, then the handler. */
async function invoke<R>(handler: Handler, functionName: string, event: unknown): Promise<Invocation<R>> {
  const traceId = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  const parentId = randomBytes(8).toString('hex');
  process.env._X_AMZN_TRACE_ID = `Root=${traceId};Parent=${parentId};Sampled=1`;
  process.env.AWS_LAMBDA_FUNCTION_NAME = functionName;
  try {
    return { traceId, parentId, outcome: { result: (await handler(event as never, contextOf(functionName))) as R } };
  } catch (error) {
    return { traceId, parentId, outcome: { error: error as Error } };
  }
}

function resultOf<R>(invocation: Invocation<R>): R {
  if ('error' in invocation.outcome) throw invocation.outcome.error;
  return invocation.outcome.result;
}

function documentsOf(invocation: Invocation<unknown>): TraceDocument[] {
  return daemon.documents().filter((document) => document.trace_id === invocation.traceId);
}

const isPix4dCall = (document: TraceDocument) => document.name.startsWith('Pix4Dinspect ');

let handlers: Record<
  'ingest' | 'checkBatch' | 'prepare' | 'copy' | 'register' | 'startProcessing' | 'checkStatus' | 'notify',
  Handler
>;

beforeAll(async () => {
  daemon = await startXrayDaemon();
  embedded = await startEmbeddedS3({ buckets: [DROP_BUCKET, WORK_BUCKET] });
  simulator = await startSimulator({ embeddedS3: embedded, settings: { processingSeconds: 0.3 } });
  const services = new LocalAwsServices({
    secrets: new Map([[SECRET_ARN, JSON.stringify(simulator.account)]]),
    topics: new Set([TOPIC_ARN]),
    onPublish: ({ input }) => published.push(input.Message ?? ''),
    executions: {
      start: async (arn, name, input) => {
        executions.push({ arn, name, input });
        return {
          outcome: 'started',
          executionArn: `${arn.replace(':stateMachine:', ':execution:')}:${name}`,
          startDate: new Date(),
        };
      },
    },
  });
  globalThis.fetch = async (input, init) => {
    const response = await realFetch(input, init);
    pix4dAnswers.push(await response.clone().text());
    return response;
  };
  Object.assign(process.env, {
    // What Lambda sets for a function with active tracing.
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: ROLE.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ROLE.secretAccessKey,
    AWS_SESSION_TOKEN: ROLE.sessionToken,
    // Where the default clients go instead of AWS.
    AWS_ENDPOINT_URL_S3: embedded.endpoint,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: await serviceEndpoint(services, 'secretsmanager.us-east-1.amazonaws.com'),
    AWS_ENDPOINT_URL_SFN: await serviceEndpoint(services, 'states.us-east-1.amazonaws.com'),
    AWS_ENDPOINT_URL_SNS: await serviceEndpoint(services, 'sns.us-east-1.amazonaws.com'),
    // The stack's environment of the functions.
    WORK_BUCKET,
    PIX4D_SECRET_ARN: SECRET_ARN,
    PIX4D_API_URL: simulator.apiUrl,
    PIX4D_AUTH_URL: simulator.apiUrl,
    TOPIC_ARN,
    PHOTOS_PER_CHUNK: '3',
    INSPECTION_STATE_MACHINE_ARN: INSPECTION_ARN,
    WAITER_STATE_MACHINE_ARN: WAITER_ARN,
    // Neither is under test here, and both would write to the report.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  delete process.env.POWERTOOLS_TRACE_ENABLED;

  const { stepRuntimeFromEnv } = await import('../../functions/shared/step-runtime.js');
  // One runtime per function, as each function is a container of its own; the copy is told where the simulator's
  // bucket is, which on AWS is the region's S3 endpoint.
  const copyRuntime = stepRuntimeFromEnv();
  handlers = {
    ingest: (await import('../../functions/ingest/handler.js')).createHandler() as Handler,
    checkBatch: (await import('../../functions/check-batch/handler.js')).createHandler() as Handler,
    prepare: (await import('../../functions/prepare/handler.js')).createHandler(stepRuntimeFromEnv()) as Handler,
    copy: (await import('../../functions/copy/handler.js')).createHandler((context) => ({
      ...copyRuntime(context),
      destinationEndpoint: simulator.s3Endpoint,
    })) as Handler,
    register: (await import('../../functions/register/handler.js')).createHandler(stepRuntimeFromEnv()) as Handler,
    startProcessing: (await import('../../functions/start-processing/handler.js')).createHandler(
      stepRuntimeFromEnv(),
    ) as Handler,
    checkStatus: (await import('../../functions/check-status/handler.js')).createHandler(
      stepRuntimeFromEnv(),
    ) as Handler,
    notify: (await import('../../functions/notify/handler.js')).createHandler(stepRuntimeFromEnv()) as Handler,
  };
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  for (const server of bridges) await new Promise((resolve) => server.close(resolve));
  await simulator?.close();
  await embedded?.close();
  await daemon?.close();
});

const API = {
  token: 'Pix4Dinspect POST /v1/auth/token/',
  createAsset: 'Pix4Dinspect POST /v1/assets/',
  createInspection: 'Pix4Dinspect POST /v1/inspections/',
  inspection: 'Pix4Dinspect GET /v1/inspections/{id}/',
  credentials: 'Pix4Dinspect GET /v1/inspections/{id}/s3_credentials/',
  register: 'Pix4Dinspect POST /v1/inspections/{id}/register_images/',
  process: 'Pix4Dinspect POST /v1/inspections/{id}/process/',
};

/** The invocations of the run below, by function, for the tests after it to read. */
const run: Record<string, Invocation<unknown>[]> = {};
let processingDeadline = '';
let inspectionId = 0;

function invoked<R>(name: string, invocation: Invocation<R>): R {
  run[name] ??= [];
  run[name].push(invocation);
  return resultOf(invocation);
}

function runDocuments(name: string): TraceDocument[] {
  return (run[name] ?? []).flatMap(documentsOf);
}

function pix4dCallsOf(name: string): Set<string> {
  return new Set(
    runDocuments(name)
      .filter(isPix4dCall)
      .map((document) => document.name),
  );
}

function awsCallsOf(name: string): Set<string> {
  return new Set(
    runDocuments(name)
      .filter((document) => document.namespace === 'aws')
      .map((document) => `${document.name} ${String(document.aws?.operation)}`),
  );
}

function handlerSegmentOf(invocation: Invocation<unknown>): TraceDocument {
  const handlerSegments = documentsOf(invocation).filter((document) => document.name === HANDLER_SUBSEGMENT);
  expect(handlerSegments).toHaveLength(1);
  return handlerSegments[0]!;
}

/** The tokens and S3 credentials Pix4Dinspect handed out so far, read from its answers. */
function pix4dHandouts(): { tokens: string[]; s3Secrets: string[] } {
  const answers = pix4dAnswers.flatMap((text) => {
    try {
      return [JSON.parse(text) as { api_token?: string; secret_key?: string; session_token?: string }];
    } catch {
      return [];
    }
  });
  return {
    tokens: answers.flatMap((answer) => (answer.api_token ? [answer.api_token] : [])),
    s3Secrets: answers.flatMap((answer) =>
      answer.secret_key && answer.session_token ? [answer.secret_key, answer.session_token] : [],
    ),
  };
}

describe('a traced run of the pipeline', () => {
  beforeAll(async () => {
    await dropFlight(embedded.client(), DROP_BUCKET, PREFIX, photos(6), { asset: { name: 'Tower T' } });
    const head = await embedded
      .client()
      .send(new HeadObjectCommand({ Bucket: DROP_BUCKET, Key: `${PREFIX}manifest.json` }));
    const notification = {
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          eventTime: new Date().toISOString(),
          s3: { bucket: { name: DROP_BUCKET }, object: { key: `${PREFIX}manifest.json`, eTag: head.ETag } },
        },
      ],
    };
    invoked(
      'ingest',
      await invoke(handlers.ingest, 'ingest', {
        Records: [{ messageId: 'm-1', body: JSON.stringify(notification) }],
      } as SQSEvent),
    );
    // The inspection workflow, as its state machine calls the functions.
    const execution = executions.find((started) => started.arn === INSPECTION_ARN)!;
    const request = JSON.parse(execution.input) as InspectionRequest;
    const prepared = invoked(
      'prepare',
      await invoke<PreparedInspection>(handlers.prepare, 'prepare', { request, batchId: execution.name }),
    );
    const ids = { runPrefix: prepared.runPrefix, inspectionId: prepared.inspection.id };
    const copy: CopyChunkResult[] = [];
    for (const chunk of prepared.chunks) {
      copy.push(
        invoked(
          'copy',
          await invoke<CopyChunkResult>(handlers.copy, 'copy', {
            ...ids,
            dropBucket: DROP_BUCKET,
            chunkIndex: chunk.index,
          }),
        ),
      );
    }
    const registration = invoked(
      'register',
      await invoke<RegistrationResult>(handlers.register, 'register', { ...ids, copy }),
    );
    const processing = invoked(
      'start-processing',
      await invoke<ProcessingState>(handlers.startProcessing, 'start-processing', ids),
    );
    let poll: PollState = processing.poll;
    while (poll.outcome === 'in_progress') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const input = { inspectionId: ids.inspectionId, deadline: processing.deadline, pollCount: poll.pollCount };
      poll = invoked('check-status', await invoke<PollState>(handlers.checkStatus, 'check-status', input));
    }
    const state = { ...request, prepared, copy, registration, processing: { ...processing, poll } };
    invoked(
      'notify',
      await invoke(handlers.notify, 'notify', { batchId: execution.name, type: 'inspection.completed', state }),
    );
    // The batch waiter's step, on the same folder.
    invoked(
      'check-batch',
      await invoke(handlers.checkBatch, 'check-batch', {
        batch: request.batch,
        quietPeriodSeconds: 600,
        watchId: 'w-traced',
      }),
    );
    await daemon.settled();
    processingDeadline = processing.deadline;
    inspectionId = ids.inspectionId;
    expect(poll.outcome).toBe('completed');
    expect(published).toHaveLength(1);
  });

  it('gives each invocation one handler subsegment, without a copy of its result', () => {
    // Assess
    expect(Object.keys(run).sort()).toEqual([...PIPELINE_STEPS].sort());
    for (const invocation of Object.values(run).flat()) {
      const handler = handlerSegmentOf(invocation);
      expect(handler.annotations).toEqual({ ColdStart: expect.any(Boolean), Service: 'inspect-pipeline' });
      expect(handler.metadata).toBeUndefined();
      expect(handler.fault ?? false).toBe(false);
      // Below the function's segment, which Lambda records (its id is the trace header's Parent), and everything the
      // invocation did below it.
      expect(handler.parent_id).toBe(invocation.parentId);
      const ids = new Set(documentsOf(invocation).map((document) => document.id));
      for (const document of documentsOf(invocation))
        if (document.id !== handler.id) expect(ids).toContain(document.parent_id);
    }
  });

  it('records the calls of the default SDK clients of every function', () => {
    // Assess
    expect(awsCallsOf('ingest')).toEqual(new Set(['SFN StartExecution']));
    expect(awsCallsOf('prepare')).toEqual(
      new Set(['SecretsManager GetSecretValue', 'S3 GetObject', 'S3 ListObjectsV2', 'S3 PutObject']),
    );
    // The copy's own clients, with Inspect's credentials, too. Its photos are single PutObjects, whose success is the
    // size check: no HeadObject follows them.
    expect(awsCallsOf('copy')).toEqual(new Set(['SecretsManager GetSecretValue', 'S3 GetObject', 'S3 PutObject']));
    expect(awsCallsOf('notify')).toContain('SNS Publish');
    expect(awsCallsOf('check-batch')).toEqual(new Set(['S3 ListMultipartUploads', 'S3 ListObjectsV2', 'S3 PutObject']));
  });

  it('makes each Pix4Dinspect call a subsegment named after its endpoint, annotated with it alone', () => {
    // Assess
    expect(pix4dCallsOf('prepare')).toEqual(
      new Set([API.token, API.createAsset, API.createInspection, API.credentials]),
    );
    expect(pix4dCallsOf('copy')).toEqual(new Set([API.token, API.credentials]));
    expect(pix4dCallsOf('register')).toEqual(new Set([API.token, API.register]));
    expect(pix4dCallsOf('start-processing')).toEqual(new Set([API.token, API.inspection, API.process]));
    expect(pix4dCallsOf('check-status')).toEqual(new Set([API.token, API.inspection]));
    for (const name of ['ingest', 'notify', 'check-batch']) expect(pix4dCallsOf(name)).toEqual(new Set());
    const all = Object.values(run).flat().flatMap(documentsOf);
    const calls = all.filter(isPix4dCall);
    for (const call of calls) {
      expect(call.annotations).toEqual({ endpoint: call.name.slice('Pix4Dinspect '.length) });
      expect(call.metadata).toBeUndefined();
      expect(call.http).toBeUndefined();
      expect(call.error ?? call.fault ?? false).toBe(false);
      // Its attempts, each an HTTP subsegment of the request: method, and the URL without any query.
      const attempts = all.filter((document) => document.parent_id === call.id && document.namespace === 'remote');
      expect(attempts.length).toBeGreaterThan(0);
      for (const attempt of attempts) {
        expect(attempt.http?.request?.method).toBe(call.name.split(' ')[1]);
        expect(attempt.http?.request?.url).not.toContain('?');
      }
    }
    // A token request is part of the call that needed it.
    const tokens = calls.filter((call) => call.name === API.token);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens)
      expect(calls.find((call) => call.id === token.parent_id)?.name).toMatch(
        /^Pix4Dinspect (GET|POST) \/v1\/(assets|inspections)\//,
      );
  });

  it('records the error of a Pix4Dinspect call that fails, scrubbed as the client scrubs it', async () => {
    // Prepare
    const { account } = simulator;
    const token = pix4dHandouts().tokens.at(-1)!;
    // A service that echoes what it was sent.
    const echo = {
      detail: `echo: password=${account.password} X-Api-Key=${account.apiKey} Authorization=Bearer ${token}`,
    };
    simulator.injectFault({
      method: 'GET',
      pathIncludes: '/v1/inspections/',
      action: 'answer',
      status: 429,
      retryAfterSeconds: 600,
      body: echo,
    });

    // Act
    const invocation = await invoke(handlers.checkStatus, 'check-status', {
      inspectionId,
      deadline: processingDeadline,
      pollCount: 9,
    });
    await daemon.settled();

    // Assess
    expect('error' in invocation.outcome && invocation.outcome.error.name).toBe('Pix4dThrottledError');
    const call = documentsOf(invocation).find((document) => document.name === API.inspection)!;
    expect(call.fault).toBe(true);
    expect(call.annotations).toEqual({ endpoint: 'GET /v1/inspections/{id}/' });
    const [exception] = call.cause?.exceptions ?? [];
    expect(exception?.type).toBe('Pix4dThrottledError');
    expect(exception?.message).toContain('password=[redacted] X-Api-Key=[redacted] Authorization=Bearer [redacted');
    // The handler's subsegment refers to the same error rather than recording it again.
    expect(handlerSegmentOf(invocation)).toMatchObject({ fault: true, cause: { id: call.id, exceptions: [] } });
  });

  it('flags a Pix4Dinspect call answered with an error; the handler records the error its caller throws', async () => {
    // Prepare
    const { account } = simulator;
    simulator.injectFault({
      method: 'GET',
      pathIncludes: '/v1/inspections/',
      action: 'answer',
      status: 403,
      body: { detail: `echo: ${account.password} ${account.apiKey}` },
    });

    // Act
    const invocation = await invoke(handlers.checkStatus, 'check-status', {
      inspectionId,
      deadline: processingDeadline,
      pollCount: 10,
    });
    await daemon.settled();

    // Assess
    expect('error' in invocation.outcome && invocation.outcome.error.name).toBe('Pix4dForbiddenError');
    const call = documentsOf(invocation).find((document) => document.name === API.inspection)!;
    expect(call.error).toBe(true);
    expect(call.cause).toBeUndefined();
    const handler = handlerSegmentOf(invocation);
    expect(handler.fault).toBe(true);
    expect(handler.cause?.exceptions?.[0]?.type).toBe('Pix4dForbiddenError');
    expect(handler.cause?.exceptions?.[0]?.message).toContain('echo: [redacted] [redacted]');
  });

  it('sends no password, API key, token or S3 secret in any document', () => {
    // Prepare
    const { tokens, s3Secrets } = pix4dHandouts();
    // One token per function that calls Pix4Dinspect; credentials for the prepare and each copy.
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    expect(s3Secrets.length).toBeGreaterThanOrEqual(2 * 3);
    const secrets = [
      simulator.account.password,
      simulator.account.apiKey,
      ...tokens,
      ...s3Secrets,
      ROLE.secretAccessKey,
      ROLE.sessionToken,
    ];

    // Assess
    expect(daemon.datagrams.length).toBeGreaterThan(100);
    for (const datagram of daemon.datagrams) for (const secret of secrets) expect(datagram).not.toContain(secret);
  });
});

describe('the tracer off Lambda', () => {
  it('leaves the SDK clients and the Pix4Dinspect calls as they are', async () => {
    // Prepare
    process.env.POWERTOOLS_TRACE_ENABLED = 'false';
    vi.resetModules();
    const { tracedClient, tracedClients, pix4dTracing, tracedPix4dCalls } = await import(
      '../../functions/shared/tracing.js'
    );
    const before = daemon.datagrams.length;
    const failure = new Error('refused');
    const calls: string[] = [];

    // Act
    const client = tracedClient(new S3Client({}));
    const { other } = tracedClients({ other: new S3Client({}) });
    const answer = await pix4dTracing.around('GET /v1/inspections/{id}/', async () => 42);
    const refused = await pix4dTracing
      .around('GET /v1/inspections/{id}/', () => Promise.reject(failure))
      .catch((error: unknown) => error);
    const observer = tracedPix4dCalls({ failed: (endpoint, answerClass) => calls.push(`${endpoint} ${answerClass}`) });
    observer.failed?.('POST /v1/assets/', '5xx');
    await daemon.settled(100);

    // Assess
    for (const sdkClient of [client, other])
      expect(sdkClient.middlewareStack.identify().join(' ')).not.toContain('XRaySDKInstrumentation');
    expect(answer).toBe(42);
    expect(refused).toBe(failure);
    expect(calls).toEqual(['POST /v1/assets/ 5xx']);
    expect(daemon.datagrams.length).toBe(before);
  });
});
