// Pins survive restarts (DESIGN.md): after a kill -9, a service started on the same state directory
// brings back the pinned programs and maps with the same ids and pins and the maps' contents as of
// the last acknowledged update; what was not pinned is gone; ids are not handed out again. The
// crashed service's socket file is replaced, and a second service on an endpoint (or a state
// directory) in use refuses to start with a clear error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceClient } from '../../src/service/client.js';
import type { MapInfo, PinInfo, ProgramInfo } from '../../src/service/protocol.js';
import { errorCode, example, EXAMPLES, hexU64, Sandbox, u32hex, u64hex, type Daemon } from './support.js';

const packetHex = (name: string): string => readFileSync(join(EXAMPLES, 'packets', `${name}.hex`), 'utf8').replace(/\s+/g, '');
const droppacket = readFileSync(example('droppacket.o')).toString('base64');
const hashCounter = readFileSync(example('hash_counter.o')).toString('base64');

const programs = async (c: ServiceClient): Promise<ProgramInfo[]> => ((await c.request('program.list', {})) as { programs: ProgramInfo[] }).programs;
const maps = async (c: ServiceClient): Promise<MapInfo[]> => ((await c.request('map.list', {})) as { maps: MapInfo[] }).maps;
const pins = async (c: ServiceClient): Promise<PinInfo[]> => ((await c.request('pin.list', {})) as { pins: PinInfo[] }).pins;
const lookup = async (c: ServiceClient, map: number | string, key: number): Promise<bigint> => hexU64(((await c.request('map.lookup', { map, key: u32hex(key) })) as { value: string }).value);
/** What a restart keeps of a program: not its host, link or verification time. */
const kept = (p: ProgramInfo) => ({ id: p.id, name: p.name, section: p.section, type: p.type, execution: p.execution, object: p.object, path: p.path, pins: [...p.pins].sort(), maps: p.maps });

describe('restart after kill -9', () => {
  let sb: Sandbox;
  let first: Daemon;
  let second: Daemon;
  let programsBefore: ProgramInfo[];
  let mapsBefore: MapInfo[];
  let pinsBefore: PinInfo[];
  let dp: ProgramInfo;
  let hc: ProgramInfo;
  let loose: ProgramInfo;

  before(async () => {
    sb = new Sandbox();
    // No checkpoints during the test: only what each acknowledged request saved can come back.
    first = await sb.startDaemon(['--checkpoint-ms', '600000']);
    const admin = await sb.client('admin');
    dp = (await admin.request('program.add', { object: droppacket, path: 'droppacket.o', pinPath: 'dp', pinned: 'all' })) as ProgramInfo;
    hc = (await admin.request('program.add', { object: hashCounter, path: 'hash_counter.o', pinPath: 'hc', pinned: 'first', execution: 'interpret' })) as ProgramInfo;
    loose = (await admin.request('program.add', { object: droppacket, pinned: 'none' })) as ProgramInfo;
    await admin.request('pin', { kind: 'program', id: hc.id, path: '/extra/hc' });
    await admin.request('pin', { kind: 'map', id: hc.maps[0], path: '/maps/by-source' });
    await admin.request('map.update', { map: dp.maps[0], key: u32hex(0), value: u64hex(5) });
    for (const k of [1, 2, 3]) await admin.request('map.update', { map: '/maps/by-source', key: u32hex(k), value: u64hex(k * 1000) });
    await admin.request('map.delete', { map: hc.maps[0], key: u32hex(2) });
    // The last acknowledged update before the kill.
    await admin.request('map.update', { map: hc.maps[0], key: u32hex(3), value: u64hex(3333) });
    // The unpinned program's map changes too; it is not saved and need not be.
    await admin.request('map.update', { map: loose.maps[0], key: u32hex(0), value: u64hex(9) });
    programsBefore = await programs(admin);
    mapsBefore = await maps(admin);
    pinsBefore = await pins(admin);
    await first.kill('SIGKILL');
  });
  after(async () => {
    await sb.cleanup();
  });

  test('the killed service leaves its socket file, and the next start replaces it', async () => {
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.ok(statSync(sb.endpoint).isSocket(), 'the stale socket is still there');
    second = await sb.startDaemon(['--checkpoint-ms', '600000']);
    assert.notEqual(second.pid, first.pid);
    const status = (await (await sb.client('reader')).request('service.status', {})) as { pid: number };
    assert.equal(status.pid, second.pid);
    assert.match(readFileSync(join(sb.stateDir, 'service.log'), 'utf8'), /"event":"stale-endpoint"/);
  });

  test('pinned programs and maps come back with the same ids and pins', async () => {
    const c = await sb.client('reader');
    const now = await programs(c);
    const pinnedBefore = programsBefore.filter((p) => p.id !== loose.id);
    assert.deepEqual(now.map(kept), pinnedBefore.map(kept));
    assert.deepEqual(now.map((p) => p.host), ['ebpfsvc', 'ebpfsvc']);
    assert.deepEqual(await pins(c), pinsBefore);
    const mapsNow = await maps(c);
    assert.deepEqual(mapsNow.map((m) => ({ ...m, pins: [...m.pins].sort() })), mapsBefore.filter((m) => m.object !== loose.object).map((m) => ({ ...m, pins: [...m.pins].sort() })));
  });

  test("the maps' contents are those of the last acknowledged updates", async () => {
    const c = await sb.client('reader');
    assert.equal(await lookup(c, dp.maps[0], 0), 5n);
    assert.equal(await lookup(c, 'dp/dropped_packet_map', 0), 5n);
    const dump = (await c.request('map.dump', { map: '/maps/by-source' })) as { entries: [string, string][] };
    assert.deepEqual(new Map(dump.entries.map(([k, v]) => [k, hexU64(v)])), new Map([[u32hex(1), 1000n], [u32hex(3), 3333n]]));
  });

  test('unpinned programs and their maps are gone, and their ids are not handed out again', async () => {
    const c = await sb.client('admin');
    assert.equal((await errorCode(c.request('program.list', { id: loose.id }))).code, 'not-found');
    assert.equal((await errorCode(c.request('map.dump', { map: loose.maps[0] }))).code, 'not-found');
    const added = (await c.request('program.add', { object: droppacket, pinned: 'none' })) as ProgramInfo;
    assert.ok(added.id > loose.id, `new program id ${added.id} after ${loose.id}`);
    assert.ok(added.maps[0] > loose.maps[0], `new map id ${added.maps[0]} after ${loose.maps[0]}`);
    await c.request('program.delete', { id: added.id });
  });

  test('restored programs run, and pinned maps keep taking updates that survive the next kill', async () => {
    const c = await sb.client('admin');
    const run = (await c.request('program.run', { id: dp.id, data: packetHex('udp_dns_empty') })) as { returnName: string };
    assert.equal(run.returnName, 'XDP_DROP');
    assert.equal(await lookup(c, dp.maps[0], 0), 6n, 'the run counted the packet on top of the restored 5');
    await c.request('map.update', { map: hc.maps[0], key: u32hex(4), value: u64hex(44) });
    await second.kill('SIGKILL');
    const third = await sb.startDaemon();
    const r = await sb.client('reader');
    assert.equal(await lookup(r, hc.maps[0], 4), 44n);
    assert.equal(await lookup(r, hc.maps[0], 3), 3333n);
    assert.deepEqual((await programs(r)).map(kept), programsBefore.filter((p) => p.id !== loose.id).map(kept));
    second = third;
  });
});

describe('one service per endpoint and per state directory', () => {
  let sb: Sandbox;
  let running: Daemon;
  before(async () => {
    sb = new Sandbox();
    running = await sb.startDaemon();
  });
  after(async () => {
    await sb.cleanup();
  });

  test('a second daemon on the endpoint in use fails with a clear error and leaves the first alone', async () => {
    const exit = await sb.failingDaemon({ stateDir: join(sb.dir, 'other-state') });
    assert.equal(exit.code, 1);
    assert.equal(exit.stdout, '');
    assert.equal(exit.stderr, `error: a service is already running at ${sb.endpoint}\n`);
    assert.ok(running.running);
    assert.equal(((await (await sb.client('reader')).request('service.status', {})) as { pid: number }).pid, running.pid);
  });

  test('a second daemon on the state directory in use fails with a clear error', async () => {
    const exit = await sb.failingDaemon({ endpoint: join(sb.dir, 'other.sock') });
    assert.equal(exit.code, 1);
    assert.equal(exit.stderr, `error: a service (pid ${running.pid}) already uses the state directory ${sb.stateDir}\n`);
    assert.equal(existsSync(join(sb.dir, 'other.sock')), false);
    assert.ok(running.running);
  });

  test('ebpf service start says a service is already running', async () => {
    const r = await sb.cli(['service', 'start']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ebpf: a service (pid ${running.pid}) is already running at ${sb.endpoint}\n`);
  });
});

describe('after a crash with nothing pinned', () => {
  let sb: Sandbox;
  before(() => {
    sb = new Sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test('ids of unpinned programs, maps and links are not handed out again', async () => {
    const first = await sb.startDaemon(['--checkpoint-ms', '600000']);
    const admin = await sb.client('admin');
    const before = (await admin.request('program.add', { object: droppacket, pinned: 'none' })) as ProgramInfo;
    await first.kill('SIGKILL');
    await sb.startDaemon();
    const again = (await (await sb.client('admin')).request('program.add', { object: droppacket, pinned: 'none' })) as ProgramInfo;
    assert.ok(again.id > before.id, `program id ${again.id} after ${before.id} before the crash`);
    assert.ok(again.maps[0] > before.maps[0], `map id ${again.maps[0]} after ${before.maps[0]}`);
  });

  test('a pid file left by the crash names a live process that is no service: the next start goes ahead', async () => {
    const daemon = await sb.startDaemon([], { stateDir: join(sb.dir, 'reused-pid'), endpoint: join(sb.dir, 'reused.sock') });
    await daemon.kill('SIGKILL');
    // The crashed service's pid now belongs to another process (this test runner, say).
    writeFileSync(join(sb.dir, 'reused-pid', 'service.pid'), `${process.pid} ${join(sb.dir, 'reused.sock')}\n`);
    const next = await sb.startDaemon([], { stateDir: join(sb.dir, 'reused-pid'), endpoint: join(sb.dir, 'reused.sock') });
    assert.ok(next.running);
  });
});
