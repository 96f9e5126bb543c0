// The roles (DESIGN.md, "Roles"): a reader may show and read; every change needs the admin role,
// whose credential is a 0600 token file in the state directory. Each request is checked, a
// reader's refused changes leave everything as it was, a wrong token is refused at hello, and
// nothing but hello is answered before hello.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceClient } from '../../src/service/client.js';
import type { ClientArgs, ClientOp, MapInfo, PinInfo, ProgramInfo } from '../../src/service/protocol.js';
import { errorCode, example, frame, hexU64, Sandbox, snapshot, u32hex, u64hex } from './support.js';

const droppacket = readFileSync(example('droppacket.o')).toString('base64');
const hashCounter = readFileSync(example('hash_counter.o')).toString('base64');

describe('roles', () => {
  let sb: Sandbox;
  let admin: ServiceClient;
  let reader: ServiceClient;
  let program: number;
  let arrayMap: number;
  let hashMap: number;

  before(async () => {
    sb = new Sandbox();
    await sb.startDaemon();
    admin = await sb.client('admin');
    const dp = (await admin.request('program.add', { object: droppacket, path: 'droppacket.o', pinPath: 'dp', pinned: 'all' })) as ProgramInfo;
    const hc = (await admin.request('program.add', { object: hashCounter, path: 'hash_counter.o', pinPath: 'hc', pinned: 'all' })) as ProgramInfo;
    program = dp.id;
    arrayMap = dp.maps[0];
    hashMap = hc.maps[0];
    await admin.request('map.update', { map: hashMap, key: u32hex(5), value: u64hex(55) });
    reader = await sb.client('reader');
  });
  after(async () => {
    await sb.cleanup();
  });

  test('the admin token file is mode 0600 in a 0700 state directory', () => {
    const token = statSync(join(sb.stateDir, 'admin.token'));
    assert.equal(token.mode & 0o777, 0o600);
    assert.equal(statSync(sb.stateDir).mode & 0o777, 0o700);
    assert.match(readFileSync(join(sb.stateDir, 'admin.token'), 'utf8'), /^[0-9a-f]{64}\n$/);
  });

  test('a reader can show and read: status, lists, map dump and lookup', async () => {
    assert.equal(reader.role, 'reader');
    const status = (await reader.request('service.status', {})) as { programs: number; maps: number; pins: number };
    assert.deepEqual([status.programs, status.maps, status.pins], [2, 2, 4]);
    const programs = ((await reader.request('program.list', {})) as { programs: ProgramInfo[] }).programs;
    assert.deepEqual(programs.map((p) => p.name), ['drop_empty_udp', 'count_by_source']);
    assert.deepEqual(((await reader.request('program.list', { id: program })) as { programs: ProgramInfo[] }).programs.map((p) => p.id), [program]);
    assert.equal(((await reader.request('map.list', {})) as { maps: MapInfo[] }).maps.length, 2);
    assert.deepEqual(await reader.request('map.dump', { map: 'hc/packets_by_source' }).then((r) => (r as { entries: unknown }).entries), [[u32hex(5), u64hex(55)]]);
    assert.equal(hexU64(((await reader.request('map.lookup', { map: hashMap, key: u32hex(5) })) as { value: string }).value), 55n);
    assert.equal(hexU64(((await reader.request('map.lookup', { map: 'dp/dropped_packet_map', key: u32hex(0) })) as { value: string }).value), 0n);
    assert.deepEqual(((await reader.request('link.list', {})) as { links: unknown[] }).links, []);
    assert.equal(((await reader.request('pin.list', {})) as { pins: PinInfo[] }).pins.length, 4);
    assert.deepEqual(await reader.request('attach-point.list', {}), { points: [] });
  });

  test('a reader gets permission for every change, and nothing changes', async () => {
    const before = await snapshot(admin);
    const changes: { [O in ClientOp]?: ClientArgs<O> } = {
      'program.add': { object: droppacket, path: 'droppacket.o', pinned: 'none' },
      'program.delete': { id: program },
      'program.set': { id: program, pinPath: null },
      'map.update': { map: hashMap, key: u32hex(5), value: u64hex(1) },
      'map.delete': { map: 'hc/packets_by_source', key: u32hex(5) },
      pin: { kind: 'map', id: arrayMap, path: 'stolen' },
      unpin: { kind: 'program', id: program },
      'host.register': { points: [{ type: 'xdp', name: 'evil0' }] },
      'service.stop': {},
    };
    for (const [op, args] of Object.entries(changes)) {
      const e = await errorCode(reader.request(op as ClientOp, args as never));
      assert.equal(e.code, 'permission', `${op}: ${e.message}`);
      assert.match(e.message, new RegExp(`^${op.replace('.', '\\.')} needs the admin role .*admin\\.token`));
    }
    // The same ops with arguments that do not even parse are refused for the role first.
    assert.equal((await errorCode(reader.request('program.delete', { id: -1 } as never))).code, 'permission');
    assert.deepEqual(await snapshot(admin), before);
    // service.stop was refused: the service still answers, on the reader's connection too.
    assert.equal(reader.closed, false);
    assert.equal(((await reader.request('service.status', {})) as { programs: number }).programs, 2);
  });

  test('a reader cannot become admin by saying hello again', async () => {
    const e = await errorCode(reader.connection.request('hello', { version: 1, role: 'admin', token: readFileSync(join(sb.stateDir, 'admin.token'), 'utf8').trim() }));
    assert.equal(e.code, 'out-of-order');
    assert.equal((await errorCode(reader.request('map.update', { map: hashMap, key: u32hex(5), value: u64hex(1) }))).code, 'permission');
    assert.equal(hexU64(((await admin.request('map.lookup', { map: hashMap, key: u32hex(5) })) as { value: string }).value), 55n);
  });

  test('an admin hello with a wrong token, or none, is bad-token', async () => {
    const wrong = await errorCode(sb.client('admin', { token: '0'.repeat(64) }));
    assert.equal(wrong.code, 'bad-token');
    assert.equal(wrong.message, 'the admin token is wrong');
    const raw = await sb.raw();
    const none = await raw.hello('admin');
    assert.equal(none.ok, false);
    assert.equal(none.error?.code, 'bad-token');
    // The connection stays, still without a role: a later request is out of order, and a right hello works.
    assert.equal((await raw.request('program.list', {})).error?.code, 'out-of-order');
    const right = await raw.hello('admin', readFileSync(join(sb.stateDir, 'admin.token'), 'utf8').trim());
    assert.deepEqual(right.result && { ...(right.result as object), pid: 0 }, { version: 1, role: 'admin', pid: 0 });
    raw.destroy();
  });

  test('requests before hello are out-of-order and are not carried out', async () => {
    const raw = await sb.raw();
    for (const [op, args] of [['service.status', {}], ['program.list', {}], ['map.dump', { map: hashMap }], ['map.update', { map: hashMap, key: u32hex(5), value: u64hex(9) }], ['program.delete', { id: program }], ['service.stop', {}]] as const) {
      const r = await raw.request(op, args);
      assert.equal(r.ok, false, op);
      assert.equal(r.error?.code, 'out-of-order', op);
      assert.match(r.error?.message ?? '', new RegExp(`^${op.replace('.', '\\.')} before hello`));
    }
    raw.write(frame({ kind: 'request', id: 99, op: 'pin.list', args: {} }));
    const r = await raw.next();
    assert.equal(r.id, 99);
    assert.equal(r.error?.code, 'out-of-order');
    raw.destroy();
    assert.equal(hexU64(((await admin.request('map.lookup', { map: hashMap, key: u32hex(5) })) as { value: string }).value), 55n);
    assert.equal(((await admin.request('program.list', {})) as { programs: unknown[] }).programs.length, 2);
  });

  test('an admin can make the changes a reader cannot', async () => {
    await admin.request('map.update', { map: hashMap, key: u32hex(6), value: u64hex(66) });
    await admin.request('pin', { kind: 'map', id: arrayMap, path: 'mine' });
    await admin.request('unpin', { kind: 'map', id: arrayMap, path: 'mine' });
    await admin.request('map.delete', { map: hashMap, key: u32hex(6) });
    const added = (await admin.request('program.add', { object: droppacket, pinned: 'none' })) as ProgramInfo;
    await admin.request('program.delete', { id: added.id });
    assert.equal(((await reader.request('program.list', {})) as { programs: unknown[] }).programs.length, 2);
  });
});

describe('the admin token file', () => {
  let sb: Sandbox;
  before(() => {
    sb = new Sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test('a token file left readable by others is made 0600 again when the service starts, and keeps its token', async () => {
    mkdirSync(sb.stateDir, { mode: 0o700 });
    const token = 'ab'.repeat(32);
    writeFileSync(join(sb.stateDir, 'admin.token'), `${token}\n`, { mode: 0o644 });
    chmodSync(join(sb.stateDir, 'admin.token'), 0o644);
    await sb.startDaemon();
    assert.equal(statSync(join(sb.stateDir, 'admin.token')).mode & 0o777, 0o600);
    const admin = await sb.client('admin', { token });
    assert.equal(admin.role, 'admin');
  });
});
