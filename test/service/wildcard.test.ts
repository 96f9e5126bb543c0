// Attaching to every hook host (docs/service-protocol.md, "Attaching to every host"): real Node
// applications under `node --import ebpf-ts/register`, a real service, the `ebpf` CLI. A program
// added with no interface, host or pid is attached to every app running and to every app started
// later, one link per app; its maps have one copy per app (as a per-CPU map has one per CPU), which
// user-space updates reach all of; an app that exits ends only its own links; detaching or deleting
// restores every app at once; pid=N still picks one app; a pinned wildcard program is wildcard again
// after a restart of the service.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { LinkInfo, MapInfo, ProgramInfo } from '../../src/service/protocol.js';
import { REPO_ROOT } from '../support/shared.js';
import { example, loadedId, Sandbox, waitFor, type Child, type Daemon } from './support.js';

const REGISTER = join(REPO_ROOT, 'dist', 'src', 'register', 'index.js');

/** The application: socket operations on request (one JSON line each on stdin), each outcome a JSON line. */
const APP = `
import net from 'node:net';
import dgram from 'node:dgram';
import readline from 'node:readline';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const failed = (id, e) => say({ id, error: e.code ?? e.name, message: e.message });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line);
  if (c.op === 'net') {
    let data = '';
    net.connect(c.port, c.host).on('data', (d) => (data += d)).on('end', () => say({ id: c.id, data })).on('error', (e) => failed(c.id, e));
  } else if (c.op === 'listen') {
    const srv = net.createServer();
    srv.on('error', (e) => failed(c.id, e)).listen(c.port, c.host, () => { say({ id: c.id, listening: srv.address().port }); srv.close(); });
  } else if (c.op === 'udp-connect') {
    const u = dgram.createSocket('udp4');
    u.connect(c.port, c.host, (e) => { if (e) failed(c.id, e); else say({ id: c.id, connected: u.remoteAddress().port }); u.close(); });
  }
});
say({ ready: true });
`;

interface Result {
  id: number;
  data?: string;
  error?: string;
  message?: string;
  connected?: number;
  listening?: number;
}

interface App {
  readonly name: string;
  readonly child: Child;
  ask(op: string, args: Record<string, unknown>): Promise<Result>;
}

interface HostEntries {
  host: string;
  pid: number | null;
  entries?: { key: string; value: string; valueNumber?: string }[];
  records?: string[];
}

describe('a program attached to every hook host', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let server: Server;
  let port: number;
  let appFile: string;
  let app1: App;
  let app2: App;
  let app3: App;
  let blocklist: number;
  let blocked: string;
  /** 127.0.0.1 and the server's port, as connect_blocklist's map keys them. */
  let key: string;

  async function startApp(name: string): Promise<App> {
    const child = sb.spawnNode(['--import', REGISTER, appFile], { env: { ...sb.env(), EBPF_TS_HOST_NAME: name }, stdin: true });
    await child.nextLine((l) => l.includes('"ready"'), 20_000);
    assert.match(child.stderr, new RegExp(`ebpf-ts: ${name} \\(pid ${child.pid}\\) is a hook host of the service`));
    let next = 1;
    return {
      name, child,
      async ask(op, args) {
        const id = next++;
        const answer = child.nextLine((l) => l.startsWith(`{"id":${id},`), 20_000);
        child.proc.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
        return JSON.parse(await answer) as Result;
      },
    };
  }

  const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await sb.cliOk(...args, '--json')) as T;
  const links = (): Promise<LinkInfo[]> => json<LinkInfo[]>('show', 'links');
  const linksOf = async (program: number): Promise<LinkInfo[]> => (await links()).filter((l) => l.program === program);
  const program = async (id: number): Promise<ProgramInfo> => (await json<ProgramInfo[]>('show', 'programs', `id=${id}`))[0];
  /** What an app's connection to the server comes to: "hello", or the error code. */
  const reach = async (app: App): Promise<string> => {
    const r = await app.ask('net', { host: '127.0.0.1', port });
    return r.data ?? r.error ?? JSON.stringify(r);
  };
  const dump = (map: string): Promise<{ map: MapInfo; entries: { key: string; valueNumber?: string }[]; records?: string[]; hosts?: HostEntries[] }> => json('map', 'dump', map);
  /** Per host (by its given name, without the #id): the value of `key` in its copy. */
  const perHost = (hosts: HostEntries[] | undefined): Record<string, string | undefined> =>
    Object.fromEntries((hosts ?? []).map((h) => [h.host.replace(/#\d+$/, ''), h.entries?.find((e) => e.key === key)?.valueNumber]));

  before(async () => {
    sb = new Sandbox();
    daemon = await sb.startDaemon(['--checkpoint-ms', '200']);
    server = createServer((s) => s.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    key = `7f000001${port.toString(16).padStart(4, '0')}0000`;
    appFile = join(sb.dir, 'app.mjs');
    writeFileSync(appFile, APP);
    // One after the other: hosts are numbered, and listed, in the order they register.
    app1 = await startApp('app1');
    app2 = await startApp('app2');
  });
  after(async () => {
    server?.close();
    await sb.cleanup();
  });

  test('added with no host, it is attached to every app running: one link per app, each with its pid', async () => {
    const out = await sb.cliOk('add', 'program', example('connect_blocklist.o'), 'pinned=all', 'pinpath=bl');
    blocklist = loadedId(out);
    blocked = 'bl/blocked';
    assert.match(out, /^Attached to \* \(every hook host's cgroup_sock_addr connect4 points, present and future\): 2 links now$/m);
    const mine = await linksOf(blocklist);
    assert.deepEqual(mine.map((l) => [l.type, l.attachPoint, l.hostPid, l.host.replace(/#\d+$/, '')]).sort(), [
      ['cgroup_sock_addr', 'app1/connect4', app1.child.pid, 'app1'], ['cgroup_sock_addr', 'app2/connect4', app2.child.pid, 'app2'],
    ]);
    assert.equal(new Set(mine.map((l) => l.id)).size, 2, 'each link has its own id');
    const table = await sb.cliOk('show', 'links');
    for (const app of [app1, app2]) assert.match(table, new RegExp(`^\\s+\\d+\\s+${blocklist}\\s+cgroup_sock_addr\\s+${app.name}/connect4\\s+${app.child.pid}\\s+${app.name}#\\d+$`, 'm'));
    const p = await program(blocklist);
    assert.deepEqual([p.wildcard, p.attached, p.attachPoint, p.host, p.links.sort()], [true, true, { type: 'cgroup_sock_addr', name: '*', attach: 'connect4' }, 'ebpfsvc', mine.map((l) => l.id).sort()]);
    assert.deepEqual(p.copies.map((h) => h.replace(/#\d+$/, '')), ['app1', 'app2']);
    assert.match(await sb.cliOk('show', 'programs'), new RegExp(`^\\s+${blocklist}\\s+1\\s+2\\*\\s+JIT\\s+cgroup_sock_addr\\s+connect_blocklist$`, 'm'));
    assert.match(await sb.cliOk('show', 'program', String(blocklist)), /^Attach point\s+: \* \(every hook host's cgroup_sock_addr connect4 points, present and future\)$/m);
    assert.deepEqual([await reach(app1), await reach(app2)], ['hello', 'hello'], 'an empty blocklist blocks nothing');
  });

  test('map update of the blocklist reaches every app; map dump and lookup show each app\'s copy', async () => {
    assert.match(await sb.cliOk('map', 'update', blocked, `hex:${key}`, '0'), /^Updated map \d+ \(blocked\)$/m);
    const denied = await app1.ask('net', { host: '127.0.0.1', port });
    assert.equal(denied.error, 'EPERM');
    assert.match(denied.message ?? '', /by eBPF program connect_blocklist/);
    assert.equal(await reach(app2), 'EPERM');
    // Each app counted its one attempt in its own copy; the template holds what user space wrote.
    const d = await dump(blocked);
    assert.deepEqual(d.entries.map((e) => [e.key, e.valueNumber]), [[key, '0']]);
    assert.deepEqual(perHost(d.hosts), { app1: '1', app2: '1' });
    assert.deepEqual(d.hosts?.map((h) => h.pid), [app1.child.pid, app2.child.pid]);
    assert.deepEqual(d.map.copies.map((h) => h.replace(/#\d+$/, '')), ['app1', 'app2']);
    const text = await sb.cliOk('map', 'dump', blocked);
    const spacedKey = (key.match(/../g) ?? []).join(' ');
    assert.match(text, /^Host\s+Pid\s+Entry$/m);
    assert.match(text, new RegExp(`^ebpfsvc \\(template\\)\\s+\\d+\\s+key: ${spacedKey}  value: 00 00 00 00 00 00 00 00  \\(0\\)$`, 'm'));
    for (const app of [app1, app2]) assert.match(text, new RegExp(`^${app.name}#\\d+\\s+${app.child.pid}\\s+key: ${spacedKey}  value: 01 00 00 00 00 00 00 00  \\(1\\)$`, 'm'));
    const looked = await json<{ value: string; hosts: { host: string; pid: number; valueNumber?: string }[] }>('map', 'lookup', blocked, `hex:${key}`);
    assert.deepEqual(looked.hosts.map((h) => [h.pid, h.valueNumber]), [[app1.child.pid, '1'], [app2.child.pid, '1']]);
    assert.match(await sb.cliOk('map', 'lookup', blocked, `hex:${key}`), new RegExp(`^${app2.name}#\\d+\\s+${app2.child.pid}\\s+01 00 00 00 00 00 00 00  \\(1\\)$`, 'm'));
  });

  test('an app started afterwards is covered too, with the blocklist as user space wrote it', async () => {
    app3 = await startApp('app3');
    const link = await waitFor('the third app\'s link', async () => (await linksOf(blocklist)).find((l) => l.hostPid === app3.child.pid));
    assert.equal(link.attachPoint, 'app3/connect4');
    assert.equal((await linksOf(blocklist)).length, 3);
    assert.equal(await reach(app3), 'EPERM', 'the key written before it started blocks it');
    // Its copy began with the template's contents (0), not another app's count.
    assert.deepEqual(perHost((await dump(blocked)).hosts), { app1: '1', app2: '1', app3: '1' });
  });

  test('map delete and update reach every app, the late one included', async () => {
    await sb.cliOk('map', 'delete', blocked, `hex:${key}`);
    assert.deepEqual([await reach(app1), await reach(app2), await reach(app3)], ['hello', 'hello', 'hello']);
    assert.deepEqual(perHost((await dump(blocked)).hosts), { app1: undefined, app2: undefined, app3: undefined });
    await sb.cliOk('map', 'update', blocked, `hex:${key}`, '0');
    assert.deepEqual([await reach(app1), await reach(app2), await reach(app3)], ['EPERM', 'EPERM', 'EPERM']);
  });

  test('an app that exits ends only its own links; the others stay policed', async () => {
    const gone = app2.child.pid;
    await app2.child.kill('SIGKILL');
    const left = await waitFor('the exited app\'s link to end', async () => {
      const l = await linksOf(blocklist);
      return l.some((x) => x.hostPid === gone) ? undefined : l;
    });
    assert.deepEqual(left.map((l) => l.hostPid).sort(), [app1.child.pid, app3.child.pid].sort());
    const p = await program(blocklist);
    assert.deepEqual([p.wildcard, p.attached, p.copies.map((h) => h.replace(/#\d+$/, ''))], [true, true, ['app1', 'app3']]);
    assert.deepEqual([await reach(app1), await reach(app3)], ['EPERM', 'EPERM']);
    assert.deepEqual(Object.keys(perHost((await dump(blocked)).hosts)), ['app1', 'app3']);
    assert.match(sb.readLog(), /"event":"link-ended"/);
  });

  test('pid=N attaches to that app only', async () => {
    const id = loadedId(await sb.cliOk('add', 'program', example('connect4_policy.o'), `pid=${app1.child.pid}`, 'pinned=none'));
    assert.deepEqual((await linksOf(id)).map((l) => [l.attachPoint, l.hostPid]), [['app1/connect4', app1.child.pid]]);
    const p = await program(id);
    assert.deepEqual([p.wildcard, p.host?.replace(/#\d+$/, ''), p.attachPoint?.name], [false, 'app1', 'app1/connect4']);
    assert.equal((await app1.ask('net', { host: '127.0.0.1', port: 2525 })).error, 'EPERM');
    assert.equal((await app3.ask('net', { host: '127.0.0.1', port: 2525 })).error, 'ECONNREFUSED', 'the other app is not policed by it');
    await sb.cliOk('delete', 'program', String(id));
    assert.equal((await app1.ask('net', { host: '127.0.0.1', port: 2525 })).error, 'ECONNREFUSED');
  });

  test('a ring buffer is read from every app\'s copy, each record labelled with its app', async () => {
    const added = await json<ProgramInfo>('add', 'program', example('connect_efw.o'), 'pinned=none');
    assert.equal(added.wildcard, true);
    assert.equal(added.links.length, 2);
    const maps = await json<MapInfo[]>('show', 'maps');
    const log = maps.find((m) => added.maps.includes(m.id) && m.name === 'connect_log');
    assert.ok(log !== undefined);
    assert.equal((await app1.ask('udp-connect', { host: '127.0.0.1', port: 53 })).error, 'EPERM');
    assert.equal((await app3.ask('udp-connect', { host: '127.0.0.1', port: 5353 })).connected, 5353);
    const read = await dump(String(log.id));
    assert.deepEqual(read.records, [], 'the template ran nothing');
    // ip4, port, protocol, verdict
    assert.deepEqual(read.hosts?.map((h) => [h.host.replace(/#\d+$/, ''), h.pid, h.records]), [['app1', app1.child.pid, ['7f00000100351100']], ['app3', app3.child.pid, ['7f00000114e91101']]]);
    await app1.ask('udp-connect', { host: '127.0.0.1', port: 53 });
    const text = await sb.cliOk('map', 'dump', String(log.id));
    assert.match(text, new RegExp(`^app1#\\d+\\s+${app1.child.pid}\\s+7f 00 00 01 00 35 11 00$`, 'm'));
    assert.match(text, /^Read 1 record from ringbuf map \d+ \(connect_log\): 0 in ebpfsvc, 1 in 2 hook hosts$/m);
    await sb.cliOk('delete', 'program', String(added.id));
    assert.equal((await app1.ask('udp-connect', { host: '127.0.0.1', port: 53 })).connected, 53);
  });

  test('a map change one app\'s copy refuses is kept by the others, and the error names that app', async () => {
    const added = await json<ProgramInfo>('add', 'program', example('bind_efw.o'), 'pinned=none');
    assert.deepEqual(added.links.length, 2);
    const maps = await json<MapInfo[]>('show', 'maps');
    const perProcess = String(maps.find((m) => added.maps.includes(m.id) && m.name === 'binds_per_process')?.id);
    // app1's program counts its bind in app1's copy: the key of its pid is there, and nowhere else.
    assert.ok(((await app1.ask('listen', { host: '127.0.0.1', port: 0 })).listening ?? 0) > 0);
    const r = await sb.cli(['map', 'update', perProcess, String(app1.child.pid), '5', '--flags', 'noexist']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^ebpf: map ${perProcess} \\(binds_per_process\\) was updated in ebpfsvc \\(pid \\d+\\), app3#\\d+ \\(pid ${app3.child.pid}\\), which keep the change; it failed in app1#\\d+ \\(pid ${app1.child.pid}\\): .*EEXIST.*\n$`));
    const d = await dump(perProcess);
    const pidKey = Buffer.alloc(8);
    pidKey.writeBigUInt64LE(BigInt(app1.child.pid));
    const value = (entries: { key: string; valueNumber?: string }[] | undefined): string | undefined => entries?.find((e) => e.key === pidKey.toString('hex'))?.valueNumber;
    assert.deepEqual([value(d.entries), ...(d.hosts ?? []).map((h) => [h.host.replace(/#\d+$/, ''), value(h.entries)])], ['5', ['app1', '1'], ['app3', '5']]);
    await sb.cliOk('delete', 'program', String(added.id));
  });

  test('set program attached=no detaches it from every app at once; attached=yes covers them again', async () => {
    assert.equal(await sb.cliOk('set', 'program', String(blocklist), 'attached=no'), `Detached ${blocklist} from every hook host (2 links)\n`);
    assert.deepEqual(await linksOf(blocklist), []);
    assert.deepEqual([await reach(app1), await reach(app3)], ['hello', 'hello']);
    const p = await program(blocklist);
    assert.deepEqual([p.wildcard, p.attached, p.copies, p.host], [false, false, [], 'ebpfsvc']);
    assert.equal(await sb.cliOk('set', 'program', String(blocklist), 'attached=yes'), `Attached ${blocklist} to every hook host (*): 2 links now\n`);
    assert.deepEqual([await reach(app1), await reach(app3)], ['EPERM', 'EPERM'], 'the blocklist as user space wrote it came along');
  });

  let app4: App;
  let app5: App;

  test('a pinned wildcard program is wildcard again after the service restarts, and covers apps started then', async () => {
    // Kill the service; the apps lose it (their hooks end with the connection) and run unhooked.
    await daemon.kill('SIGKILL');
    await waitFor('the apps to be unhooked', async () => ((await reach(app1)) === 'hello' ? true : undefined));
    daemon = await sb.startDaemon(['--checkpoint-ms', '200']);
    const p = await program(blocklist);
    assert.deepEqual([p.wildcard, p.attached, p.links, p.attachPoint?.name], [true, true, [], '*']);
    [app4, app5] = await Promise.all([startApp('app4'), startApp('app5')]);
    const mine = await waitFor('both new apps\' links', async () => {
      const l = await linksOf(blocklist);
      return l.length === 2 ? l : undefined;
    });
    assert.deepEqual(mine.map((l) => l.hostPid).sort(), [app4.child.pid, app5.child.pid].sort());
    assert.deepEqual([await reach(app4), await reach(app5)], ['EPERM', 'EPERM'], 'the saved blocklist came back and reached them');
  });

  test('deleting the program restores every app at once', async () => {
    assert.match(await sb.cliOk('delete', 'program', String(blocklist)), new RegExp(`^Detached ${blocklist}\\nDeleted program ${blocklist}\\n`, 'm'));
    assert.deepEqual([await reach(app4), await reach(app5)], ['hello', 'hello']);
    assert.deepEqual(await links(), []);
  });
});
