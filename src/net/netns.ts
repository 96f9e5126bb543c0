// Test hosts for the L2 datapath (Linux, root): two network namespaces, `client` and `server`, each
// joined by a veth pair to the root namespace. The addresses live only inside the namespaces (one
// subnet); the root-side ends (the datapath's attach points) are up with no address, IPv4 or IPv6.
// Nothing joins the two root-side ends: until a datapath bridges them, client and server cannot
// reach each other, and every frame either sends arrives on its root-side end.
//
// Every object is named with a prefix (default `ebts-`) so leftovers of a crashed run are found and
// removed by the next `up`. Commands run through execFile (no shell). (Entering a namespace from
// this process, setns(2), is src/net/enter-netns.ts.)

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class NetnsError extends Error {
  override readonly name = 'NetnsError';
}

export const DEFAULT_PREFIX = 'ebts-';
/** Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL). */
const IFNAMSIZ = 15;
/** Written into the root-side ends' ifalias: marks them as ours, and names the owning process. */
const ALIAS = 'ebpf-ts test host';

export interface TestHostsOptions {
  /** Prefix of every namespace and root-side interface (at most 11 characters). Default `ebts-`. */
  prefix?: string;
  /** Client address inside its namespace, with the prefix length. Default 10.77.0.1/24. */
  clientAddress?: string;
  /** Server address inside its namespace. Default 10.77.0.2/24. */
  serverAddress?: string;
  /** Keep IPv6 on the veth ends (default off: no link-local addresses, no router solicitations, a quiet wire). */
  ipv6?: boolean;
}

export interface TestHost {
  role: 'client' | 'server';
  /** The network namespace (`ip netns exec NAMESPACE ...`). */
  namespace: string;
  /** The veth end inside the namespace, which holds the address. */
  interface: string;
  /** Address with prefix length, e.g. 10.77.0.1/24. */
  address: string;
  /** The veth end in the root namespace: the datapath's attach point. No address. */
  rootInterface: string;
}

export interface TestHostsLayout {
  prefix: string;
  client: TestHost;
  server: TestHost;
}

/** The names and addresses a prefix gives; checks the names fit. */
export function testHostsLayout(options: TestHostsOptions = {}): TestHostsLayout {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(prefix) || prefix.length + 4 > IFNAMSIZ) {
    throw new NetnsError(`test-host prefix '${prefix}' must be letters, digits, '_', '.' or '-' and at most ${IFNAMSIZ - 4} characters (interface names are at most ${IFNAMSIZ})`);
  }
  const host = (role: 'client' | 'server', short: string, address: string): TestHost => {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(address)) throw new NetnsError(`${role} address '${address}' is not an IPv4 address with a prefix length (A.B.C.D/N)`);
    return { role, namespace: `${prefix}${role}`, interface: 'eth0', address, rootInterface: `${prefix}${short}0` };
  };
  return { prefix, client: host('client', 'cli', options.clientAddress ?? '10.77.0.1/24'), server: host('server', 'srv', options.serverAddress ?? '10.77.0.2/24') };
}

/** Throws a NetnsError with one clear line when this machine cannot make test hosts. */
export async function checkTestHostPrerequisites(): Promise<void> {
  if (process.platform !== 'linux') throw new NetnsError(`test hosts need Linux network namespaces (this is ${process.platform}); the socket hook is the path here`);
  if (process.getuid?.() !== 0) throw new NetnsError('test hosts need root (network namespaces and veth pairs): run as root, or use the socket hook');
  try {
    await run('ip', ['-V']);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NetnsError('test hosts need `ip` (iproute2), which is not on PATH: apt-get install iproute2');
    throw new NetnsError(`\`ip -V\` failed: ${oneLine(e)}`);
  }
}

function oneLine(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  const text = (err.stderr !== undefined && err.stderr.trim() !== '' ? err.stderr : (err.message ?? String(e))).trim();
  return text.split('\n')[0];
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { encoding: 'utf8' })).stdout;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NetnsError('`ip` (iproute2) is not on PATH: apt-get install iproute2');
    throw new NetnsError(`ip ${args.join(' ')}: ${oneLine(e)}`);
  }
}

interface IpLink {
  ifname: string;
  ifindex: number;
  flags?: string[];
  operstate?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

const json = <T>(text: string): T => (text.trim() === '' ? ([] as T) : (JSON.parse(text) as T));

async function namespaces(): Promise<string[]> {
  return json<{ name: string }[]>(await ip(['-j', 'netns', 'list'])).map((n) => n.name);
}

async function rootLinks(): Promise<IpLink[]> {
  return json<IpLink[]>(await ip(['-j', 'addr', 'show']));
}

export interface TestHostStatus extends TestHost {
  namespaceExists: boolean;
  /** The root-side end: present, its index, up, and its addresses (none expected). */
  rootInterfaceExists: boolean;
  rootIfindex: number | null;
  rootUp: boolean;
  rootAddresses: string[];
  /** IPv4 addresses on the inner end when it is up (the expected one among them when healthy). */
  addresses: string[];
  loopbackUp: boolean;
}

export interface TestHostsStatus {
  prefix: string;
  /** Both hosts complete: namespaces, veth ends up, the addresses, loopback up. */
  up: boolean;
  client: TestHostStatus;
  server: TestHostStatus;
  /** Objects with the prefix that are not part of the layout (always removed by `up`). */
  strays: { namespaces: string[]; links: string[] };
  /** The pid recorded as the owner (removes the hosts when it exits), or null when none is. */
  owner: number | null;
  /** Whether the owner process is gone (its hosts are leftovers of a crashed run). */
  ownerGone: boolean;
}

/** What exists of the test hosts with this prefix. */
export async function testHostsStatus(options: TestHostsOptions = {}): Promise<TestHostsStatus> {
  await checkTestHostPrerequisites();
  const layout = testHostsLayout(options);
  const nsList = await namespaces();
  const links = await rootLinks();
  const hostStatus = async (h: TestHost): Promise<TestHostStatus> => {
    const namespaceExists = nsList.includes(h.namespace);
    const root = links.find((l) => l.ifname === h.rootInterface);
    let inner: IpLink[] = [];
    if (namespaceExists) {
      try {
        inner = json<IpLink[]>(await ip(['-n', h.namespace, '-j', 'addr', 'show']));
      } catch {
        inner = [];
      }
    }
    const eth = inner.find((l) => l.ifname === h.interface);
    const lo = inner.find((l) => l.ifname === 'lo');
    return {
      ...h,
      namespaceExists,
      rootInterfaceExists: root !== undefined,
      rootIfindex: root?.ifindex ?? null,
      rootUp: root?.flags?.includes('UP') ?? false,
      rootAddresses: (root?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
      addresses: (eth?.flags?.includes('UP') ? (eth.addr_info ?? []) : []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      loopbackUp: lo?.flags?.includes('UP') ?? false,
    };
  };
  const client = await hostStatus(layout.client);
  const server = await hostStatus(layout.server);
  const healthy = (s: TestHostStatus): boolean => s.namespaceExists && s.rootInterfaceExists && s.rootUp && s.rootAddresses.length === 0 && s.addresses.includes(s.address) && s.loopbackUp;
  const ours = new Set([layout.client.namespace, layout.server.namespace, layout.client.rootInterface, layout.server.rootInterface]);
  const ownerText = /pid (\d+)/.exec(ifalias(layout.client.rootInterface))?.[1];
  const owner = ownerText === undefined ? null : Number(ownerText);
  return {
    prefix: layout.prefix,
    up: healthy(client) && healthy(server),
    client,
    server,
    strays: {
      namespaces: nsList.filter((n) => n.startsWith(layout.prefix) && !ours.has(n)),
      links: links.map((l) => l.ifname).filter((n) => n.startsWith(layout.prefix) && !ours.has(n)),
    },
    owner,
    ownerGone: owner !== null && !processAlive(owner),
  };
}

/** An interface's alias (empty when none, or when it does not exist). */
function ifalias(dev: string): string {
  try {
    return readFileSync(`/sys/class/net/${dev}/ifalias`, 'utf8').trim();
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface TestHostsUpOptions extends TestHostsOptions {
  /** Remove the hosts when this process exits, or on SIGINT/SIGTERM (the handle's close() always does). */
  removeOnExit?: boolean;
}

export interface TestHostsUpResult {
  layout: TestHostsLayout;
  /** False when complete, healthy hosts were already there and were kept. */
  created: boolean;
  /** Names of leftovers removed first (namespaces and root-side links). */
  removed: string[];
  /** Steps skipped, e.g. offloads left on because ethtool is missing. */
  warnings: string[];
}

/** The hosts, live: close() removes everything. */
export interface TestHosts extends TestHostsUpResult, TestHostsLayout {
  close(): Promise<void>;
  /** Synchronous removal (for exit handlers). */
  closeSync(): void;
}

/**
 * Brings the test hosts up. Complete, healthy hosts already there are kept (`up` is idempotent)
 * unless their recorded owner has exited (a crashed run); anything partial, stray or orphaned with
 * the prefix is removed first and the hosts are made afresh.
 */
export async function testHostsUp(options: TestHostsUpOptions = {}): Promise<TestHosts> {
  const layout = testHostsLayout(options);
  const before = await testHostsStatus(options);
  const strays = before.strays.namespaces.length + before.strays.links.length > 0;
  let removed: string[] = [];
  let created = false;
  const warnings: string[] = [];
  if (!before.up || before.ownerGone || strays) {
    removed = await removeAll(layout);
    try {
      warnings.push(...(await create(layout, options)));
    } catch (e) {
      await removeAll(layout).catch(() => undefined);
      throw e;
    }
    created = true;
  }
  if (options.removeOnExit === true) await setOwner(layout, process.pid);
  const after = await testHostsStatus(options);
  if (!after.up) throw new NetnsError(`test hosts '${layout.prefix}' are not complete after up: ${describeMissing(after)}`);
  let closed = false;
  const detach = options.removeOnExit === true ? removeOnExit(() => handle.closeSync()) : (): void => undefined;
  const handle: TestHosts = {
    ...layout,
    layout,
    created,
    removed,
    warnings,
    async close() {
      if (closed) return;
      closed = true;
      detach();
      await removeAll(layout);
    },
    closeSync() {
      if (closed) return;
      closed = true;
      detach();
      removeAllSync(layout);
    },
  };
  return handle;
}

function describeMissing(s: TestHostsStatus): string {
  const missing: string[] = [];
  for (const h of [s.client, s.server]) {
    if (!h.namespaceExists) missing.push(`namespace ${h.namespace}`);
    if (!h.rootInterfaceExists) missing.push(`interface ${h.rootInterface}`);
    else if (!h.rootUp) missing.push(`${h.rootInterface} up`);
    if (h.rootAddresses.length > 0) missing.push(`${h.rootInterface} without addresses (has ${h.rootAddresses.join(', ')})`);
    if (h.namespaceExists && !h.addresses.includes(h.address)) missing.push(`${h.address} on ${h.interface} in ${h.namespace}`);
    if (h.namespaceExists && !h.loopbackUp) missing.push(`lo up in ${h.namespace}`);
  }
  return missing.length === 0 ? 'nothing missing' : `missing ${missing.join('; ')}`;
}

async function create(layout: TestHostsLayout, options: TestHostsOptions): Promise<string[]> {
  const warnings: string[] = [];
  const ethtool = await hasEthtool();
  if (!ethtool) warnings.push('ethtool not found: checksum offloads stay on (frames from the namespaces may carry partial checksums); GSO is limited to 1 segment');
  for (const h of [layout.client, layout.server]) {
    await ip(['netns', 'add', h.namespace]);
    // The pair is made with its inner end already in the namespace, so no name clashes in the root.
    await ip(['link', 'add', h.rootInterface, 'type', 'veth', 'peer', 'name', h.interface, 'netns', h.namespace]);
    await ip(['link', 'set', 'dev', h.rootInterface, 'alias', ALIAS]);
    if (options.ipv6 !== true) {
      disableIpv6Root(h.rootInterface);
      await ip(['netns', 'exec', h.namespace, 'sysctl', '-q', '-w', `net.ipv6.conf.${h.interface}.disable_ipv6=1`]).catch(() => undefined);
    }
    // Without ethtool: at least no multi-segment GSO super-frames on either end.
    for (const [ns, dev] of [[null, h.rootInterface], [h.namespace, h.interface]] as const) {
      await ip([...(ns === null ? [] : ['-n', ns]), 'link', 'set', 'dev', dev, 'gso_max_segs', '1']).catch(() => warnings.push(`could not limit GSO on ${dev}`));
    }
    if (ethtool) {
      const features = ['rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];
      await run('ip', ['netns', 'exec', h.namespace, 'ethtool', '-K', h.interface, ...features]).catch((e: unknown) => warnings.push(`ethtool on ${h.namespace}/${h.interface}: ${oneLine(e)}`));
      await run('ethtool', ['-K', h.rootInterface, ...features]).catch((e: unknown) => warnings.push(`ethtool on ${h.rootInterface}: ${oneLine(e)}`));
    }
    await ip(['-n', h.namespace, 'link', 'set', 'dev', 'lo', 'up']);
    await ip(['-n', h.namespace, 'addr', 'add', h.address, 'dev', h.interface]);
    await ip(['-n', h.namespace, 'link', 'set', 'dev', h.interface, 'up']);
    await ip(['link', 'set', 'dev', h.rootInterface, 'up']);
  }
  return warnings;
}

function disableIpv6Root(dev: string): void {
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if (existsSync(path)) writeFileSync(path, '1');
}

async function hasEthtool(): Promise<boolean> {
  try {
    await run('ethtool', ['--version']);
    return true;
  } catch {
    return false;
  }
}

async function setOwner(layout: TestHostsLayout, pid: number): Promise<void> {
  for (const h of [layout.client, layout.server]) await ip(['link', 'set', 'dev', h.rootInterface, 'alias', `${ALIAS}, removed when pid ${pid} exits`]);
}

/** Everything with the prefix: the root-side links first (which removes both veth ends at once), then the namespaces. */
async function removeAll(layout: TestHostsLayout): Promise<string[]> {
  const removed: string[] = [];
  for (const l of await rootLinks()) {
    if (!l.ifname.startsWith(layout.prefix)) continue;
    await ip(['link', 'del', 'dev', l.ifname]).catch(ignoreVanished);
    removed.push(l.ifname);
  }
  for (const n of await namespaces()) {
    if (!n.startsWith(layout.prefix)) continue;
    await ip(['netns', 'del', n]).catch(ignoreVanished);
    removed.push(n);
  }
  return removed;
}

function ignoreVanished(e: unknown): void {
  if (/Cannot find device|No such file|does not exist/i.test((e as Error).message)) return;
  throw e;
}

function removeAllSync(layout: TestHostsLayout): void {
  const ipSync = (args: string[]): string => {
    try {
      return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      return '';
    }
  };
  for (const l of json<IpLink[]>(ipSync(['-j', 'link', 'show']))) if (l.ifname.startsWith(layout.prefix)) ipSync(['link', 'del', 'dev', l.ifname]);
  for (const n of json<{ name: string }[]>(ipSync(['-j', 'netns', 'list']))) if (n.name.startsWith(layout.prefix)) ipSync(['netns', 'del', n.name]);
}

/** Removes every test host with the prefix, complete or not. Returns the names removed. */
export async function testHostsDown(options: TestHostsOptions = {}): Promise<string[]> {
  await checkTestHostPrerequisites();
  return removeAll(testHostsLayout(options));
}

/**
 * Runs `cleanup` (synchronously) when the process exits or gets SIGINT/SIGTERM; after a signal the
 * process then dies of it as it would have, unless someone else listens for it. Returns a detach.
 */
function removeOnExit(cleanup: () => void): () => void {
  const onExit = (): void => cleanup();
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    detach();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const detach = (): void => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return detach;
}

/** rx_packets of a root-namespace interface (frames that reached its root side), from sysfs. */
export function interfaceRxPackets(dev: string): number {
  return Number(readFileSync(`/sys/class/net/${dev}/statistics/rx_packets`, 'utf8').trim());
}

/** The MAC address of interface `dev`, in network namespace `namespace` (the root one when undefined). */
export function interfaceMac(dev: string, namespace?: string): Uint8Array {
  const where = namespace === undefined ? [] : ['-n', namespace];
  const links = JSON.parse(execFileSync('ip', [...where, '-j', 'link', 'show', dev], { encoding: 'utf8' })) as { address?: string }[];
  const address = links[0]?.address;
  if (address === undefined) throw new NetnsError(`interface ${dev} has no link-layer address`);
  return Uint8Array.from(address.split(':').map((h) => Number.parseInt(h, 16)));
}
