// The demo's DNS server as its own process and a hook host (DESIGN.md, "Programs run where their
// hook is"): it serves DNS on a loopback port, offers its socket's XDP hook to the service as the
// attach point named in argv[3], and answers its parent's { stats } requests over IPC. Forked by
// platform-demo.ts with EBPF_TS_ENDPOINT and EBPF_TS_STATE_DIR set.
import { connectHookHost, xdpSocketAttachPoint } from '../service/host-client.js';
import { startDnsServer } from './dns-server.js';

const port = Number(process.argv[2] ?? '0');
const pointName = process.argv[3] ?? 'dns0';
const send = process.send?.bind(process);
if (send === undefined) {
  process.stderr.write('dns-host: no IPC channel; this module is forked by platform-demo.js\n');
  process.exit(2);
}

// Ctrl-C in the demo's terminal reaches this process too; the demo ends it in order instead.
process.on('SIGINT', () => {});

try {
  const server = await startDnsServer({ port });
  const host = await connectHookHost({ providers: [xdpSocketAttachPoint(pointName, server.socket)], client: `dns-server(pid ${process.pid})` });
  process.on('message', (m: unknown) => {
    if (m === 'stats') send({ stats: server.stats });
  });
  // The parent going away, or the service closing the connection, ends this host.
  process.once('disconnect', () => {
    host.close();
    void server.close().then(() => process.exit(0));
  });
  host.client.connection.onClose(() => process.exit(0));
  send({ ready: true, port: server.port, host: host.name });
} catch (e) {
  send({ error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
