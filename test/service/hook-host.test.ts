// A hook host in its own process (DESIGN.md, "Programs run where their hook is"): a node script
// that offers a bound UDP socket as the xdp attach point dns0. `ebpf add program droppacket.o xdp
// interface=dns0` attaches droppacket there; it runs in the host, dropping empty datagrams before
// the app's 'message' listener and counting them in a map the service reads from the host. When the
// host is killed, its link ends and the service says so and goes on with the pinned program kept;
// a new host offering dns0 gets the program back, with the count as last saved; so does a host that
// comes after the service itself was killed and restarted. One program per socket, one host per
// attach point: a second of either is refused and changes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServiceClient } from '../../src/service/client.js';
import type { LinkInfo, ProgramInfo } from '../../src/service/protocol.js';
import { REPO_ROOT } from '../support/shared.js';
import { example, hexU64, loadedId, Sandbox, sleep, snapshot, u32hex, waitFor, type Child, type Daemon } from './support.js';

const HOST_CLIENT = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'service', 'host-client.js')).href;

/** The hook host: prints {"port", "host"} once registered, then {"empty", "nonEmpty"} per stdin line. */
const HOST_SCRIPT = `
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { connectHookHost, xdpSocketAttachPoint } from ${JSON.stringify(HOST_CLIENT)};
const [endpoint, stateDir] = process.argv.slice(2);
const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
const counts = { empty: 0, nonEmpty: 0 };
socket.on('message', (msg) => {
  if (msg.length === 0) counts.empty++;
  else counts.nonEmpty++;
});
const host = await connectHookHost({ endpoint, stateDir, client: 'dns-app', providers: [xdpSocketAttachPoint('dns0', socket)] });
console.log(JSON.stringify({ port: socket.address().port, host: host.name }));
createInterface({ input: process.stdin }).on('line', () => console.log(JSON.stringify(counts)));
`;

interface HostProcess {
  readonly child: Child;
  readonly port: number;
  readonly name: string;
  counts(): Promise<{ empty: number; nonEmpty: number }>;
}

describe('a hook host process', () => {
  let sb: Sandbox;
  let script: string;
  let sender: Socket;
  let admin: ServiceClient;

  async function startHost(): Promise<HostProcess> {
    const child = sb.spawnNode([script, sb.endpoint, sb.stateDir], { stdin: true });
    const hello = JSON.parse(await child.nextLine((l) => l.includes('"port"'))) as { port: number; host: string };
    return {
      child, port: hello.port, name: hello.host,
      counts: async () => {
        const line = child.nextLine((l) => l.includes('"empty"'));
        child.proc.stdin?.write('\n');
        return JSON.parse(await line) as { empty: number; nonEmpty: number };
      },
    };
  }

  const send = async (port: number, payload: Buffer, times: number): Promise<void> => {
    for (let i = 0; i < times; i++) await new Promise<void>((resolve, reject) => sender.send(payload, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  };
  const links = async (): Promise<LinkInfo[]> => ((await admin.request('link.list', {})) as { links: LinkInfo[] }).links;
  const program = async (id: number): Promise<ProgramInfo> => ((await admin.request('program.list', { id })) as { programs: ProgramInfo[] }).programs[0];
  const dropped = async (): Promise<bigint> => hexU64(((await admin.request('map.lookup', { map: 'drop_empty_udp/dropped_packet_map', key: u32hex(0) })) as { value: string }).value);

  let host: HostProcess;
  let id: number;
  let daemon: Daemon;

  before(async () => {
    sb = new Sandbox();
    // Frequent checkpoints: what the program counted in the host is saved within 100 ms.
    daemon = await sb.startDaemon(['--checkpoint-ms', '100']);
    script = join(sb.dir, 'dns-host.mjs');
    writeFileSync(script, HOST_SCRIPT);
    sender = createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    admin = await sb.client('admin');
  });
  after(async () => {
    sender?.close();
    await sb.cleanup();
  });

  test('a host process offers dns0; add program ... interface=dns0 attaches droppacket there', async () => {
    host = await startHost();
    assert.match(host.name, /^dns-app#\d+$/);
    const points = await sb.cliOk('show', 'attachpoints');
    assert.match(points, new RegExp(`^xdp\\s+dns0\\s+${host.name}$`, 'm'));
    const out = await sb.cliOk('add', 'program', example('droppacket.o'), 'xdp', 'interface=dns0', 'pinned=all');
    id = loadedId(out);
    assert.match(out, new RegExp(`^Attached to dns0 \\(xdp\\) in ${host.name}$`, 'm'));
    const shown = await sb.cliOk('show', 'links');
    assert.match(shown, new RegExp(`^\\s+\\d+\\s+${id}\\s+xdp\\s+dns0\\s+${host.child.pid}\\s+${host.name}$`, 'm'));
    const p = await program(id);
    assert.equal(p.attached, true);
    assert.equal(p.host, host.name);
  });

  test('empty datagrams are dropped in the host and counted in its map; others reach the app', async () => {
    await send(host.port, Buffer.alloc(0), 20);
    await send(host.port, Buffer.from('abcd'), 5);
    // Datagrams on loopback arrive in order: once the 5 are seen, the 20 before them were handled.
    const counts = await waitFor('the non-empty datagrams', async () => {
      const c = await host.counts();
      return c.nonEmpty >= 5 ? c : undefined;
    });
    assert.deepEqual(counts, { empty: 0, nonEmpty: 5 });
    assert.equal(await dropped(), 20n);
    const dump = await sb.cliOk('map', 'dump', 'drop_empty_udp/dropped_packet_map');
    assert.match(dump, /^key: 00 00 00 00 {2}value: 14 00 00 00 00 00 00 00 {2}\(20\)$/m);
    await send(host.port, Buffer.alloc(0), 3);
    await send(host.port, Buffer.from('x'), 1);
    await waitFor('the next datagram', async () => ((await host.counts()).nonEmpty >= 6 ? true : undefined));
    assert.equal(await dropped(), 23n, 'the counter grows as the host drops');
    assert.equal((await host.counts()).empty, 0);
  });

  test('a second program for the attach point in use is refused, and nothing changes', async () => {
    const before = await snapshot(admin);
    const r = await sb.cli(['add', 'program', example('droppacket.o'), 'interface=dns0', 'pinpath=second', 'pinned=all']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^ebpf: .*already has program drop_empty_udp attached/);
    assert.deepEqual(await snapshot(admin), before);
    assert.equal((await host.counts()).empty, 0);
  });

  test('a second host cannot offer the attach point another host offers', async () => {
    const rival = sb.spawnNode([script, sb.endpoint, sb.stateDir], { stdin: true });
    const exit = await rival.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, new RegExp(`attach point xdp dns0 is already offered by ${host.name}`));
    assert.equal((await links()).length, 1);
  });

  test('when the host is killed its link ends; the service goes on and keeps the pinned program', async () => {
    // Let a checkpoint save the host's count first.
    await sleep(400);
    await host.child.kill('SIGKILL');
    await waitFor('the link to end', async () => ((await links()).length === 0 ? true : undefined));
    assert.doesNotMatch(await sb.cliOk('show', 'links'), /dns0/);
    const p = await program(id);
    assert.equal(p.attached, false);
    assert.deepEqual(p.attachPoint, { type: 'xdp', name: 'dns0' });
    assert.deepEqual(p.pins, ['drop_empty_udp']);
    assert.match(await sb.cliOk('show', 'programs'), new RegExp(`^\\s+${id}\\s+1\\s+0\\s+JIT\\s+xdp\\s+drop_empty_udp$`, 'm'));
    assert.match(await sb.cliOk('show', 'program', String(id)), /^Attach point\s+: dns0 \(xdp\), waiting for its host$/m);
    const status = JSON.parse(await sb.cliOk('service', 'status', '--json')) as { hosts: { name: string }[]; links: number };
    assert.deepEqual(status.hosts.map((h) => h.name), ['ebpfsvc']);
    assert.equal(status.links, 0);
    // The map lives in the service now, from the last checkpoint.
    assert.equal(await dropped(), 23n);
    const log = await waitFor('the log to say so', () => {
      const text = sb.readLog();
      return /"event":"link-ended"/.test(text) ? text : undefined;
    });
    assert.match(log, /"event":"host-gone"/);
  });

  test('a new host offering dns0 gets the program attached again, with its count', async () => {
    const next = await startHost();
    const link = await waitFor('the link again', async () => (await links()).find((l) => l.program === id));
    assert.deepEqual({ type: link.type, attachPoint: link.attachPoint, host: link.host }, { type: 'xdp', attachPoint: 'dns0', host: next.name });
    assert.notEqual(next.name, host.name);
    assert.match(await sb.cliOk('show', 'links'), new RegExp(`^\\s+\\d+\\s+${id}\\s+xdp\\s+dns0\\s+${next.child.pid}\\s+${next.name}$`, 'm'));
    assert.equal((await program(id)).host, next.name);
    await send(next.port, Buffer.alloc(0), 4);
    await send(next.port, Buffer.from('abcd'), 2);
    const counts = await waitFor('the non-empty datagrams', async () => {
      const c = await next.counts();
      return c.nonEmpty >= 2 ? c : undefined;
    });
    assert.deepEqual(counts, { empty: 0, nonEmpty: 2 });
    assert.equal(await dropped(), 27n);
    host = next;
  });

  test('after the service is killed and restarted, a host offering dns0 gets the pinned program back', async () => {
    await sleep(400);
    await daemon.kill('SIGKILL');
    daemon = await sb.startDaemon(['--checkpoint-ms', '100']);
    admin = await sb.client('admin');
    const p = await program(id);
    assert.deepEqual([p.attached, p.host, p.attachPoint], [false, 'ebpfsvc', { type: 'xdp', name: 'dns0' }]);
    assert.equal(await dropped(), 27n);
    const next = await startHost();
    const link = await waitFor('the link after the restart', async () => (await links()).find((l) => l.program === id));
    assert.equal(link.host, next.name);
    await send(next.port, Buffer.alloc(0), 1);
    await send(next.port, Buffer.from('abcd'), 1);
    assert.deepEqual(await waitFor('the datagram', async () => {
      const c = await next.counts();
      return c.nonEmpty >= 1 ? c : undefined;
    }), { empty: 0, nonEmpty: 1 });
    assert.equal(await dropped(), 28n);
  });
});
