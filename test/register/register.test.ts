// `node --import ebpf-ts/register`: a real Node application, unchanged, becomes a hook host of a
// real service; programs added with the CLI police its sockets (net, http, fetch, tls; listen and
// UDP bind; connection events) and deleting them restores its normal behaviour at once. The app
// reports each socket operation's outcome as a JSON line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/shared.js';
import { example, loadedId, Sandbox, type Child } from '../service/support.js';

const REGISTER = join(REPO_ROOT, 'dist', 'src', 'register', 'index.js');

/** The application: a TCP server on 127.0.0.1:8080 ("hello"), and socket operations on request. */
const APP = `
import net from 'node:net';
import http from 'node:http';
import tls from 'node:tls';
import dgram from 'node:dgram';
import readline from 'node:readline';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const failed = (id, e) => say({ id, error: e.code ?? e.cause?.code ?? e.name, message: e.message, cause: e.cause?.code });
const server = net.createServer((s) => s.end('hello')).listen(8080, '127.0.0.1', () => say({ ready: true }));
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const c = JSON.parse(line);
  try {
    if (c.op === 'net') {
      const s = c.from === undefined ? net.connect(c.port, c.host) : net.connect({ port: c.port, host: c.host, localAddress: c.from });
      let data = '';
      s.on('data', (d) => (data += d)).on('end', () => say({ id: c.id, data })).on('error', (e) => failed(c.id, e));
    } else if (c.op === 'http') {
      http.get({ host: c.host, port: c.port, path: '/' }, (r) => say({ id: c.id, status: r.statusCode })).on('error', (e) => failed(c.id, e));
    } else if (c.op === 'fetch') {
      await fetch(c.url).then((r) => say({ id: c.id, status: r.status }), (e) => failed(c.id, e));
    } else if (c.op === 'tls') {
      tls.connect({ host: c.host, port: c.port, rejectUnauthorized: false }).on('error', (e) => failed(c.id, e)).on('secureConnect', function () { say({ id: c.id, secure: true }); this.destroy(); });
    } else if (c.op === 'listen') {
      const srv = net.createServer();
      srv.on('error', (e) => failed(c.id, e)).listen(c.port, c.host, () => { say({ id: c.id, listening: srv.address().port }); srv.close(); });
    } else if (c.op === 'http-listen') {
      const srv = http.createServer();
      srv.on('error', (e) => failed(c.id, e)).listen(c.port, c.host, () => { say({ id: c.id, listening: srv.address().port }); srv.close(); });
    } else if (c.op === 'udp-connect') {
      const u = dgram.createSocket('udp4');
      u.connect(c.port, c.host, (e) => { if (e) failed(c.id, e); else say({ id: c.id, connected: u.remoteAddress().port }); u.close(); });
    } else if (c.op === 'udp-bind') {
      const u = dgram.createSocket('udp4');
      u.on('error', (e) => failed(c.id, e)).bind(c.port, c.host, () => { say({ id: c.id, bound: u.address().port }); u.close(); });
    }
  } catch (e) {
    failed(c.id, e);
  }
});
`;

interface Result {
  id: number;
  data?: string;
  status?: number;
  error?: string;
  message?: string;
  cause?: string;
  listening?: number;
  bound?: number;
  connected?: number;
  secure?: boolean;
}

describe('an application under --import ebpf-ts/register', () => {
  let sb: Sandbox;
  let app: Child;
  let next = 1;

  async function ask(op: string, args: Record<string, unknown>): Promise<Result> {
    const id = next++;
    const answer = app.nextLine((l) => l.startsWith(`{"id":${id},`), 20_000);
    app.proc.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    return JSON.parse(await answer) as Result;
  }
  /** The id of a program's map (its only one, or the one of that name). */
  const mapOf = async (program: number, name?: string): Promise<string> => {
    const [p] = JSON.parse(await sb.cliOk('show', 'programs', `id=${program}`, '--json')) as { maps: number[] }[];
    const maps = JSON.parse(await sb.cliOk('show', 'maps', '--json')) as { id: number; name: string }[];
    const found = maps.find((m) => p.maps.includes(m.id) && (name === undefined || m.name === name));
    assert.ok(found !== undefined, `program ${program} has no map ${name ?? ''}`);
    return String(found.id);
  };
  const counts = async (map: string): Promise<number[]> => {
    const dump = JSON.parse(await sb.cliOk('map', 'dump', map, '--json')) as { entries: { valueNumber: string }[] };
    return dump.entries.map((e) => Number(e.valueNumber));
  };

  before(async () => {
    sb = new Sandbox();
    // Checkpoints of what programs write every 200 ms (not 2 s), so that a restart test need not wait long.
    await sb.startDaemon(['--checkpoint-ms', '200']);
    writeFileSync(join(sb.dir, 'app.mjs'), APP);
    app = sb.spawnNode(['--import', REGISTER, join(sb.dir, 'app.mjs')], { env: { ...sb.env(), EBPF_TS_HOST_NAME: 'webapp' }, stdin: true });
    await app.nextLine((l) => l.includes('"ready"'), 20_000);
  });
  after(async () => {
    await sb.cleanup();
  });

  test('it offers its socket hooks as attach points named after it', async () => {
    const points = JSON.parse(await sb.cliOk('show', 'attachpoints', '--json')) as { type: string; name: string; host: string }[];
    const names = points.filter((p) => p.host.startsWith('webapp')).map((p) => `${p.type} ${p.name}`).sort();
    assert.deepEqual(names, [
      'bind webapp/bind', 'cgroup_sock_addr webapp/bind4', 'cgroup_sock_addr webapp/bind6', 'cgroup_sock_addr webapp/connect4', 'cgroup_sock_addr webapp/connect6',
      'cgroup_sock_addr webapp/recv_accept4', 'cgroup_sock_addr webapp/recv_accept6', 'sock_ops webapp/sockops',
    ]);
    assert.match(app.stderr, /ebpf-ts: webapp \(pid \d+\) is a hook host of the service/);
  });

  test('a connect4 program rejects connections (net, http, fetch, tls, by name too) with EPERM, redirects others, and deleting it restores them', async () => {
    assert.equal((await ask('net', { host: '127.0.0.1', port: 25 })).error, 'ECONNREFUSED', 'before: nothing listens on 25');
    const id = loadedId(await sb.cliOk('add', 'program', example('connect4_policy.o'), 'interface=webapp/connect4', 'pinned=none'));
    const links = await sb.cliOk('show', 'links');
    assert.match(links, new RegExp(`cgroup_sock_addr\\s+webapp/connect4\\s+${app.pid}\\s+webapp#\\d+`), 'the link names the app and its pid');

    const rejected = await ask('net', { host: '127.0.0.1', port: 25 });
    assert.equal(rejected.error, 'EPERM');
    assert.match(rejected.message ?? '', /^connect EPERM: operation not permitted 127\.0\.0\.1:25 \(by eBPF program connect4_policy\)$/);
    assert.equal((await ask('http', { host: '127.0.0.1', port: 25 })).error, 'EPERM');
    // fetch refuses port 25 itself (a "bad port" of the Fetch standard): 2525, the other SMTP port.
    assert.equal((await ask('fetch', { url: 'http://127.0.0.1:2525/' })).cause, 'EPERM');
    assert.equal((await ask('tls', { host: '127.0.0.1', port: 25 })).error, 'EPERM');
    assert.equal((await ask('net', { host: 'localhost', port: 25 })).error, 'EPERM', 'a host name is decided on the address it resolves to');
    assert.deepEqual(await ask('net', { host: '127.0.0.2', port: 80 }), { id: next - 1, data: 'hello' }, '127.0.0.2:80 is redirected to the app\'s own 127.0.0.1:8080');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello');
    // decisions: [rejected, proceeded, redirected] (fetch, http and tls each made one attempt).
    assert.deepEqual(await counts(await mapOf(id)), [5, 1, 1]);

    assert.match(await sb.cliOk('delete', 'program', String(id)), /Deleted program/);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 25 })).error, 'ECONNREFUSED', 'after delete, connections go where they were going');
    assert.equal((await ask('net', { host: '127.0.0.2', port: 80 })).error, 'ECONNREFUSED');
  });

  test('a program goes to a host named by pid= or host=, at the one point that fits it', async () => {
    const byPid = loadedId(await sb.cliOk('add', 'program', example('connect4_policy.o'), `pid=${app.pid}`, 'pinned=none'));
    const byName = loadedId(await sb.cliOk('add', 'program', example('connect6_policy.o'), 'host=webapp', 'pinned=none'));
    const links = JSON.parse(await sb.cliOk('show', 'links', '--json')) as { program: number; attachPoint: string; hostPid: number }[];
    assert.deepEqual(links.map((l) => [l.program, l.attachPoint, l.hostPid]).sort(), [[byPid, 'webapp/connect4', app.pid], [byName, 'webapp/connect6', app.pid]].sort());
    assert.equal((await ask('net', { host: '127.0.0.1', port: 2525 })).error, 'EPERM');
    const nobody = await sb.cli(['add', 'program', example('connect4_policy.o'), 'host=nosuch']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /^ebpf: no hook host is host nosuch; hosts: ebpfsvc \(pid \d+\), webapp#\d+ \(pid \d+\)\n$/);
    await sb.cliOk('delete', 'program', String(byPid));
    await sb.cliOk('delete', 'program', String(byName));
  });

  test('a blocklist in a hash map, filled with ebpf map update while the app runs, blocks what it names', async () => {
    const id = loadedId(await sb.cliOk('add', 'program', example('connect_blocklist.o'), 'interface=webapp/connect4', 'pinned=all', 'pinpath=blocklist'));
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello', 'an empty list blocks nothing');
    // 127.0.0.1:8080: address and port in network order, two zero bytes.
    await sb.cliOk('map', 'update', 'blocklist/blocked', 'hex:7f0000011f900000', '0');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).error, 'EPERM');
    assert.equal((await ask('http', { host: '127.0.0.1', port: 8080 })).error, 'EPERM');
    assert.match(await sb.cliOk('map', 'lookup', 'blocklist/blocked', 'hex:7f0000011f900000'), /\(2\)$/m, 'two attempts counted');
    await sb.cliOk('map', 'delete', 'blocklist/blocked', 'hex:7f0000011f900000');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello', 'taken off the list, it connects again');
    await sb.cliOk('delete', 'program', String(id));
  });

  test('an ebpf-for-windows recv_accept4 program closes connections from a peer before the app sees them', async () => {
    const id = loadedId(await sb.cliOk('add', 'program', example('accept_efw.o'), 'interface=webapp/recv_accept4', 'pinned=none'));
    const refused = await ask('net', { host: '127.0.0.1', port: 8080, from: '127.0.0.3' });
    assert.notEqual(refused.data, 'hello', `the app never answered the rejected peer: ${JSON.stringify(refused)}`);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello', 'other peers are served');
    assert.deepEqual(await counts(await mapOf(id)), [1, 1]);
    await sb.cliOk('delete', 'program', String(id));
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080, from: '127.0.0.3' })).data, 'hello', 'after delete, that peer is served too');
  });

  test('an ebpf-for-windows connect4 program polices UDP connects (dgram), and logs to a ring buffer read through the service', async () => {
    const id = loadedId(await sb.cliOk('add', 'program', example('connect_efw.o'), 'host=webapp', 'pinned=all', 'pinpath=dns'));
    const dns = await ask('udp-connect', { host: '127.0.0.1', port: 53 });
    assert.equal(dns.error, 'EPERM');
    assert.match(dns.message ?? '', /by eBPF program dns_policy/);
    assert.equal((await ask('udp-connect', { host: '127.0.0.1', port: 5353 })).connected, 5353);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 53 })).error, 'ECONNREFUSED', 'TCP to port 53 is not the policy\'s business');
    const log = JSON.parse(await sb.cliOk('map', 'dump', 'dns/connect_log', '--json')) as { records: string[] };
    // ip4, port, protocol, verdict
    assert.deepEqual(log.records, ['7f00000100351100', '7f00000114e91101', '7f00000100350601']);
    await sb.cliOk('delete', 'program', String(id));
    assert.equal((await ask('udp-connect', { host: '127.0.0.1', port: 53 })).connected, 53);
  });

  test('IPv6 connections go to connect6 programs, and a connect4 program cannot attach there', async () => {
    const wrong = await sb.cli(['add', 'program', example('connect4_policy.o'), 'interface=webapp/connect6', 'pinned=none']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /attach point webapp\/connect6 runs cgroup_sock_addr connect6 programs; this program is cgroup_sock_addr connect4/);
    const id = loadedId(await sb.cliOk('add', 'program', example('connect6_policy.o'), 'interface=webapp/connect6', 'pinned=none'));
    const rejected = await ask('net', { host: '::1', port: 2525 });
    assert.equal(rejected.error, 'EPERM');
    assert.match(rejected.message ?? '', /connect EPERM: operation not permitted ::1:2525 \(by eBPF program connect6_policy\)/);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 2525 })).error, 'ECONNREFUSED', 'IPv4 is not the connect6 program\'s');
    assert.deepEqual(await counts(await mapOf(id)), [1, 0]);
    await sb.cliOk('delete', 'program', String(id));
    assert.equal((await ask('net', { host: '::1', port: 2525 })).error, 'ECONNREFUSED');
  });

  test('an ebpf-for-windows bind program denies listening on TCP port 80 with EACCES, and only that', async () => {
    const id = loadedId(await sb.cliOk('add', 'program', example('bind_efw.o'), 'interface=webapp/bind', 'pinned=none'));
    const denied = await ask('listen', { host: '127.0.0.1', port: 80 });
    assert.equal(denied.error, 'EACCES');
    assert.match(denied.message ?? '', /^listen EACCES: permission denied 127\.0\.0\.1:80 \(by eBPF program limit_binds\)$/);
    assert.equal((await ask('http-listen', { host: '127.0.0.1', port: 80 })).error, 'EACCES', 'an HTTP server is denied the same way');
    assert.ok(((await ask('listen', { host: '127.0.0.1', port: 0 })).listening ?? 0) > 0, 'other ports listen');
    assert.equal((await ask('udp-bind', { host: '127.0.0.1', port: 80 })).bound, 80, 'UDP port 80 is not the program\'s business');
    assert.deepEqual(await counts(await mapOf(id, 'denied')), [2]);
    await sb.cliOk('delete', 'program', String(id));
    assert.equal((await ask('listen', { host: '127.0.0.1', port: 80 })).listening, 80, 'after delete, port 80 listens (as root)');
  });

  test('a sockops program hears the connections the app makes and accepts, and their close', async () => {
    const id = loadedId(await sb.cliOk('add', 'program', example('sockops_monitor.o'), 'interface=webapp/sockops', 'pinned=all', 'pinpath=monitor'));
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello');
    // event_counts: [active established, passive established, closed]; both ends of the one connection close.
    let c: number[] = [];
    for (let i = 0; i < 50 && (c[2] ?? 0) < 2; i++) {
      c = await counts('monitor/event_counts');
      if ((c[2] ?? 0) < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(c, [1, 1, 2]);
    // The events, read from the ring buffer through the service (reading takes them).
    const read = JSON.parse(await sb.cliOk('map', 'dump', 'monitor/connection_events', '--json')) as { records: string[] };
    const ops = read.records.map((r) => Buffer.from(r, 'hex').readUInt32LE(0)).sort((a, b) => a - b);
    assert.deepEqual(ops, [4, 5, 10, 10], 'active and passive established, and both ends closed');
    for (const r of read.records) assert.equal(Buffer.from(r, 'hex').subarray(4, 8).join('.'), '127.0.0.1');
    assert.deepEqual((JSON.parse(await sb.cliOk('map', 'dump', 'monitor/connection_events', '--json')) as { records: string[] }).records, [], 'read once');
    const reader = await sb.client('reader');
    await assert.rejects(reader.request('map.dump', { map: 'monitor/connection_events' }), /takes its records .* needs the admin role/);

    // The app restarts: its pinned program (with a ring buffer, which does not travel) comes back to
    // it, with the counts of the last checkpoint.
    await new Promise((r) => setTimeout(r, 600));
    await app.kill();
    assert.doesNotMatch(await sb.cliOk('show', 'links'), /webapp\/sockops/);
    app = sb.spawnNode(['--import', REGISTER, join(sb.dir, 'app.mjs')], { env: { ...sb.env(), EBPF_TS_HOST_NAME: 'webapp' }, stdin: true });
    await app.nextLine((l) => l.includes('"ready"'), 20_000);
    let links = '';
    for (let i = 0; i < 50 && !/webapp\/sockops/.test(links); i++) {
      links = await sb.cliOk('show', 'links');
      if (!/webapp\/sockops/.test(links)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(links, /sock_ops\s+webapp\/sockops/);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello');
    for (let i = 0; i < 50 && (c[0] ?? 0) < 2; i++) {
      c = await counts('monitor/event_counts');
      if ((c[0] ?? 0) < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(c[0], 2, 'the counts carried over, and the new connection was heard');
    await sb.cliOk('delete', 'program', String(id));
  });
});
