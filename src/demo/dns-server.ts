// A small, real DNS server on a UDP socket: answers A queries for one zone, NXDOMAIN elsewhere,
// FORMERR to malformed queries, and counts what reaches it (zero-length datagrams included).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { buildFormatError, buildResponse, CLASS_IN, DnsFormatError, parseQuery, TYPE_A } from './dns.js';

export interface DnsServerStats {
  /** Every datagram a 'message' listener saw. */
  received: number;
  /** Of those, zero-length ones (the flood). */
  empty: number;
  answered: number;
  malformed: number;
}

export interface DnsServer {
  readonly socket: Socket;
  readonly port: number;
  readonly stats: Readonly<DnsServerStats>;
  close(): Promise<void>;
}

/** Names under `zone` resolve to 192.0.2.x (TEST-NET-1), x from the first label's length. */
export async function startDnsServer(options: { port?: number; host?: string; zone?: string } = {}): Promise<DnsServer> {
  const zone = (options.zone ?? 'demo.ebpf-ts.test').toLowerCase();
  const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  const stats: DnsServerStats = { received: 0, empty: 0, answered: 0, malformed: 0 };
  // What a real server does with every datagram before it can tell a query from junk: per-client
  // accounting (for rate limiting), a query log line, and an asynchronous resolve step. This work
  // is what a flood of empty datagrams buys from the server, and what dropping them at XDP saves.
  const clients = new Map<string, { datagrams: number; lastSeen: number }>();
  const log: string[] = [];
  const handle = async (msg: Buffer, rinfo: RemoteInfo): Promise<void> => {
    const client = `${rinfo.address}:${rinfo.port}`;
    const entry = clients.get(client) ?? { datagrams: 0, lastSeen: 0 };
    entry.datagrams++;
    entry.lastSeen = Date.now();
    clients.set(client, entry);
    if (clients.size > 10_000) clients.clear();
    log.push(`${new Date(entry.lastSeen).toISOString()} ${client} ${msg.length} bytes`);
    if (log.length > 1000) log.splice(0, log.length - 1000);
    await Promise.resolve();
    if (msg.length === 0) {
      stats.empty++;
      return;
    }
    let reply: Uint8Array | undefined;
    try {
      const q = parseQuery(msg);
      const inZone = q.name === zone || q.name.endsWith(`.${zone}`);
      const address = inZone && q.type === TYPE_A && q.class === CLASS_IN ? [192, 0, 2, 1 + (q.name.split('.')[0].length % 254)] : undefined;
      reply = buildResponse(msg, q, address);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      stats.malformed++;
      reply = buildFormatError(msg);
    }
    if (reply !== undefined) {
      stats.answered++;
      socket.send(reply, rinfo.port, rinfo.address);
    }
  };
  socket.on('message', (msg, rinfo) => {
    stats.received++;
    void handle(msg, rinfo);
  });
  socket.bind(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(socket, 'listening');
  return {
    socket,
    port: socket.address().port,
    stats,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
