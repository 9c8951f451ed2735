import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Timers } from '../../src/timers';
import { type EmbeddedS3, startEmbeddedS3 } from '../s3/embedded-s3';
import { createApiHandler, type RecordedRequest, type SimulatorAccount } from './api-server';
import { createS3GatewayHandler, type RecordedS3Request } from './s3-gateway';
import { ServiceState } from './service-state';
import { DEFAULT_SIMULATOR_SETTINGS, type FaultMatch, type ScriptedFault, type SimulatorSettings } from './settings';

export const SIMULATOR_BUCKET = 'prod-pix4d-cloud-default';

export interface SimulatorOptions {
  /** Port of the API (token endpoint included). @default 0 (any free port) */
  readonly port?: number;
  /** Port of the S3 endpoint for the simulator's bucket. @default 0 */
  readonly s3Port?: number;
  /** An embedded S3 server to keep the bucket on; one is started (and stopped with the simulator) when absent. */
  readonly embeddedS3?: EmbeddedS3;
  /** The account; any field not given is generated. */
  readonly account?: Partial<SimulatorAccount>;
  readonly settings?: Partial<SimulatorSettings>;
  /** Clock of processing progress (statuses). @default Date.now */
  readonly clock?: () => number;
  /**
   * Clock and timers of the service's own waits: the `delay` fault and stalls. Local mode may pass faster ones,
   * with the client's. @default systemTimers
   */
  readonly timers?: Timers;
}

export interface Simulator {
  /** Base URL of the API and of the token endpoint (`POST /v1/auth/token/`). */
  readonly apiUrl: string;
  /** Endpoint of the S3 bucket that `s3_credentials/` hands out credentials for. */
  readonly s3Endpoint: string;
  readonly bucket: string;
  readonly account: SimulatorAccount;
  /** Live settings: changes apply to the next request. */
  readonly settings: SimulatorSettings;
  /** The embedded S3 server behind the bucket (direct access, no credential checks). */
  readonly embeddedS3: EmbeddedS3;
  /** Every API request answered, in order, and every one dropped or stalled (status 0) when it arrived. */
  readonly requests: readonly RecordedRequest[];
  /** Every S3 request the gateway answered, in order. */
  readonly s3Requests: readonly RecordedS3Request[];
  /** Queue a fault for the next matching API request. */
  injectFault(fault: ScriptedFault): void;
  /**
   * Stall the service from now for `ms` (on the simulator's timers): every matching API request (the token
   * endpoint's included; every request when `match` is absent) gets no answer and has no effect. When the stall
   * ends, the connections held are closed without an answer; requests arriving after that are served normally.
   * Stalled requests are recorded with status 0 and fault `stalled`.
   */
  stall(ms: number, match?: FaultMatch): void;
  /** Invalidate every token issued so far: the next call with one gets 401. */
  revokeTokens(): void;
  /** What the simulated account holds now, to count what a run created. */
  holdings(): SimulatorHoldings;
  close(): Promise<void>;
}

export interface SimulatorHoldings {
  /** Positions as the service keeps them: decimal text, 8 places. */
  readonly assets: readonly {
    readonly id: number;
    readonly name: string;
    readonly type: number;
    readonly latitude: string | null;
    readonly longitude: string | null;
  }[];
  readonly inspections: readonly {
    readonly id: number;
    readonly assetId: number;
    readonly name: string;
    /** `inspection_date` as the create request gave it; null when it gave none. */
    readonly inspectionDateGiven: string | null;
    /** Registered images (a key registered again names the same image). */
    readonly images: number;
    /** Keys that more than one register call named. */
    readonly registeredAgain: number;
    readonly processingStarted: boolean;
  }[];
}

/** Starts the Pix4Dinspect simulator on loopback: its API, and the S3 endpoint of its bucket. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const embeddedS3 = options.embeddedS3 ?? (await startEmbeddedS3());
  await embeddedS3.createBucket(SIMULATOR_BUCKET);
  const account: SimulatorAccount = {
    username: options.account?.username ?? `pilot-${randomBytes(3).toString('hex')}@example.com`,
    password: options.account?.password ?? randomBytes(12).toString('base64url'),
    apiKey: options.account?.apiKey ?? randomBytes(20).toString('hex'),
    ...(options.account?.organizationUuid ? { organizationUuid: options.account.organizationUuid } : {}),
  };
  const settings: SimulatorSettings = { ...DEFAULT_SIMULATOR_SETTINGS, ...options.settings };
  const state = new ServiceState(SIMULATOR_BUCKET);
  const faults: ScriptedFault[] = [];
  const requests: RecordedRequest[] = [];
  const s3Requests: RecordedS3Request[] = [];
  const bucketClient = embeddedS3.client();

  const apiHandler = createApiHandler({
    state,
    account,
    settings,
    faults,
    requests,
    bucketClient,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
  });
  const api = await listen(apiHandler, options.port ?? 0);
  const gateway = await listen(
    createS3GatewayHandler({ state, upstreamEndpoint: embeddedS3.endpoint, log: s3Requests }),
    options.s3Port ?? 0,
  );

  return {
    apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    s3Endpoint: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    bucket: SIMULATOR_BUCKET,
    account,
    settings,
    embeddedS3,
    requests,
    s3Requests,
    injectFault: (fault) => {
      faults.push(fault);
    },
    revokeTokens: () => apiHandler.revokeTokens(),
    holdings: () => ({
      assets: [...state.assets.values()].map(({ id, name, type, latitude, longitude }) => ({
        id,
        name,
        type,
        latitude,
        longitude,
      })),
      inspections: [...state.inspections.values()].map((inspection) => ({
        id: inspection.id,
        assetId: inspection.assetId,
        name: inspection.name,
        inspectionDateGiven: inspection.inspectionDateGiven,
        images: inspection.registeredKeys.size,
        registeredAgain: [...inspection.registrations.values()].filter((count) => count > 1).length,
        processingStarted: inspection.processing !== undefined,
      })),
    }),
    stall: (ms, match) => apiHandler.stall(ms, match),
    close: async () => {
      await Promise.all([stop(api), stop(gateway)]);
      bucketClient.destroy();
      if (!options.embeddedS3) await embeddedS3.close();
    },
  };
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
