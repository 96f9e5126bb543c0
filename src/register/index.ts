// `node --import ebpf-ts/register app.js` (or NODE_OPTIONS=--import=ebpf-ts/register): makes the
// process a hook host without changing its code. It offers this process's socket hooks as attach
// points named `<host>/<hook>` (host: EBPF_TS_HOST_NAME, else pid<PID>; hooks: connect4, connect6,
// recv_accept4, recv_accept6, bind4, bind6, bind, sockops) to the service at EBPF_TS_ENDPOINT (or
// the default), which then sends it the programs attached to them. With no service, or no right
// to host (the admin token), it says so once on stderr and the application runs unhooked.
import { loadExtensionsFromEnvironment } from '../extension/environment.js';
import { connectHookHost, type ConnectedHookHost } from '../service/host-client.js';
import { socketAttachPoints } from './node-sockets.js';

export const hostName = process.env.EBPF_TS_HOST_NAME !== undefined && process.env.EBPF_TS_HOST_NAME !== '' ? process.env.EBPF_TS_HOST_NAME : `pid${process.pid}`;

export let host: ConnectedHookHost | undefined;

try {
  // The program types extensions add (EBPF_TS_EXTENSIONS), as the service has them.
  await loadExtensionsFromEnvironment();
  host = await connectHookHost({ providers: socketAttachPoints(hostName), client: hostName });
  // The service's connection must not keep the application alive; its end ends this host's links.
  host.client.connection.socket.unref();
  if (process.env.EBPF_TS_REGISTER_QUIET === undefined) process.stderr.write(`ebpf-ts: ${hostName} (pid ${process.pid}) is a hook host of the service at ${host.client.endpoint}\n`);
} catch (e) {
  process.stderr.write(`ebpf-ts: ${e instanceof Error ? e.message : String(e)}; ${hostName} runs without socket hooks\n`);
}
