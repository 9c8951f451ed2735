import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** A segment or subsegment document as the X-Ray SDK sends it to the daemon (the fields the tests read). */
export interface TraceDocument {
  readonly type?: 'subsegment';
  readonly id: string;
  readonly trace_id: string;
  readonly parent_id?: string;
  readonly name: string;
  readonly namespace?: 'aws' | 'remote';
  readonly annotations?: Readonly<Record<string, string | number | boolean>>;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly fault?: boolean;
  readonly error?: boolean;
  /** The exceptions recorded here, or the id of the subsegment that recorded this one's error. */
  readonly cause?: {
    readonly id?: string;
    readonly exceptions?: readonly { readonly message?: string; readonly type?: string }[];
  };
  readonly aws?: Readonly<Record<string, unknown>>;
  readonly http?: {
    readonly request?: { readonly url?: string; readonly method?: string };
    readonly response?: { readonly status?: number };
  };
  /** Subsegments that closed before this one and were sent inside it rather than on their own. */
  readonly subsegments?: readonly TraceDocument[];
}

/** A stand-in for the X-Ray daemon: a UDP socket on loopback that keeps every datagram the SDK sends it. */
export interface XrayDaemon {
  /** `127.0.0.1:PORT`, for `AWS_XRAY_DAEMON_ADDRESS`. */
  readonly address: string;
  /** Every datagram received, as sent: the protocol header line, then the document. */
  readonly datagrams: readonly string[];
  /**
   * Every (sub)segment received, whether sent in a datagram of its own or inside its parent's, with the parent's id
   * and trace id set on nested ones as on the others.
   */
  documents(): TraceDocument[];
  /** Resolves once no datagram has arrived for `quietMs` (the SDK sends each document as it closes, asynchronously). */
  settled(quietMs?: number): Promise<void>;
  close(): Promise<void>;
}

const PROTOCOL_HEADER = '{"format":"json","version":1}';

/** A document and every subsegment nested in it, depth first. */
function withNested(document: TraceDocument): TraceDocument[] {
  const nested = (document.subsegments ?? []).map((child) => ({
    ...child,
    trace_id: document.trace_id,
    parent_id: document.id,
  }));
  return [document, ...nested.flatMap(withNested)];
}

export async function startXrayDaemon(): Promise<XrayDaemon> {
  const socket = createSocket('udp4');
  const datagrams: string[] = [];
  let lastArrival = Date.now();
  socket.on('message', (message) => {
    datagrams.push(message.toString('utf8'));
    lastArrival = Date.now();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    datagrams,
    documents: () =>
      datagrams.flatMap((datagram) => {
        const newline = datagram.indexOf('\n');
        if (datagram.slice(0, newline) !== PROTOCOL_HEADER)
          throw new Error(`Not an X-Ray daemon datagram: ${datagram.slice(0, 80)}`);
        return withNested(JSON.parse(datagram.slice(newline + 1)) as TraceDocument);
      }),
    settled: async (quietMs = 200) => {
      const since = Date.now();
      while (Date.now() - Math.max(lastArrival, since) < quietMs)
        await new Promise((resolve) => setTimeout(resolve, quietMs / 4));
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
