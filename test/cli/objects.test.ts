import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingShared, REPO_ROOT, SHARED } from '../support/shared.js';
import { packet } from '../support/objects.js';

const EBPF = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const ebpf = (...args: string[]) => spawnSync(process.execPath, [EBPF, ...args], { encoding: 'utf8', cwd: REPO_ROOT });
const work = mkdtempSync(join(tmpdir(), 'ebpf-objects-'));
// Removed when the file's tests end, failed or not.
after(() => rmSync(work, { recursive: true, force: true }));
const packetFile = (name: string): string => {
  const path = join(work, `${name}.bin`);
  writeFileSync(path, packet(name));
  return path;
};

test('show disassembly interleaves C source lines and names maps and helpers', () => {
  const r = ebpf('show', 'disassembly', 'examples/droppacket.o', 'xdp');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^xdp\/drop_empty_udp: \d+ instructions, type xdp/m);
  assert.match(r.stdout, /; if \(udp->len != bpf_htons\(sizeof\(struct udphdr\)\)\) \[droppacket\.c:\d+\]/);
  assert.match(r.stdout, /r1 = map\[dropped_packet_map\] ll/);
  assert.match(r.stdout, /call bpf_map_lookup_elem#1/);
  const efw = ebpf('show', 'disassembly', 'examples/droppacket_efw.o');
  assert.match(efw.stdout, /call bpf_map_lookup_elem#1/);
  const sub = ebpf('show', 'disassembly', 'examples/subprog.o');
  assert.match(sub.stdout, /^udp_dest_port:$/m, 'subprograms are labelled');
});

test('show sections lists programs and maps like netsh', () => {
  const r = ebpf('show', 'sections', 'examples/map_in_map.o');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /xdp\s+per_protocol_counters\s+xdp\s+2\s+\d+/);
  assert.match(r.stdout, /by_protocol\s+array_of_maps of array\s+4\s+4\s+2/);
  const json = JSON.parse(ebpf('show', 'sections', 'examples/droppacket_efw.o', '--json').stdout);
  assert.equal(json.abi, 'efw');
  assert.deepEqual(json.maps.map((m: { name: string; type: string }) => [m.name, m.type]), [['dropped_packet_map', 'array']]);
});

test('run test-runs a program on a packet file and shows return value, data and maps', () => {
  const out = join(work, 'out.bin');
  const r = ebpf('run', 'examples/droppacket.o', 'xdp', '--data', packetFile('udp_dns_empty'), '--out', out, '--dump');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /drop_empty_udp \(xdp, section xdp, jit\): returned 1 \(XDP_DROP\)/);
  const interpreted = ebpf('run', 'examples/droppacket.o', 'xdp', '--data', packetFile('udp_dns_empty'), '--engine', 'interpreter');
  assert.match(interpreted.stdout, /\(xdp, section xdp, interpreter\): returned 1 \(XDP_DROP\)\n {2}\d+ instructions executed/);
  assert.match(r.stdout, /map dropped_packet_map \(array\):\s*\n\s+0: 1/);
  assert.deepEqual(new Uint8Array(readFileSync(out)), packet('udp_dns_empty'));
  const json = JSON.parse(ebpf('run', 'examples/droppacket.o', '--data', packetFile('tcp_syn'), '--repeat', '10', '--json', '--dump', 'dropped_packet_map').stdout);
  assert.equal(json.returnValue, 2);
  assert.equal(json.returnName, 'XDP_PASS');
  assert.deepEqual(json.maps[0].entries, [{ key: 0, value: 0 }]);
});

test('run seeds maps with --set, and map dump shows them after a run', () => {
  const r = ebpf('run', 'examples/droppacket.o', '--data', packetFile('udp_dns_empty'), '--set', 'dropped_packet_map:0=41', '--dump', '--json');
  assert.deepEqual(JSON.parse(r.stdout).maps[0].entries, [{ key: 0, value: 42 }]);
  const dump = ebpf('map', 'dump', 'examples/global_data.o', '.data');
  assert.equal(dump.status, 0, dump.stderr);
  assert.match(dump.stdout, /map \.data \(array\):/);
  const typed = JSON.parse(ebpf('map', 'dump', 'examples/lru.o', 'flows', '--data', packetFile('tcp_syn'), '--json').stdout);
  assert.equal(typed.maps[0].entries.length, 1);
  assert.equal(typeof typed.maps[0].entries[0].value, 'object', 'struct values are decoded through BTF');
});

test('object commands refuse bad arguments with one clear line and suggestions', () => {
  const cases: [string[], RegExp][] = [
    [['run', 'examples/droppacket.o', 'xpd'], /no section or program 'xpd' \(did you mean xdp\?\)/],
    [['run', 'examples/droppacket.o', '--data', '/nonexistent.bin'], /no such file: \/nonexistent\.bin/],
    [['run', 'examples/droppacket.o', '--data-hex', '0011'], /XDP test run needs at least an Ethernet header/],
    [['run', 'examples/droppacket.o', '--data', packetFile('arp'), '--set', 'droped_packet_map:0=1'], /no map 'droped_packet_map' \(did you mean dropped_packet_map\?\)/],
    [['run', 'examples/droppacket.o', '--data', packetFile('arp'), '--set', 'dropped_packet_map:0=1x'], /neither an integer nor hex:BYTES/],
    [['run', 'examples/droppacket.o', '--repeat', '0'], /--repeat must be an integer ≥ 1/],
    [['run', 'examples/tail_call.o'], /has 3 programs: name one of/],
    [['show', 'sections', 'examples/droppacket.o', '--abi', 'windows'], /unknown ABI 'windows'/],
    [['show', 'sections', 'package.json'], /ObjectError: malformed ELF: not an ELF file/],
  ];
  for (const [args, message] of cases) {
    const r = ebpf(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')} printed a stack trace`);
  }
});

test('show verification explains a refusal with the C line, the failed condition and the registers', () => {
  const refused = ebpf('show', 'verification', 'examples/droppacket_unsafe.o', 'xdp');
  assert.equal(refused.status, 1);
  assert.match(refused.stdout, /19: r1 = \*\(u16 \*\)\(r1 \+ 38\)\n\s+error out-of-bounds-packet: packet access of 2 bytes at offset 38 needs data \+ 40 <= data_end/);
  assert.match(refused.stdout, /at \.\/examples\/droppacket_unsafe\.c:\d+:\d+: if \(udp->len/);
  assert.match(refused.stdout, /r1 = packet/);
  const passed = ebpf('show', 'verification', 'examples/droppacket.o');
  assert.equal(passed.status, 0, passed.stdout);
  assert.match(passed.stdout, /passed: verified: 36 instructions/);
  const json = JSON.parse(ebpf('show', 'verification', 'examples/droppacket_unsafe.o', '--json').stdout);
  assert.equal(json[0].ok, false);
  assert.equal(json[0].errors[0].code, 'out-of-bounds-packet');
  const verbose = ebpf('show', 'verification', 'examples/droppacket.o', '--verbose');
  assert.match(verbose.stdout, /^ {2}5: /m, 'the invariant before each instruction');
  assert.match(ebpf('show', 'verification', 'examples/droppacket.o', '--type', 'xpd').stderr, /no verifier rules for program type 'xpd' \(did you mean xdp\?\)/);
});

test('bench times a program on both engines with the same result', () => {
  const json = JSON.parse(ebpf('bench', 'examples/droppacket.o', '--data', packetFile('udp_dns_empty'), '--runs', '200', '--json').stdout);
  assert.deepEqual(json.engines.map((e: { engine: string; returnValue: number }) => [e.engine, e.returnValue]), [['interpreter', 1], ['jit', 1]]);
  for (const e of json.engines) assert.ok(e.nsPerRun > 0);
  assert.match(ebpf('bench', 'examples/droppacket.o', '--runs', 'many').stderr, /--runs must be a positive integer/);
});

test('run --allow-pointer-leaks loads what only a privileged loader may, and --dump skips ring buffers', () => {
  const file = 'test/fixtures/unsafe/leak_stack_pointer_to_map.o';
  const frame = '00'.repeat(15);
  const refused = ebpf('run', file, '--data-hex', frame);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /pointer-leak: only numbers can be stored in a map value/);
  const ran = ebpf('run', file, '--data-hex', frame, '--allow-pointer-leaks', '--dump');
  assert.equal(ran.status, 0, ran.stderr);
  // The stack address stored in values[0] is a non-zero number; the ring buffer is not listed.
  assert.match(ran.stdout, /map values \(array\): \n {4}0: [1-9][0-9]*\n/);
  assert.doesNotMatch(ran.stdout, /events/);
  // Naming the ring buffer is still a clear error.
  const named = ebpf('run', file, '--data-hex', frame, '--allow-pointer-leaks', '--dump', 'events');
  assert.equal(named.status, 1);
  assert.match(named.stderr, /key iteration is not supported/);
});

test('run loads the whole object: a tail call through the prog array the object fills jumps; --only leaves its slots empty', () => {
  const run = (...extra: string[]): { returnValue: number; maps: { entries: { key: number; value: number }[] }[] } => {
    const r = ebpf('run', 'examples/tail_call.o', 'dispatch', '--data', packetFile('tcp_syn'), '--dump', 'hits', '--json', ...extra);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  // dispatch tail-calls slot 1 (handle_tcp) for TCP: XDP_TX, counted in hits[1].
  const whole = run();
  assert.equal(whole.returnValue, 3);
  assert.deepEqual(whole.maps[0].entries.map((e) => e.value), [0, 1, 0]);
  // With only dispatch loaded, the slot is empty: the call falls through to XDP_PASS and hits[2].
  const only = run('--only');
  assert.equal(only.returnValue, 2);
  assert.deepEqual(only.maps[0].entries.map((e) => e.value), [0, 0, 1]);
  // bench runs the same whole object.
  const bench = JSON.parse(ebpf('bench', 'examples/tail_call.o', 'dispatch', '--data', packetFile('tcp_syn'), '--runs', '50', '--json').stdout);
  assert.deepEqual(bench.engines.map((e: { returnValue: number }) => e.returnValue), [3, 3]);
  // map dump without a run loads no program: the prog array is shown empty, not an error.
  const dump = ebpf('map', 'dump', 'examples/tail_call.o', 'jump_table');
  assert.equal(dump.status, 0, dump.stderr);
  assert.match(dump.stdout, /map jump_table \(prog_array\): empty/);
});

test('run and bench fail with one line naming another program of the object that the verifier refuses, unless --only', () => {
  const file = 'test/fixtures/elf/one_unsafe_program.o';
  for (const command of [['run', file, 'safe'], ['bench', file, 'safe', '--runs', '10']]) {
    const r = ebpf(...command, '--data', packetFile('tcp_syn'));
    assert.equal(r.status, 1, `${command[0]}: ${r.stdout}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${command[0]}: one line, got ${r.stderr}`);
    assert.match(r.stderr, /^ebpf: LoadError: program unchecked \(section xdp\) of test\/fixtures\/elf\/one_unsafe_program\.o was refused by the verifier \(out-of-bounds-packet at pc 1: .*\); the whole object is loaded, as libbpf does; --only loads safe alone$/m);
    const only = ebpf(...command, '--data', packetFile('tcp_syn'), '--only');
    assert.equal(only.status, 0, only.stderr);
  }
  assert.match(ebpf('run', file, 'safe', '--data', packetFile('tcp_syn'), '--only').stdout, /safe \(xdp, section xdp, jit\): returned 2 \(XDP_PASS\)/);
  // The program asked for, refused, keeps the verifier's full report.
  const asked = ebpf('run', file, 'unchecked', '--data', packetFile('tcp_syn'));
  assert.equal(asked.status, 1);
  assert.match(asked.stderr, /program unchecked was refused by the verifier:\n.*\n {2}error out-of-bounds-packet/);
  assert.match(ebpf('run', '--help').stdout, /--only\s+load only the program asked for/);
});

const EFW_TAIL_CALLS = join(SHARED, 'efw-samples', 'objects', 'tail_call_max_exceed.o');
test('run of an ebpf-for-windows object: 33 tail calls through the slots its object fills, then -EBPF_NO_MORE_TAIL_CALLS and BIND_DENY', { skip: missingShared(EFW_TAIL_CALLS) }, () => {
  const r = ebpf('run', EFW_TAIL_CALLS, 'bind_test_caller', '--json');
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.deepEqual([json.abi, json.returnValue, json.returnName], ['efw', 1, 'BIND_DENY']);
  assert.equal(json.trace.filter((l: string) => l.startsWith('Calling tail call index')).length, 33);
  assert.equal(json.trace.at(-1), 'Tail call failed at index 33');
});
