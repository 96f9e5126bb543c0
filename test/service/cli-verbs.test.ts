// The `ebpf` verbs of the platform, run as child processes against a real ebpfsvc daemon: service
// status and stop; add, show, set and delete program; show maps, pins and links; pin and unpin;
// map dump, lookup, update and delete by id and by pin path; run; --json output; a refusal by the
// verifier; no service running; bad arguments. And the verifier's limits as the service applies
// them: a verification that runs out of time is a refusal and the service goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgramObject } from '../../src/elf/index.js';
import { assembleBytes } from '../../src/isa/assemble.js';
import type { LinkInfo, MapInfo, PinInfo, ProgramInfo, RunResult } from '../../src/service/protocol.js';
import { shapeText } from '../support/shapes.js';
import { errorCode, example, EXAMPLES, loadedId, Sandbox, sleep, type Daemon } from './support.js';

const droppacket = example('droppacket.o');
const hashCounter = example('hash_counter.o');
const packetHex = (name: string): string => readFileSync(join(EXAMPLES, 'packets', `${name}.hex`), 'utf8').replace(/\s+/g, '');

/** Exactly one line on stderr, no stack frames. */
function oneLine(stderr: string): string {
  assert.equal(stderr.split('\n').filter((l) => l !== '').length, 1, `expected one line on stderr, got: ${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  return stderr.trim();
}

describe('the ebpf verbs against a running service', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  const cli = (...args: string[]) => sb.cli(args);
  const ok = (...args: string[]) => sb.cliOk(...args);
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await ok(...args, '--json')) as T;

  before(async () => {
    sb = new Sandbox();
    daemon = await sb.startDaemon();
  });
  after(async () => {
    await sb.cleanup();
  });

  test('service status names the running service, its endpoint and state directory (table and --json)', async () => {
    const [text, s] = await Promise.all([ok('service', 'status'), json<{ pid: number; endpoint: string; stateDir: string; programs: number; hosts: { name: string }[] }>('service', 'status')]);
    assert.match(text, new RegExp(`^ebpfsvc running: pid ${daemon.pid}, protocol 1`, 'm'));
    assert.ok(text.includes(`endpoint  ${sb.endpoint}`), text);
    assert.ok(text.includes(`state     ${sb.stateDir}`), text);
    assert.match(text, /0 programs, 0 maps, 0 links, 0 pins/);
    assert.equal(s.pid, daemon.pid);
    assert.equal(s.endpoint, sb.endpoint);
    assert.equal(s.stateDir, sb.stateDir);
    assert.equal(s.programs, 0);
    assert.deepEqual(s.hosts.map((h) => h.name), ['ebpfsvc']);
  });

  test('add program prints the new id; show programs lists it in a table and show program N in detail', async () => {
    const added1 = await ok('add', 'program', droppacket, 'pinned=none');
    const id = loadedId(added1);
    // Named no attach point: an xdp program is attached to every hook host (none yet), present and future.
    assert.match(added1, /^Attached to \* \(every hook host's xdp points, present and future\): 0 links now$/m);
    const [table, detail, programs] = await Promise.all([ok('show', 'programs'), ok('show', 'program', String(id)), json<ProgramInfo[]>('show', 'programs')]);
    assert.match(table, /ID\s+Pins\s+Links\s+Mode\s+Type\s+Name/);
    assert.match(table, new RegExp(`^\\s+${id}\\s+0\\s+0\\*\\s+JIT\\s+xdp\\s+drop_empty_udp$`, 'm'));
    assert.match(table, /^\* attached to every hook host, present and future/m);
    assert.match(detail, new RegExp(`^ID\\s+: ${id}$`, 'm'));
    assert.match(detail, /^Name\s+: drop_empty_udp$/m);
    assert.match(detail, /^Section\s+: xdp$/m);
    assert.match(detail, /^Hook host\s+: ebpfsvc \(the template\)$/m);
    assert.match(detail, /^Attach point\s+: \* \(every hook host's xdp points, present and future\)$/m);
    const p = programs.find((x) => x.id === id);
    assert.ok(p !== undefined, JSON.stringify(programs));
    assert.equal(p.name, 'drop_empty_udp');
    assert.equal(p.type, 'xdp');
    assert.deepEqual(p.pins, []);
    // bpftool's place for -j (before the command) gives the same JSON.
    assert.deepEqual(JSON.parse(await ok('-j', 'show', 'programs')), programs);
    assert.deepEqual([p.attached, p.wildcard, p.links, p.attachPoint, p.copies], [true, true, [], { type: 'xdp', name: '*' }, []]);
    const added = await json<ProgramInfo & { verification: string }>('add', 'program', droppacket, 'pinned=none', 'execution=interpret');
    assert.equal(added.id, id + 1);
    assert.equal(added.execution, 'interpret');
    assert.match(added.verification, /^verified: \d+ instructions/);
    assert.match(await ok('show', 'programs', `id=${added.id}`), /^Mode\s+: INTERPRET$/m);
  });

  test('pinned=all pins the program and each map at PINPATH/MAPNAME; show maps, pins and links list them', async () => {
    const id = loadedId(await ok('add', 'program', droppacket, 'pinpath=dp', 'pinned=all'));
    const [p] = await json<ProgramInfo[]>('show', 'programs', `id=${id}`);
    assert.deepEqual(p.pins, ['dp']);
    assert.equal(p.maps.length, 1);
    const mapId = p.maps[0];
    const [maps, mapList, pins, pinList, links, linkList] = await Promise.all([
      ok('show', 'maps'), json<MapInfo[]>('show', 'maps'), ok('show', 'pins'), json<PinInfo[]>('show', 'pins'), ok('show', 'links'), json<LinkInfo[]>('show', 'links'),
    ]);
    assert.match(maps, new RegExp(`^\\s+${mapId}\\s+array\\s+4\\s+8\\s+1\\s+0\\s+1\\s+dropped_packet_map$`, 'm'));
    const m = mapList.find((x) => x.id === mapId);
    assert.deepEqual(m && { name: m.name, typeName: m.typeName, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, pins: m.pins }, {
      name: 'dropped_packet_map', typeName: 'array', keySize: 4, valueSize: 8, maxEntries: 1, pins: ['dp/dropped_packet_map'],
    });
    assert.match(pins, new RegExp(`^\\s+${id}\\s+Program\\s+dp$`, 'm'));
    assert.match(pins, new RegExp(`^\\s+${mapId}\\s+Map\\s+dp/dropped_packet_map$`, 'm'));
    assert.deepEqual(pinList.filter((x) => x.path.startsWith('dp')), [{ path: 'dp', kind: 'program', id }, { path: 'dp/dropped_packet_map', kind: 'map', id: mapId }]);
    assert.match(links, /Link\s+Program\s+Attach/);
    assert.deepEqual(linkList, []);
  });

  test('map dump, lookup, update and delete work on a hash map by id and by pin path', async () => {
    const id = loadedId(await ok('add', 'program', hashCounter, 'pinpath=hc', 'pinned=all'));
    const [[p], maps, empty] = await Promise.all([json<ProgramInfo[]>('show', 'programs', `id=${id}`), json<MapInfo[]>('show', 'maps'), ok('map', 'dump', 'hc/packets_by_source')]);
    const mapId = String(p.maps[0]);
    const pin = 'hc/packets_by_source';
    // The array map of droppacket (pinned by an earlier test), by its pin path and by id.
    const arrayId = String(maps.find((m) => m.pins.includes('dp/dropped_packet_map'))?.id);
    assert.match(empty, new RegExp(`^Found 0 elements in map ${mapId} \\(packets_by_source\\)$`, 'm'));
    const updated = await Promise.all([ok('map', 'update', mapId, '7', '9'), ok('map', 'update', pin, 'hex:0a000001', '300'), ok('map', 'update', 'dp/dropped_packet_map', '0', '3')]);
    assert.match(updated[0], new RegExp(`^Updated map ${mapId} \\(packets_by_source\\)$`, 'm'));
    assert.match(updated[1], new RegExp(`^Updated map ${mapId} \\(packets_by_source\\)$`, 'm'));
    assert.match(updated[2], new RegExp(`^Updated map ${arrayId} \\(dropped_packet_map\\)$`, 'm'));
    const [byPin, byId, dump, dumped, looked, array] = await Promise.all([
      ok('map', 'lookup', pin, '7'), ok('map', 'lookup', mapId, 'hex:0a000001'), ok('map', 'dump', pin),
      json<{ map: MapInfo; entries: { key: string; value: string; valueNumber?: string }[] }>('map', 'dump', pin),
      json<{ key: string; value: string; valueNumber: string }>('map', 'lookup', mapId, '7'), ok('map', 'lookup', arrayId, '0'),
    ]);
    assert.match(byPin, /^key: 07 00 00 00 {2}value: 09 00 00 00 00 00 00 00 {2}\(9\)$/m);
    assert.match(byId, /\(300\)$/m);
    assert.match(dump, /^key: 07 00 00 00 {2}value: 09 00 00 00 00 00 00 00 {2}\(9\)$/m);
    assert.match(dump, /^key: 0a 00 00 01 {2}value: 2c 01 00 00 00 00 00 00 {2}\(300\)$/m);
    assert.match(dump, /^Found 2 elements in map/m);
    assert.equal(dumped.map.id, Number(mapId));
    assert.deepEqual(dumped.entries.map((e) => [e.key, e.valueNumber]).sort(), [['07000000', '9'], ['0a000001', '300']]);
    // hash_counter is attached to every hook host: a per-host breakdown, empty with no host running.
    assert.deepEqual(looked, { key: '07000000', value: '0900000000000000', valueNumber: '9', hosts: [] });
    assert.match(array, /^key: 00 00 00 00 {2}value: 03 00 00 00 00 00 00 00 {2}\(3\)$/m);
    const [deleted1, deleted2, noDelete] = await Promise.all([ok('map', 'delete', mapId, '7'), ok('map', 'delete', pin, 'hex:0a000001'), cli('map', 'delete', arrayId, '0')]);
    assert.match(deleted1, /^Deleted the key from map/m);
    assert.match(deleted2, /^Deleted the key from map/m);
    // An array's elements cannot be deleted: the map's own error, exit 1.
    assert.equal(noDelete.code, 1);
    assert.match(oneLine(noDelete.stderr), /array elements cannot be deleted/);
    const [missing, after] = await Promise.all([cli('map', 'lookup', pin, '7'), ok('map', 'dump', mapId)]);
    assert.equal(missing.code, 1);
    assert.match(oneLine(missing.stderr), /^ebpf: map packets_by_source has no such key$/);
    assert.match(after, /^Found 0 elements/m);
  });

  test('pin and unpin a program and a map, one path or every path', async () => {
    const id = loadedId(await ok('add', 'program', droppacket, 'pinned=none'));
    const [p] = await json<ProgramInfo[]>('show', 'programs', `id=${id}`);
    const mapId = String(p.maps[0]);
    assert.deepEqual(await Promise.all([ok('pin', 'program', String(id), '/t/prog'), ok('pin', 'map', mapId, '/t/map1'), ok('pin', 'MAP', mapId, '/t/map2')]), [
      `Pinned program ${id} at /t/prog\n`, `Pinned map ${mapId} at /t/map1\n`, `Pinned map ${mapId} at /t/map2\n`,
    ]);
    const [pins, dump, taken] = await Promise.all([json<PinInfo[]>('show', 'pins'), ok('map', 'dump', '/t/map2'), cli('pin', 'program', String(id), '/t/map1')]);
    assert.deepEqual(pins.filter((x) => x.path.startsWith('/t/')), [
      { path: '/t/map1', kind: 'map', id: Number(mapId) }, { path: '/t/map2', kind: 'map', id: Number(mapId) }, { path: '/t/prog', kind: 'program', id },
    ]);
    // A map pin path names the map for map verbs.
    assert.match(dump, new RegExp(`Found 1 element in map ${mapId}`));
    // A path holds one pin.
    assert.equal(taken.code, 1);
    assert.match(oneLine(taken.stderr), /\/t\/map1 is already pinned \(map/);
    const [unpinned, unpinnedAll] = await Promise.all([ok('unpin', 'program', String(id), '/t/prog'), json<{ unpinned: string[] }>('unpin', 'map', mapId)]);
    assert.equal(unpinned, `Unpinned ${id} from /t/prog\n`);
    assert.deepEqual(unpinnedAll.unpinned.sort(), ['/t/map1', '/t/map2']);
    const [left, notPinned] = await Promise.all([json<PinInfo[]>('show', 'pins'), cli('unpin', 'program', String(id), '/t/prog')]);
    assert.deepEqual(left.filter((x) => x.path.startsWith('/t/')), []);
    assert.equal(notPinned.code, 1);
    assert.match(oneLine(notPinned.stderr), new RegExp(`program ${id} is not pinned at /t/prog`));
  });

  test('set program pinpath=PATH pins it and pinpath=none unpins every path', async () => {
    const id = loadedId(await ok('add', 'program', droppacket, 'pinpath=setme'));
    assert.equal(await ok('set', 'program', String(id), 'pinpath=/set/again'), `Pinned ${id} at /set/again\n`);
    const [p] = await json<ProgramInfo[]>('show', 'programs', `id=${id}`);
    assert.deepEqual(p.pins.sort(), ['/set/again', 'setme']);
    const out = await ok('set', 'program', `id=${id}`, 'pinpath=none');
    assert.deepEqual(out.trim().split('\n').sort(), [`Unpinned ${id} from /set/again`, `Unpinned ${id} from setme`]);
    const [[after], unpinned, nothing] = await Promise.all([json<ProgramInfo[]>('show', 'programs', `id=${id}`), ok('show', 'programs', 'pinned=no'), cli('set', 'program', String(id))]);
    assert.deepEqual(after.pins, []);
    assert.match(unpinned, new RegExp(`^\\s+${id}\\s+0\\s+0\\*\\s+JIT`, 'm'));
    assert.equal(nothing.code, 2);
    assert.match(oneLine(nothing.stderr), /say what to change/);
  });

  test('delete program says where it was unpinned from and it is gone', async () => {
    const id = loadedId(await ok('add', 'program', droppacket, 'pinpath=doomed'));
    await ok('pin', 'program', String(id), '/doomed/too');
    const out = await ok('delete', 'program', String(id));
    const lines = out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2).sort(), [`Unpinned ${id} from /doomed/too`, `Unpinned ${id} from doomed`]);
    // It was attached to every hook host (none running): deleting detaches it.
    assert.deepEqual(lines.slice(2), [`Detached ${id}`, `Deleted program ${id}`]);
    const [programs, pins, again, shown] = await Promise.all([json<ProgramInfo[]>('show', 'programs'), json<PinInfo[]>('show', 'pins'), cli('delete', 'program', `id=${id}`), cli('show', 'program', String(id))]);
    assert.equal(programs.some((p) => p.id === id), false);
    assert.equal(pins.some((p) => p.path.startsWith('doomed') || p.path.startsWith('/doomed')), false);
    assert.equal(again.code, 1);
    assert.equal(oneLine(again.stderr), `ebpf: no program with id ${id}`);
    assert.equal(shown.code, 1);
    assert.equal(oneLine(shown.stderr), `ebpf: no program with id ${id}`);
  });

  test('run N --data-hex test-runs a program in the service, and its map sees the run', async () => {
    const id = loadedId(await ok('add', 'program', droppacket, 'pinned=none'));
    // A bare Ethernet header (not IPv4) passes.
    const [[p], pass, r] = await Promise.all([
      json<ProgramInfo[]>('show', 'programs', `id=${id}`),
      ok('run', String(id), '--data-hex', '00112233445566778899aabb0806'),
      // An empty UDP datagram is dropped and counted, three times.
      json<RunResult>('run', String(id), '--data-hex', packetHex('udp_dns_empty'), '--repeat', '3'),
    ]);
    assert.match(pass, new RegExp(`^program ${id} returned 2 \\(XDP_PASS\\) in \\d+\\.\\d\\d µs per run \\(mean of 1\\)$`, 'm'));
    assert.equal(r.returnValue, '1');
    assert.equal(r.returnName, 'XDP_DROP');
    assert.ok(r.durationNs > 0);
    const [counted, missing] = await Promise.all([ok('map', 'lookup', String(p.maps[0]), '0'), cli('run', '9999', '--data-hex', '00112233445566778899aabb0800')]);
    assert.match(counted, /\(3\)$/m);
    assert.equal(missing.code, 1);
    assert.equal(oneLine(missing.stderr), 'ebpf: no program with id 9999');
  });

  test('an unsafe program is refused with exit 1 and its C line, and nothing changes', async () => {
    const before = await Promise.all([ok('show', 'programs'), ok('show', 'maps'), ok('show', 'pins'), ok('show', 'links')]);
    const r = await cli('add', 'program', example('droppacket_unsafe.o'));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ebpf: program drop_empty_udp_unsafe \(section xdp\) was refused by the verifier:/);
    assert.match(r.stderr, /out-of-bounds-packet/);
    assert.match(r.stderr, /droppacket_unsafe\.c:50/);
    assert.doesNotMatch(r.stderr, /^\s+at .*\.js:\d+/m);
    const after = await Promise.all([ok('show', 'programs'), ok('show', 'maps'), ok('show', 'pins'), ok('show', 'links')]);
    assert.deepEqual(after, before);
  });

  test('bad arguments exit 2 with one line on stderr and no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['show', 'programs', 'colour=red'], /no parameter 'colour'/],
      [['add', 'program', droppacket, 'sektion=xdp'], /no parameter 'sektion'/],
      [['show', 'program', 'abc'], /'abc' is not an id/],
      [['delete', 'program', '0'], /'0' is not an id/],
      [['delete', 'program', '-3'], /error: unknown option '-3'|not an id/],
      [['delete', 'program', '1', '2'], /too many arguments at '2'/],
      [['show', 'program', '1', '2'], /too many arguments/],
      [['show', 'programs', 'attached=maybe'], /attached=maybe is not one of any, yes, no/],
      [['add', 'program', droppacket, 'pinned=some'], /pinned=some is not one of none, first, all/],
      [['add', 'program', join(sbDir(), 'no-such.o')], /cannot read .*no-such\.o: ENOENT/],
      [['pin', 'thing', '1', '/x'], /'thing' is neither program nor map/],
      [['map', 'update', '1', '0', '1', '--flags', 'sometimes'], /--flags sometimes is not one of any, noexist, exist/],
      [['show', 'frobnicate'], /unknown command 'frobnicate'/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i];
      assert.equal(r.code, 2, `ebpf ${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
      assert.match(oneLine(r.stderr), message, `ebpf ${args.join(' ')}`);
      assert.equal(r.stdout, '', `ebpf ${args.join(' ')}`);
    });
  });

  test('service stop stops it; then a command says no service is running', async () => {
    const r = await ok('service', 'stop');
    assert.equal(r, `ebpfsvc (pid ${daemon.pid}) stopped\n`);
    const exit = await daemon.exited;
    assert.equal(exit.code, 0);
    const status = await cli('service', 'status');
    assert.equal(status.code, 1);
    assert.match(oneLine(status.stderr), /no ebpf-ts service is running/);
  });

  /** The sandbox dir, for paths in the case table (filled in by before()). */
  function sbDir(): string {
    return sb.dir;
  }
});

describe('the ebpf verbs without a service', () => {
  let sb: Sandbox;
  before(() => {
    sb = new Sandbox();
  });
  after(async () => {
    await sb.cleanup();
  });

  test('every verb that needs the service says none is running and how to start one', async () => {
    const verbs = [['service', 'status'], ['show', 'programs'], ['add', 'program', droppacket], ['map', 'dump', '1'], ['show', 'pins', '--json']];
    const results = await Promise.all(verbs.map((v) => sb.cli(v)));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, `ebpf ${verbs[i].join(' ')}: ${r.stderr}`);
      const line = oneLine(r.stderr);
      assert.ok(line.includes('no ebpf-ts service is running'), line);
      assert.ok(line.includes(sb.endpoint), line);
      assert.ok(line.includes("'ebpf service start'"), line);
      assert.equal(r.stdout, '');
    });
  });
});

describe('verification limits in the service', () => {
  let sb: Sandbox;
  let slow: string;
  before(async () => {
    sb = new Sandbox();
    await sb.startDaemon(['--verifier-seconds', '1']);
    // Interleaved loops: about 4.5 s to verify (see verifier-process.test.ts), well over 1 s.
    slow = join(sb.dir, 'slow.o');
    writeFileSync(slow, buildProgramObject(assembleBytes(shapeText('loops', 2000)), { section: 'xdp', symbol: 'loops' }));
  });
  after(async () => {
    await sb.cleanup();
  });

  test('while a verification runs, reads are answered at once', async () => {
    const admin = await sb.client('admin');
    const reader = await sb.client('reader');
    let settled = false;
    const adding = errorCode(admin.request('program.add', { object: readFileSync(slow).toString('base64'), path: 'slow.o' })).finally(() => (settled = true));
    await sleep(200);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await reader.request('program.list', {}), { programs: [] });
      assert.equal(((await reader.request('service.status', {})) as { programs: number }).programs, 0);
    }
    assert.equal(settled, false, 'the reads were answered before the verification ended');
    const e = await adding;
    assert.equal(e.code, 'refused');
    assert.match(e.message, /^the verifier process was stopped at its wall-time limit of 1 s|^the verifier process used up its CPU-time limit of 1 s/);
  });

  test('a program that takes the verifier past its time limit is refused, nothing is loaded, and the next add works', async () => {
    const started = Date.now();
    const r = await sb.cli(['add', 'program', slow]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(oneLine(r.stderr), /^ebpf: the verifier process .*; the program is refused$/);
    assert.ok(Date.now() - started < 4000, `the refusal took ${Date.now() - started} ms`);
    const status = JSON.parse(await sb.cliOk('service', 'status', '--json')) as { programs: number; maps: number; pins: number };
    assert.deepEqual([status.programs, status.maps, status.pins], [0, 0, 0]);
    const id = loadedId(await sb.cliOk('add', 'program', droppacket));
    assert.equal(id, 1);
  });
});
