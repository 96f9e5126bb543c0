// `ebpf netns up|down|status`: the datapath's test hosts (namespaces `client` and `server`, each
// joined by a veth pair to the root namespace). A thin front end over src/net/netns.ts; a
// NetnsError (no root, no `ip`, a failed step) is one line on stderr and exit status 1.

import { DEFAULT_PREFIX, NetnsError, testHostsDown, testHostsStatus, testHostsUp, type TestHostsOptions, type TestHostStatus } from '../../net/netns.js';

export type Out = (s: string) => void;

export interface NetnsCommandOptions {
  prefix?: string;
  client?: string;
  server?: string;
  ipv6?: boolean;
  json?: boolean;
}

const hostOptions = (o: NetnsCommandOptions): TestHostsOptions => ({ prefix: o.prefix, clientAddress: o.client, serverAddress: o.server, ipv6: o.ipv6 });

async function guarded(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof NetnsError) {
      process.stderr.write(`ebpf netns: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

const hostLine = (h: TestHostStatus): string =>
  `${h.role.padEnd(6)}  namespace ${h.namespace}${h.namespaceExists ? '' : ' (missing)'}, ${h.interface} ${h.addresses.join(', ') || '(no address)'}; root side ${h.rootInterface}` +
  (h.rootInterfaceExists ? ` (ifindex ${h.rootIfindex}, ${h.rootUp ? 'up' : 'down'}${h.rootAddresses.length > 0 ? `, addresses ${h.rootAddresses.join(', ')}` : ''})` : ' (missing)');

const NOT_BRIDGED = 'nothing joins the root-side ends yet: client and server reach each other only through a datapath bridging them';

export function netnsUpCommand(options: NetnsCommandOptions, out: Out): Promise<number> {
  return guarded(async () => {
    const hosts = await testHostsUp(hostOptions(options));
    const status = await testHostsStatus(hostOptions(options));
    if (options.json === true) {
      out(`${JSON.stringify({ created: hosts.created, removed: hosts.removed, warnings: hosts.warnings, status }, null, 2)}\n`);
      return 0;
    }
    if (hosts.removed.length > 0) out(`removed leftovers: ${hosts.removed.join(', ')}\n`);
    out(hosts.created ? `test hosts ${hosts.prefix}* up\n` : `test hosts ${hosts.prefix}* already up (kept)\n`);
    out(`${hostLine(status.client)}\n${hostLine(status.server)}\n`);
    for (const w of hosts.warnings) out(`warning: ${w}\n`);
    out(`note: ${NOT_BRIDGED}\n`);
    out(`remove with: ebpf netns down${hosts.prefix === DEFAULT_PREFIX ? '' : ` --prefix ${hosts.prefix}`}\n`);
    return 0;
  });
}

export function netnsDownCommand(options: NetnsCommandOptions, out: Out): Promise<number> {
  return guarded(async () => {
    const removed = await testHostsDown(hostOptions(options));
    if (options.json === true) out(`${JSON.stringify({ removed }, null, 2)}\n`);
    else out(removed.length === 0 ? 'no test hosts to remove\n' : `removed ${removed.join(', ')}\n`);
    return 0;
  });
}

export function netnsStatusCommand(options: NetnsCommandOptions, out: Out): Promise<number> {
  return guarded(async () => {
    const status = await testHostsStatus(hostOptions(options));
    if (options.json === true) {
      out(`${JSON.stringify(status, null, 2)}\n`);
      return 0;
    }
    const any = status.client.namespaceExists || status.server.namespaceExists || status.client.rootInterfaceExists || status.server.rootInterfaceExists;
    out(status.up ? `test hosts ${status.prefix}* up\n` : any ? `test hosts ${status.prefix}* incomplete (\`ebpf netns up\` rebuilds them)\n` : `test hosts ${status.prefix}* down\n`);
    if (any) out(`${hostLine(status.client)}\n${hostLine(status.server)}\n`);
    if (status.owner !== null) out(`owner: pid ${status.owner}${status.ownerGone ? ' (exited: leftovers of a crashed run)' : ''}\n`);
    const strays = [...status.strays.namespaces, ...status.strays.links];
    if (strays.length > 0) out(`strays with the prefix: ${strays.join(', ')}\n`);
    return 0;
  });
}
