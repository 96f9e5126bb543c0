// `node --import ebpf-ts/register`: a real Node application, unchanged, becomes a hook host of a
// real service; programs added with the CLI police its sockets (net, http, https, fetch, tls over
// IPv4 and IPv6; listen and UDP bind; accepted connections; connection events), the app sees the
// errors the OS would give, and detaching or deleting a program restores its behaviour at once. A
// program that faults at run time gets its hook's fault verdict and never takes the app down. The
// app reports each socket operation's outcome as a JSON line.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/shared.js';
import { example, loadedId, Sandbox, type Child } from '../service/support.js';

const REGISTER = join(REPO_ROOT, 'dist', 'src', 'register', 'index.js');
const TLS = join(REPO_ROOT, 'test', 'fixtures', 'tls');

/**
 * The application. Its servers all answer "hello": to a raw client's first line as is, to an HTTP
 * request as an HTTP response, and inside TLS to a TLS client (tls, https), so a redirected
 * connection of any kind lands somewhere that answers it. They listen on 127.0.0.1:8080, [::1]:8080
 * and the dual-stack [::]:8081 (its IPv4 peers arrive as ::ffff:a.b.c.d); a UDP echo on
 * 127.0.0.1:8080. Socket operations on request.
 */
const APP = `
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import dgram from 'node:dgram';
import readline from 'node:readline';
import { readFileSync } from 'node:fs';
import { Duplex, PassThrough } from 'node:stream';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const failed = (id, e) => say({ id, error: e.code ?? e.cause?.code ?? e.name, errno: e.errno ?? e.cause?.errno, syscall: e.syscall ?? e.cause?.syscall, message: e.message, cause: e.cause?.code });
const credentials = { key: readFileSync(process.env.TLS_DIR + '/localhost.key'), cert: readFileSync(process.env.TLS_DIR + '/localhost.crt') };
const secureContext = tls.createSecureContext(credentials);
const HTTP_REPLY = 'HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nConnection: close\\r\\n\\r\\nhello';
const reply = (s, first) => s.end(/^[A-Z]+ \\//.test(first.toString('latin1')) ? HTTP_REPLY : 'hello');
const serve = (s) => {
  s.on('error', () => {});
  s.once('data', (first) => {
    if (first[0] !== 0x16) return reply(s, first);
    // A TLS handshake: a TLS socket over the raw one, given the bytes already read.
    const input = new PassThrough();
    input.write(first);
    s.pipe(input);
    const t = new tls.TLSSocket(Duplex.from({ readable: input, writable: s }), { isServer: true, secureContext });
    t.on('error', () => {}).once('data', (d) => reply(t, d));
  });
};
const servers = [net.createServer(serve).listen(8080, '127.0.0.1'), net.createServer(serve).listen(8080, '::1'), net.createServer(serve).listen(8081, '::')];
const echo = dgram.createSocket('udp4').on('message', (m, from) => echo.send(m, from.port, from.address)).bind(8080, '127.0.0.1');
Promise.all([...servers, echo].map((s) => new Promise((r) => s.once('listening', r)))).then(() => say({ ready: true }));
const collect = (id, s, extra = () => ({})) => {
  let data = '';
  s.on('data', (d) => (data += d)).on('end', () => say({ id, ...extra(), data })).on('error', (e) => failed(id, e));
};
const body = (id, r) => {
  let data = '';
  r.on('data', (d) => (data += d)).on('end', () => say({ id, status: r.statusCode, data }));
};
const makeServer = { net: () => net.createServer(), http: () => http.createServer(), https: () => https.createServer(credentials), tls: () => tls.createServer(credentials) };
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const c = JSON.parse(line);
  try {
    if (c.op === 'net') {
      const s = c.from === undefined ? net.connect(c.port, c.host) : net.connect({ port: c.port, host: c.host, localAddress: c.from });
      s.on('connect', () => s.write('hi\\n'));
      collect(c.id, s);
    } else if (c.op === 'http') {
      http.get({ host: c.host, port: c.port, path: '/' }, (r) => body(c.id, r)).on('error', (e) => failed(c.id, e));
    } else if (c.op === 'https') {
      https.get({ host: c.host, port: c.port, path: '/', rejectUnauthorized: false }, (r) => body(c.id, r)).on('error', (e) => failed(c.id, e));
    } else if (c.op === 'fetch') {
      await fetch(c.url).then(async (r) => say({ id: c.id, status: r.status, data: await r.text() }), (e) => failed(c.id, e));
    } else if (c.op === 'tls') {
      let secure = false;
      const t = tls.connect({ host: c.host, port: c.port, rejectUnauthorized: false }, () => { secure = true; t.write('hi\\n'); });
      collect(c.id, t, () => ({ secure }));
    } else if (c.op === 'listen') {
      const srv = makeServer[c.server ?? 'net']();
      srv.on('error', (e) => failed(c.id, e)).listen(c.port, c.host, () => { const a = srv.address(); say({ id: c.id, listening: a.port, address: a.address }); srv.close(); });
    } else if (c.op === 'udp-connect') {
      const u = dgram.createSocket(c.type ?? 'udp4');
      u.connect(c.port, c.host, (e) => { if (e) failed(c.id, e); else say({ id: c.id, connected: u.remoteAddress().port, to: u.remoteAddress().address }); u.close(); });
    } else if (c.op === 'udp-bind') {
      const u = dgram.createSocket(c.type ?? 'udp4');
      u.on('error', (e) => failed(c.id, e)).bind(c.port, c.host, () => { say({ id: c.id, bound: u.address().port, address: u.address().address }); u.close(); });
    } else if (c.op === 'udp-send') {
      // An unconnected send: the datagram names its destination.
      const u = dgram.createSocket('udp4');
      const timer = setTimeout(() => { say({ id: c.id, error: 'no reply' }); u.close(); }, 3000);
      u.on('message', (m) => { clearTimeout(timer); say({ id: c.id, reply: String(m) }); u.close(); });
      u.send('ping', c.port, c.host, (e) => { if (e) { clearTimeout(timer); failed(c.id, e); u.close(); } });
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
  errno?: number;
  syscall?: string;
  message?: string;
  cause?: string;
  listening?: number;
  address?: string;
  bound?: number;
  connected?: number;
  to?: string;
  secure?: boolean;
  reply?: string;
}

/** Linux's errno numbers for the errors the hooks raise (Node reports them negated). */
const EPERM = -1;
const EACCES = -13;

describe('an application under --import ebpf-ts/register', () => {
  let sb: Sandbox;
  let app: Child;
  let next = 1;
  /** Programs a test added and has not deleted yet: deleted after it, even when it failed. */
  const loaded = new Set<number>();

  async function ask(op: string, args: Record<string, unknown>): Promise<Result> {
    const id = next++;
    const answer = app.nextLine((l) => l.startsWith(`{"id":${id},`), 20_000);
    app.proc.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    return JSON.parse(await answer) as Result;
  }
  /** `ebpf add program ARGS`: the new program's id. */
  const add = async (...args: string[]): Promise<number> => {
    const id = loadedId(await sb.cliOk('add', 'program', ...args));
    loaded.add(id);
    return id;
  };
  const remove = async (id: number): Promise<void> => {
    assert.match(await sb.cliOk('delete', 'program', String(id)), /Deleted program/);
    loaded.delete(id);
  };
  /** The ids of programs' maps (each one's only map, or the one of that name). */
  const mapsOf = async (programs: number[], name?: string): Promise<string[]> => {
    const [shown, all] = await Promise.all([sb.cliOk('show', 'programs', '--json'), sb.cliOk('show', 'maps', '--json')]);
    const listed = JSON.parse(shown) as { id: number; maps: number[] }[];
    const maps = JSON.parse(all) as { id: number; name: string }[];
    return programs.map((program) => {
      const p = listed.find((l) => l.id === program);
      const found = maps.find((m) => p?.maps.includes(m.id) === true && (name === undefined || m.name === name));
      assert.ok(found !== undefined, `program ${program} has no map ${name ?? ''}`);
      return String(found.id);
    });
  };
  const mapOf = async (program: number, name?: string): Promise<string> => (await mapsOf([program], name))[0];
  const counts = async (map: string): Promise<number[]> => {
    const dump = JSON.parse(await sb.cliOk('map', 'dump', map, '--json')) as { entries: { valueNumber: string }[] };
    return dump.entries.map((e) => Number(e.valueNumber));
  };
  /** An error as the OS would give it: code, errno, syscall, and a message naming who refused. */
  const refused = (r: Result, code: 'EPERM' | 'EACCES', syscall: string, by: RegExp): void => {
    assert.deepEqual({ error: r.error, errno: r.errno, syscall: r.syscall }, { error: code, errno: code === 'EPERM' ? EPERM : EACCES, syscall }, JSON.stringify(r));
    assert.match(r.message ?? '', by);
  };

  before(async () => {
    sb = new Sandbox();
    // Checkpoints of what programs write every 200 ms (not 2 s), so that a restart test need not wait long.
    await sb.startDaemon(['--checkpoint-ms', '200']);
    writeFileSync(join(sb.dir, 'app.mjs'), APP);
    app = sb.spawnNode(['--import', REGISTER, join(sb.dir, 'app.mjs')], { env: { ...sb.env(), EBPF_TS_HOST_NAME: 'webapp', TLS_DIR: TLS }, stdin: true });
    await app.nextLine((l) => l.includes('"ready"'), 20_000);
  });
  afterEach(async () => {
    for (const id of loaded) await sb.cli(['delete', 'program', String(id)]);
    loaded.clear();
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

  test('a connect4 program rejects connections (net, http, https, fetch, tls, by name too) with EPERM, and deleting it restores them', async () => {
    assert.equal((await ask('net', { host: '127.0.0.1', port: 25 })).error, 'ECONNREFUSED', 'before: nothing listens on 25');
    const id = await add(example('connect4_policy.o'), 'interface=webapp/connect4', 'pinned=none');
    const links = await sb.cliOk('show', 'links');
    assert.match(links, new RegExp(`cgroup_sock_addr\\s+webapp/connect4\\s+${app.pid}\\s+webapp#\\d+`), 'the link names the app and its pid');

    const rejected = await ask('net', { host: '127.0.0.1', port: 25 });
    refused(rejected, 'EPERM', 'connect', /^connect EPERM: operation not permitted 127\.0\.0\.1:25 \(by eBPF program connect4_policy\)$/);
    refused(await ask('http', { host: '127.0.0.1', port: 25 }), 'EPERM', 'connect', /connect4_policy/);
    refused(await ask('https', { host: '127.0.0.1', port: 25 }), 'EPERM', 'connect', /connect4_policy/);
    // fetch refuses port 25 itself (a "bad port" of the Fetch standard): 2525, the other SMTP port.
    const fetched = await ask('fetch', { url: 'http://127.0.0.1:2525/' });
    assert.equal(fetched.cause, 'EPERM', JSON.stringify(fetched));
    refused(await ask('tls', { host: '127.0.0.1', port: 25 }), 'EPERM', 'connect', /connect4_policy/);
    assert.equal((await ask('net', { host: 'localhost', port: 25 })).error, 'EPERM', 'a host name is decided on the address it resolves to');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello');
    // decisions: [rejected, proceeded, redirected] (fetch, http, https and tls each made one attempt).
    assert.deepEqual(await counts(await mapOf(id)), [6, 1, 0]);

    await remove(id);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 25 })).error, 'ECONNREFUSED', 'after delete, connections go where they were going');
  });

  test('a destination a connect4 program rewrites is where net, http, https, fetch and tls go; detached, they go where they asked', async () => {
    const id = await add(example('connect4_policy.o'), 'interface=webapp/connect4', 'pinned=none');
    // 127.0.0.2:80 is rewritten to the app's own 127.0.0.1:8080.
    assert.deepEqual(await ask('net', { host: '127.0.0.2', port: 80 }), { id: next - 1, data: 'hello' });
    assert.deepEqual(await ask('http', { host: '127.0.0.2', port: 80 }), { id: next - 1, status: 200, data: 'hello' });
    assert.deepEqual(await ask('https', { host: '127.0.0.2', port: 80 }), { id: next - 1, status: 200, data: 'hello' });
    assert.deepEqual(await ask('fetch', { url: 'http://127.0.0.2/' }), { id: next - 1, status: 200, data: 'hello' });
    assert.deepEqual(await ask('tls', { host: '127.0.0.2', port: 80 }), { id: next - 1, secure: true, data: 'hello' });
    assert.deepEqual(await counts(await mapOf(id)), [0, 0, 5]);

    // Detached (still loaded): the app's connections are its own again.
    await sb.cliOk('set', 'program', String(id), 'attached=no');
    assert.equal((await ask('net', { host: '127.0.0.2', port: 80 })).error, 'ECONNREFUSED');
    assert.equal((await ask('fetch', { url: 'http://127.0.0.2/' })).cause, 'ECONNREFUSED');
    assert.deepEqual(await counts(await mapOf(id)), [0, 0, 5], 'a detached program does not run');
    await remove(id);
  });

  test('a program goes to a host named by pid= or host=, at the one point that fits it', async () => {
    const byPid = await add(example('connect4_policy.o'), `pid=${app.pid}`, 'pinned=none');
    const byName = await add(example('connect6_policy.o'), 'host=webapp', 'pinned=none');
    const links = JSON.parse(await sb.cliOk('show', 'links', '--json')) as { program: number; attachPoint: string; hostPid: number }[];
    assert.deepEqual(links.map((l) => [l.program, l.attachPoint, l.hostPid]).sort(), [[byPid, 'webapp/connect4', app.pid], [byName, 'webapp/connect6', app.pid]].sort());
    assert.equal((await ask('net', { host: '127.0.0.1', port: 2525 })).error, 'EPERM');
    const nobody = await sb.cli(['add', 'program', example('connect4_policy.o'), 'host=nosuch']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /^ebpf: no hook host is host nosuch; hosts: ebpfsvc \(pid \d+\), webapp#\d+ \(pid \d+\)\n$/);
    await Promise.all([byPid, byName].map(remove));
  });

  test('a blocklist in a hash map, filled with ebpf map update while the app runs, blocks what it names (a UDP send that names its destination is not a connect)', async () => {
    const id = await add(example('connect_blocklist.o'), 'interface=webapp/connect4', 'pinned=all', 'pinpath=blocklist');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello', 'an empty list blocks nothing');
    // 127.0.0.1:8080: address and port in network order, two zero bytes.
    await sb.cliOk('map', 'update', 'blocklist/blocked', 'hex:7f0000011f900000', '0');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).error, 'EPERM');
    assert.equal((await ask('http', { host: '127.0.0.1', port: 8080 })).error, 'EPERM');
    refused(await ask('udp-connect', { host: '127.0.0.1', port: 8080 }), 'EPERM', 'connect', /connect_blocklist/);
    // Linux runs connect4 programs on connect() only; a sendto() to a destination is the
    // cgroup/sendmsg4 hook's, which the register does not offer: the datagram goes out.
    assert.equal((await ask('udp-send', { host: '127.0.0.1', port: 8080 })).reply, 'ping', 'the unconnected send reached the echo');
    assert.match(await sb.cliOk('map', 'lookup', 'blocklist/blocked', 'hex:7f0000011f900000'), /\(3\)$/m, 'three attempts counted');
    await sb.cliOk('map', 'delete', 'blocklist/blocked', 'hex:7f0000011f900000');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello', 'taken off the list, it connects again');
    await remove(id);
  });

  test('an ebpf-for-windows recv_accept4 program closes connections from a peer before the app sees them', async () => {
    const id = await add(example('accept_efw.o'), 'interface=webapp/recv_accept4', 'pinned=none');
    const closed = await ask('net', { host: '127.0.0.1', port: 8080, from: '127.0.0.3' });
    assert.notEqual(closed.data, 'hello', `the app never answered the rejected peer: ${JSON.stringify(closed)}`);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello', 'other peers are served');
    assert.deepEqual(await counts(await mapOf(id)), [1, 1]);
    await remove(id);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080, from: '127.0.0.3' })).data, 'hello', 'after delete, that peer is served too');
  });

  test('an ebpf-for-windows recv_accept6 program closes IPv6 connections to one port; IPv4 peers of a dual-stack server are not its business', async () => {
    const id = await add(example('accept6_efw.o'), 'interface=webapp/recv_accept6', 'pinned=none');
    const closed = await ask('net', { host: '::1', port: 8081 });
    assert.notEqual(closed.data, 'hello', `the app never answered the rejected IPv6 peer: ${JSON.stringify(closed)}`);
    assert.equal((await ask('net', { host: '::1', port: 8080 })).data, 'hello', 'IPv6 peers of other ports are served');
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8081 })).data, 'hello', 'an IPv4 peer (::ffff:127.0.0.1 on the dual-stack socket) goes to recv_accept4');
    assert.deepEqual(await counts(await mapOf(id)), [1, 1]);
    await remove(id);
    assert.equal((await ask('net', { host: '::1', port: 8081 })).data, 'hello', 'after delete, IPv6 peers reach port 8081');
  });

  test('an ebpf-for-windows connect4 program polices UDP connects (dgram), by address, host name or none, and logs to a ring buffer read through the service', async () => {
    const id = await add(example('connect_efw.o'), 'host=webapp', 'pinned=all', 'pinpath=dns');
    const dns = await ask('udp-connect', { host: '127.0.0.1', port: 53 });
    refused(dns, 'EPERM', 'connect', /by eBPF program dns_policy/);
    assert.equal((await ask('udp-connect', { host: '127.0.0.1', port: 5353 })).connected, 5353);
    assert.equal((await ask('net', { host: '127.0.0.1', port: 53 })).error, 'ECONNREFUSED', 'TCP to port 53 is not the policy\'s business');
    assert.equal((await ask('udp-connect', { host: 'localhost', port: 53 })).error, 'EPERM', 'a host name is decided on the address it resolves to');
    assert.equal((await ask('udp-connect', { port: 53 })).error, 'EPERM', 'no address is dgram\'s 127.0.0.1');
    const log = JSON.parse(await sb.cliOk('map', 'dump', 'dns/connect_log', '--json')) as { records: string[] };
    // ip4, port, protocol, verdict
    assert.deepEqual(log.records, ['7f00000100351100', '7f00000114e91101', '7f00000100350601', '7f00000100351100', '7f00000100351100']);
    await remove(id);
    assert.equal((await ask('udp-connect', { host: '127.0.0.1', port: 53 })).connected, 53);
  });

  test('IPv6 connections (net, http, https, fetch to [::1], tls) go to connect6 programs, and a connect4 program cannot attach there', async () => {
    const wrong = await sb.cli(['add', 'program', example('connect4_policy.o'), 'interface=webapp/connect6', 'pinned=none']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /attach point webapp\/connect6 runs cgroup_sock_addr connect6 programs; this program is cgroup_sock_addr connect4/);
    const id = await add(example('connect6_policy.o'), 'interface=webapp/connect6', 'pinned=none');
    refused(await ask('net', { host: '::1', port: 2525 }), 'EPERM', 'connect', /^connect EPERM: operation not permitted ::1:2525 \(by eBPF program connect6_policy\)$/);
    refused(await ask('http', { host: '::1', port: 2525 }), 'EPERM', 'connect', /connect6_policy/);
    refused(await ask('https', { host: '::1', port: 2525 }), 'EPERM', 'connect', /connect6_policy/);
    assert.equal((await ask('fetch', { url: 'http://[::1]:2525/' })).cause, 'EPERM', 'fetch of an IPv6 literal');
    refused(await ask('tls', { host: '::1', port: 2525 }), 'EPERM', 'connect', /connect6_policy/);
    assert.deepEqual(await ask('fetch', { url: 'http://[::1]:8080/' }), { id: next - 1, status: 200, data: 'hello' });
    assert.equal((await ask('net', { host: '127.0.0.1', port: 2525 })).error, 'ECONNREFUSED', 'IPv4 is not the connect6 program\'s');
    assert.deepEqual(await counts(await mapOf(id)), [5, 1]);
    await remove(id);
    assert.equal((await ask('net', { host: '::1', port: 2525 })).error, 'ECONNREFUSED');
  });

  test('a connect6 program rewrites IPv6 destinations (TCP and UDP, address and port) and rejects UDP to port 53; detached, it does neither', async () => {
    const id = await add(example('connect6_redirect.o'), 'interface=webapp/connect6', 'pinned=none');
    // [2001:db8::80]:80 (an address nothing answers) is rewritten to the app's own [::1]:8080.
    assert.equal((await ask('net', { host: '2001:db8::80', port: 80 })).data, 'hello');
    assert.deepEqual(await ask('http', { host: '2001:db8::80', port: 80 }), { id: next - 1, status: 200, data: 'hello' });
    assert.deepEqual(await ask('https', { host: '2001:db8::80', port: 80 }), { id: next - 1, status: 200, data: 'hello' });
    assert.deepEqual(await ask('fetch', { url: 'http://[2001:db8::80]/' }), { id: next - 1, status: 200, data: 'hello' });
    assert.deepEqual(await ask('tls', { host: '2001:db8::80', port: 80 }), { id: next - 1, secure: true, data: 'hello' });
    assert.deepEqual(await ask('udp-connect', { type: 'udp6', host: '2001:db8::80', port: 80 }), { id: next - 1, connected: 8080, to: '::1' });
    refused(await ask('udp-connect', { type: 'udp6', host: '::1', port: 53 }), 'EPERM', 'connect', /^connect EPERM: operation not permitted ::1:53 \(by eBPF program connect6_redirect\)$/);
    assert.deepEqual(await ask('udp-connect', { type: 'udp6', host: '::1', port: 5353 }), { id: next - 1, connected: 5353, to: '::1' });
    // redirects6: [rejected, proceeded, redirected]
    assert.deepEqual(await counts(await mapOf(id)), [1, 1, 6]);

    await sb.cliOk('set', 'program', String(id), 'attached=no');
    assert.deepEqual(await ask('udp-connect', { type: 'udp6', host: '::1', port: 53 }), { id: next - 1, connected: 53, to: '::1' });
    const own = await ask('udp-connect', { type: 'udp6', host: '2001:db8::80', port: 80 });
    assert.ok(own.to === '2001:db8::80' || own.error !== undefined, `not rewritten: ${JSON.stringify(own)}`);
    await remove(id);
  });

  test('an ebpf-for-windows bind program denies listening on TCP port 80 (net, http, https, tls) with EACCES, and only that', async () => {
    const id = await add(example('bind_efw.o'), 'interface=webapp/bind', 'pinned=none');
    const denied = await ask('listen', { host: '127.0.0.1', port: 80 });
    refused(denied, 'EACCES', 'listen', /^listen EACCES: permission denied 127\.0\.0\.1:80 \(by eBPF program limit_binds\)$/);
    for (const server of ['http', 'https', 'tls']) {
      assert.equal((await ask('listen', { server, host: '127.0.0.1', port: 80 })).error, 'EACCES', `a ${server} server is denied the same way`);
    }
    assert.ok(((await ask('listen', { host: '127.0.0.1', port: 0 })).listening ?? 0) > 0, 'other ports listen');
    assert.equal((await ask('udp-bind', { host: '127.0.0.1', port: 80 })).bound, 80, 'UDP port 80 is not the program\'s business');
    assert.deepEqual(await counts(await mapOf(id, 'denied')), [4]);
    await remove(id);
    assert.equal((await ask('listen', { host: '127.0.0.1', port: 80 })).listening, 80, 'after delete, port 80 listens (as root)');
  });

  test('Linux bind4 and bind6 programs deny a port with EPERM and move another, for TCP servers of every kind and UDP, IPv4 and IPv6', async () => {
    const [bind4, bind6] = await Promise.all([
      add(example('bind_policy.o'), 'section=cgroup/bind4', 'interface=webapp/bind4', 'pinned=none'),
      add(example('bind_policy.o'), 'section=cgroup/bind6', 'interface=webapp/bind6', 'pinned=none'),
    ]);
    refused(await ask('listen', { host: '127.0.0.1', port: 25 }), 'EPERM', 'listen', /^listen EPERM: operation not permitted 127\.0\.0\.1:25 \(by eBPF program bind4_policy\)$/);
    refused(await ask('listen', { server: 'https', host: '::1', port: 25 }), 'EPERM', 'listen', /^listen EPERM: operation not permitted ::1:25 \(by eBPF program bind6_policy\)$/);
    refused(await ask('udp-bind', { host: '127.0.0.1', port: 25 }), 'EPERM', 'bind', /bind4_policy/);
    refused(await ask('udp-bind', { type: 'udp6', host: '::1', port: 25 }), 'EPERM', 'bind', /bind6_policy/);
    // Port 80 moves to 8880, wherever the bind comes from.
    assert.deepEqual(await ask('listen', { server: 'http', host: '127.0.0.1', port: 80 }), { id: next - 1, listening: 8880, address: '127.0.0.1' });
    assert.deepEqual(await ask('listen', { server: 'tls', host: '::1', port: 80 }), { id: next - 1, listening: 8880, address: '::1' });
    assert.deepEqual(await ask('udp-bind', { host: '127.0.0.1', port: 80 }), { id: next - 1, bound: 8880, address: '127.0.0.1' });
    // No host: Node listens on the IPv6 wildcard (dual stack), so the OS runs the bind6 program.
    assert.deepEqual(await ask('listen', { port: 80 }), { id: next - 1, listening: 8880, address: '::' });
    // A host name: decided on the address Node listens on (localhost: 127.0.0.1 or ::1).
    assert.equal((await ask('listen', { host: 'localhost', port: 80 })).listening, 8880);
    assert.ok(((await ask('listen', { host: '127.0.0.1', port: 0 })).listening ?? 0) > 0, 'other ports listen');
    // bind_decisions: [denied, proceeded, moved], one map per program.
    const [four, six] = await Promise.all((await mapsOf([bind4, bind6])).map(counts));
    assert.deepEqual([four[0] + six[0], four[1] + six[1], four[2] + six[2]], [4, 1, 5]);
    assert.deepEqual([four[0], six[0]], [2, 2], 'two denials each');
    // attempts: the app's binds, counted under its process id (ten in all, across the two programs).
    const attempts = await Promise.all([bind4, bind6].map(async (id) => JSON.parse(await sb.cliOk('map', 'dump', await mapOf(id, 'attempts'), '--json')) as { entries: { key: string; valueNumber?: string }[] }));
    const pidKey = Buffer.alloc(4);
    pidKey.writeUInt32LE(app.pid);
    assert.deepEqual(attempts.map((d) => d.entries.map((e) => e.key)), [[pidKey.toString('hex')], [pidKey.toString('hex')]], 'one key each: the app\'s pid');
    assert.equal(attempts.reduce((n, d) => n + Number(d.entries[0].valueNumber), 0), 10);

    await Promise.all([bind4, bind6].map((id) => sb.cliOk('set', 'program', String(id), 'attached=no')));
    assert.equal((await ask('listen', { host: '127.0.0.1', port: 25 })).listening, 25, 'detached, port 25 listens (as root)');
    assert.equal((await ask('udp-bind', { host: '127.0.0.1', port: 80 })).bound, 80);
    await Promise.all([bind4, bind6].map(remove));
  });

  test('a program that faults at run time gets its hook\'s fault verdict: connect and bind refused, sockops events left out; the app goes on', async () => {
    // runaway.o's programs run past the instruction limit for port 9 (connect4, bind4) and for
    // connections to or from port 8080 (sockops).
    const [connect, bind, sockops] = await Promise.all([
      add(example('runaway.o'), 'section=cgroup/connect4', 'interface=webapp/connect4', 'pinned=none'),
      add(example('runaway.o'), 'section=cgroup/bind4', 'interface=webapp/bind4', 'pinned=none'),
      add(example('runaway.o'), 'section=sockops', 'interface=webapp/sockops', 'pinned=none'),
    ]);
    const fault = /eBPF program runaway_(connect4|bind4) faulted: pc \d+: instruction limit of 100000000 reached/;
    refused(await ask('net', { host: '127.0.0.1', port: 9 }), 'EPERM', 'connect', fault);
    refused(await ask('udp-connect', { host: '127.0.0.1', port: 9 }), 'EPERM', 'connect', fault);
    refused(await ask('listen', { host: '127.0.0.1', port: 9 }), 'EPERM', 'listen', fault);
    // The same programs go on judging: other ports proceed, and the connection whose four sockops
    // events (established both ways, closed both ways) each fault is served all the same.
    assert.equal((await ask('net', { host: '127.0.0.1', port: 8080 })).data, 'hello');
    assert.ok(((await ask('listen', { host: '127.0.0.1', port: 0 })).listening ?? 0) > 0);
    // finished: runs that reached their return (a faulted run never does).
    const finished = await Promise.all((await mapsOf([connect, bind, sockops])).map(counts));
    assert.deepEqual(finished, [[1], [1], [0]], 'connect4: the 8080 connect; bind4: the port 0 listen; sockops: none, every event faulted');
    assert.ok(app.running, 'the app is alive');
    for (const name of ['runaway_connect4', 'runaway_bind4', 'runaway_sockops']) {
      assert.equal(app.stderr.split(`ebpf-ts: eBPF program ${name} faulted`).length - 1, 1, `one note on stderr for ${name}: ${app.stderr}`);
    }
    await Promise.all([connect, bind, sockops].map(remove));
    assert.equal((await ask('net', { host: '127.0.0.1', port: 9 })).error, 'ECONNREFUSED', 'deleted, the connect goes where it was going');
  });

  test('a sockops program hears the connections the app makes and accepts, and their close', async () => {
    const id = await add(example('sockops_monitor.o'), 'interface=webapp/sockops', 'pinned=all', 'pinpath=monitor');
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
    // Each end of the connection has its own socket cookie, the same in its open and its close.
    const cookieOf = (r: string): bigint => Buffer.from(r, 'hex').readBigUInt64LE(24);
    const opens = read.records.filter((r) => Buffer.from(r, 'hex').readUInt32LE(0) !== 10).map(cookieOf);
    const closes = read.records.filter((r) => Buffer.from(r, 'hex').readUInt32LE(0) === 10).map(cookieOf);
    assert.equal(new Set(opens).size, 2, 'the two ends have different cookies');
    assert.ok(opens.every((c) => c > 0n));
    assert.deepEqual([...closes].sort(), [...opens].sort(), 'each close carries the cookie of its open');
    assert.deepEqual((JSON.parse(await sb.cliOk('map', 'dump', 'monitor/connection_events', '--json')) as { records: string[] }).records, [], 'read once');
    const reader = await sb.client('reader');
    await assert.rejects(reader.request('map.dump', { map: 'monitor/connection_events' }), /takes its records .* needs the admin role/);

    // The app restarts: its pinned program (with a ring buffer, which does not travel) comes back to
    // it, with the counts of the last checkpoint.
    await new Promise((r) => setTimeout(r, 600));
    await app.kill();
    assert.doesNotMatch(await sb.cliOk('show', 'links'), /webapp\/sockops/);
    app = sb.spawnNode(['--import', REGISTER, join(sb.dir, 'app.mjs')], { env: { ...sb.env(), EBPF_TS_HOST_NAME: 'webapp', TLS_DIR: TLS }, stdin: true });
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
    await remove(id);
  });
});
