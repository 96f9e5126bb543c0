// The datapath's test hosts, for real (root, iproute2): namespaces, veth ends, addresses, the
// unbridged wire, idempotent up, leftovers, exit cleanup, down. Names carry this process's pid
// (base 36, to fit 15-byte interface names) so a concurrent run of another test cannot collide.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../support/shared.js';
import { checkTestHostPrerequisites, interfaceRxPackets, testHostsDown, testHostsLayout, testHostsStatus, testHostsUp } from '../../src/net/netns.js';

const prefix = `ebtst${process.pid.toString(36)}-`;
const layout = testHostsLayout({ prefix });
const NETNS_JS = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'net', 'netns.js')).href;
const EBPF = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

const skip = await checkTestHostPrerequisites().then(
  () => false as const,
  (e: Error) => `SKIPPED (needs root and iproute2): ${e.message}`,
);
if (skip !== false) process.stderr.write(`test/net/netns.test.ts: ${skip}\n`);

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const ours = (): string[] => [
  ...(JSON.parse(ip('-j', 'netns', 'list') || '[]') as { name: string }[]).map((n) => n.name),
  ...(JSON.parse(ip('-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname),
].filter((n) => n.startsWith(prefix));

// Removed whatever happens to the tests.
after(async () => {
  if (skip === false) await testHostsDown({ prefix });
});

test('up creates the client and server namespaces, addresses inside only, root-side ends up without addresses', { skip }, async () => {
  const hosts = await testHostsUp({ prefix });
  assert.equal(hosts.created, true);
  const names = (JSON.parse(ip('-j', 'netns', 'list')) as { name: string }[]).map((n) => n.name);
  assert.ok(names.includes(`${prefix}client`) && names.includes(`${prefix}server`), `namespaces: ${names.join(', ')}`);
  const s = await testHostsStatus({ prefix });
  assert.equal(s.up, true);
  assert.deepEqual(s.client.addresses, ['10.77.0.1/24']);
  assert.deepEqual(s.server.addresses, ['10.77.0.2/24']);
  for (const h of [s.client, s.server]) {
    assert.equal(h.rootUp, true, `${h.rootInterface} up`);
    assert.deepEqual(h.rootAddresses, [], `${h.rootInterface} has no address (not even IPv6 link-local)`);
    assert.equal(h.loopbackUp, true, `lo up in ${h.namespace}`);
  }
  assert.deepEqual([s.client.rootInterface, s.server.rootInterface], [`${prefix}cli0`, `${prefix}srv0`]);
});

test('unbridged, the client cannot reach the server, but its ARP frames arrive on the root-side end', { skip }, () => {
  const clientRx = interfaceRxPackets(layout.client.rootInterface);
  const serverRx = Number((JSON.parse(ip('-n', layout.server.namespace, '-s', '-j', 'link', 'show', 'dev', 'eth0')) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets);
  // A TCP connection attempt (no ping here): the kernel ARPs for 10.77.0.2 and never hears back.
  const script = `const s=require('net').connect({host:'10.77.0.2',port:9});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(1)});setTimeout(()=>{console.log('timeout');process.exit(1)},1500);`;
  const r = spawnSync('ip', ['netns', 'exec', layout.client.namespace, process.execPath, '-e', script], { encoding: 'utf8' });
  assert.notEqual(r.stdout.trim(), 'connected', 'the client reached the server with nothing bridging them');
  assert.equal(r.status, 1, r.stderr);
  const arrived = interfaceRxPackets(layout.client.rootInterface) - clientRx;
  assert.ok(arrived >= 1, `frames on ${layout.client.rootInterface}: expected at least 1 (ARP request), got ${arrived}`);
  const serverAfter = Number((JSON.parse(ip('-n', layout.server.namespace, '-s', '-j', 'link', 'show', 'dev', 'eth0')) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets);
  assert.equal(serverAfter - serverRx, 0, 'the server saw no frame');
});

test('up on hosts already up keeps them', { skip }, async () => {
  const before = await testHostsStatus({ prefix });
  const again = await testHostsUp({ prefix });
  assert.equal(again.created, false);
  assert.deepEqual(again.removed, []);
  const s = await testHostsStatus({ prefix });
  assert.equal(s.up, true);
  assert.equal(s.client.rootIfindex, before.client.rootIfindex, 'the same interfaces, not new ones');
});

test('a partial leftover (a lone namespace and a stray link) is removed by the next up', { skip }, async () => {
  await testHostsDown({ prefix });
  ip('netns', 'add', `${prefix}client`);
  ip('link', 'add', `${prefix}x0`, 'type', 'veth', 'peer', 'name', `${prefix}x1`);
  const hosts = await testHostsUp({ prefix });
  assert.equal(hosts.created, true);
  for (const name of [`${prefix}client`, `${prefix}x0`]) assert.ok(hosts.removed.includes(name), `${name} among the removed: ${hosts.removed.join(', ')}`);
  const s = await testHostsStatus({ prefix });
  assert.equal(s.up, true);
  assert.deepEqual(s.strays, { namespaces: [], links: [] });
});

/** A child process that brings the hosts up with removeOnExit and waits. */
async function owner(): Promise<ReturnType<typeof spawn>> {
  const script = `import { testHostsUp } from ${JSON.stringify(NETNS_JS)}; await testHostsUp({ prefix: ${JSON.stringify(prefix)}, removeOnExit: true }); console.log('ready'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(chunk.toString().trim(), 'ready');
  return child;
}

test('hosts brought up with removeOnExit are removed when their process gets SIGTERM', { skip }, async () => {
  await testHostsDown({ prefix });
  const child = await owner();
  assert.equal((await testHostsStatus({ prefix })).owner, child.pid);
  child.kill('SIGTERM');
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGTERM', 'the process still dies of the signal');
  assert.deepEqual(ours(), []);
});

test("hosts whose owner was killed (a crashed run) are rebuilt by the next up", { skip }, async () => {
  const child = await owner();
  child.kill('SIGKILL');
  await once(child, 'exit');
  const s = await testHostsStatus({ prefix });
  assert.equal(s.up, true, 'SIGKILL left them behind');
  assert.equal(s.ownerGone, true);
  const hosts = await testHostsUp({ prefix });
  assert.equal(hosts.created, true, 'rebuilt, not kept');
  assert.ok(hosts.removed.includes(`${prefix}client`));
  assert.equal((await testHostsStatus({ prefix })).owner, null);
});

test('close() on the handle removes everything', { skip }, async () => {
  const hosts = await testHostsUp({ prefix });
  await hosts.close();
  assert.deepEqual(ours(), []);
});

test('ebpf netns up, status --json and down from the CLI; down leaves nothing in ip netns list or ip link', { skip }, () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [EBPF, 'netns', ...args, '--prefix', prefix], { encoding: 'utf8' });
  const up = cli('up');
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /client and server reach each other only through a datapath/);
  const status = cli('status', '--json');
  assert.equal(status.status, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { up: boolean }).up, true);
  const down = cli('down');
  assert.equal(down.status, 0, down.stderr);
  assert.match(down.stdout, new RegExp(`removed .*${prefix}client`));
  assert.deepEqual(ours(), []);
  assert.ok(!ip('netns', 'list').includes(prefix) && !ip('link').includes(prefix));
});

test('without root, ebpf netns up says so in one line and exits 1', { skip: skip || (spawnSync('setpriv', ['--version']).status !== 0 && 'setpriv missing') }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, EBPF, 'netns', 'up', '--prefix', prefix], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /need root/);
});
