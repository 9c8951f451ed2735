export type ProcessingOutcome = 'completed' | 'failed' | 'never';

/** Behaviour of the simulated service; every field can be changed while it runs. */
export interface SimulatorSettings {
  /** Share of API requests answered 502, 503 or 504 before they have any effect (0..1). */
  errorRate: number;
  /**
   * Share of API requests that take effect and then lose their answer (0..1): the caller gets a 502 or 504, or the
   * connection is dropped, and cannot know that the request worked, as behind a gateway that timed out.
   */
  lostAnswerRate: number;
  /** Share of API requests answered 429 with a `Retry-After` header (0..1). */
  rateLimitRate: number;
  /** `Retry-After` of those 429s, in seconds. */
  retryAfterSeconds: number;
  /** Lifetime of the JWTs the token endpoint issues (`expires_in`). */
  tokenTtlSeconds: number;
  /** Lifetime of the S3 credentials `s3_credentials/` hands out. */
  credentialsTtlSeconds: number;
  /** Time from `process/` to the final status. */
  processingSeconds: number;
  /** How processing ends: `never` keeps it in progress forever. */
  processingOutcome: ProcessingOutcome;
}

export const DEFAULT_SIMULATOR_SETTINGS: Readonly<SimulatorSettings> = Object.freeze({
  errorRate: 0,
  lostAnswerRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  // The tutorial's answer.
  tokenTtlSeconds: 172_800,
  credentialsTtlSeconds: 3_600,
  processingSeconds: 20,
  processingOutcome: 'completed',
});

/**
 * A fault for the next matching API request, for tests that need one exact failure rather than a rate:
 * - `answer`: reply with `status` (and `body`, when given) before the request has any effect; with
 *   `afterAuthentication`, only to a request whose token the service accepts (a Django REST Framework service
 *   throttles after authenticating): a request with a refused token gets its 401 and leaves the fault queued;
 * - `lose-answer`: perform the request, then reply with `status`, or drop the connection when `status` is 0 (the
 *   caller cannot know it worked);
 * - `delay`: hold the answer for `ms` (on the simulator's timers); a request whose caller gives up meanwhile has no
 *   effect;
 * - `slow`: read the request, wait `ms`, then act on it and answer, whether or not the caller still waits (a service
 *   does not notice that the caller gave up);
 * - `disconnect`: close the connection without an answer.
 */
export type ScriptedFault = FaultMatch &
  (
    | {
        readonly action: 'answer';
        readonly status: number;
        readonly body?: unknown;
        readonly retryAfterSeconds?: number;
        readonly afterAuthentication?: boolean;
      }
    | { readonly action: 'lose-answer'; readonly status: number }
    | { readonly action: 'delay'; readonly ms: number }
    | { readonly action: 'slow'; readonly ms: number }
    | { readonly action: 'disconnect' }
  );

/** Which API requests a scripted fault or a stall (`Simulator.stall`) applies to. */
export interface FaultMatch {
  readonly method?: 'GET' | 'POST';
  /** The fault applies to requests whose path contains this text; to any request when absent. */
  readonly pathIncludes?: string;
}
