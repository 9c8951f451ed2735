import { AsyncLocalStorage } from 'node:async_hooks';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Pix4dCallObserver } from '../../src/pix4d/client';

/**
 * One tracer per Lambda container, like the logger. It traces on Lambda only: off the platform (no
 * `AWS_EXECUTION_ENV`: local mode, tests) or with `POWERTOOLS_TRACE_ENABLED=false` every function below leaves
 * clients and calls as they are, so local mode's IAM check sees the same AWS calls with or without it.
 */
export const tracer = new Tracer({ serviceName: 'inspect-pipeline' });

/** What `captureAWSv3Client` takes: any AWS SDK v3 client. */
type SdkClient = Parameters<Tracer['captureAWSv3Client']>[0];

/** An X-Ray subsegment, as the tracer's provider hands it out (the SDK's type, without depending on the SDK). */
type Subsegment = NonNullable<Parameters<Parameters<Tracer['provider']['captureAsyncFunc']>[1]>[0]>;

/**
 * The container's own SDK clients, each call recorded as a subsegment (service, operation, status, request id).
 * For the clients built from the environment only: local mode and tests pass theirs and keep them as they are.
 */
export function tracedClients<C extends Readonly<Record<string, SdkClient>>>(clients: C): C {
  for (const client of Object.values(clients)) tracer.captureAWSv3Client(client);
  return clients;
}

/** One SDK client, traced as `tracedClients` traces them. */
export function tracedClient<C extends SdkClient>(client: C): C {
  return tracer.captureAWSv3Client(client);
}

/** The subsegment of the Pix4Dinspect call under way, for `failed` to flag. */
const currentCall = new AsyncLocalStorage<Subsegment>();

/**
 * Each Pix4Dinspect call (all its attempts, with a token request it needs nested in it) as a subsegment
 * `Pix4Dinspect <METHOD> <path>`, the endpoint (ids already replaced by `{id}`) its only annotation: no URL, header,
 * body or token. A call that throws records its error, whose message the client has already scrubbed of the
 * account's credentials, its token and anything shaped like a JWT. A call answered with an error (a 404, a 403)
 * returns to its caller, who throws: the subsegment is flagged, and the error is the handler's.
 */
export const pix4dTracing: Required<Pick<Pix4dCallObserver, 'around' | 'failed'>> = {
  around: <T>(endpoint: string, call: () => Promise<T>): Promise<T> => {
    if (!tracer.isTracingEnabled()) return call();
    // The provider's captureAsyncFunc runs the call in its own X-Ray context with the subsegment current, so that
    // concurrent calls nest under the right parent (Powertools' captureMethod does the same). Outside a traced
    // handler it has no parent and runs the call without a subsegment.
    return tracer.provider.captureAsyncFunc(`Pix4Dinspect ${endpoint}`, async (subsegment) => {
      if (!subsegment) return call();
      subsegment.addAnnotation('endpoint', endpoint);
      try {
        return await currentCall.run(subsegment, call);
      } catch (error) {
        // Remote: the service answered with an error, or did not answer.
        if (error instanceof Error) subsegment.addError(error, true);
        throw error;
      } finally {
        subsegment.close();
      }
    }) as Promise<T>;
  },
  failed: (_endpoint, answer) => {
    const subsegment = currentCall.getStore();
    // As X-Ray reads HTTP statuses: a client error is an error, a server error or no answer is a fault.
    if (answer === '3xx' || answer === '4xx') subsegment?.addErrorFlag();
    else subsegment?.addFaultFlag();
  },
};

/** `observer` (an invocation's metrics), with each call traced as `pix4dTracing` traces it. */
export function tracedPix4dCalls(observer: Pix4dCallObserver): Pix4dCallObserver {
  const { around } = observer;
  return {
    ...observer,
    around: (endpoint, call) => pix4dTracing.around(endpoint, around ? () => around(endpoint, call) : call),
    failed: (endpoint, answer) => {
      observer.failed?.(endpoint, answer);
      pix4dTracing.failed(endpoint, answer);
    },
  };
}
