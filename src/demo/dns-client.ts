// Sends real DNS queries at a steady rate and measures how long answers take.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { buildQuery, parseResponse } from './dns.js';

export interface LatencyWindow {
  sent: number;
  answered: number;
  /** Milliseconds, one per answer in the window. */
  latencies: number[];
}

export interface DnsClient {
  /** Takes the counts since the last call. */
  takeWindow(): LatencyWindow;
  close(): void;
}

export async function startDnsClient(options: { port: number; host?: string; rate: number; zone?: string }): Promise<DnsClient> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  socket.connect(options.port, options.host ?? '127.0.0.1');
  await once(socket, 'connect');
  const pending = new Map<number, bigint>();
  let window: LatencyWindow = { sent: 0, answered: 0, latencies: [] };
  let nextId = 1;
  socket.on('message', (msg) => {
    try {
      const { id } = parseResponse(msg);
      const sentAt = pending.get(id);
      if (sentAt === undefined) return;
      pending.delete(id);
      window.answered++;
      window.latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
    } catch {
      // a malformed answer is simply not counted
    }
  });
  const interval = 1000 / options.rate;
  let due = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    while (due <= now) {
      const id = nextId;
      nextId = (nextId % 65535) + 1;
      pending.set(id, process.hrtime.bigint());
      socket.send(buildQuery(id, `host${id % 97}.${options.zone ?? 'demo.ebpf-ts.test'}`));
      window.sent++;
      due += interval;
    }
    // Queries unanswered for 2 s are lost; forget them so ids can be reused.
    if (pending.size > 4 * options.rate) pending.clear();
  }, Math.max(1, Math.floor(interval)));
  return {
    takeWindow() {
      const w = window;
      window = { sent: 0, answered: 0, latencies: [] };
      return w;
    },
    close() {
      clearInterval(timer);
      socket.close();
    },
  };
}
