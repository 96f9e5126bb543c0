// Every object in examples/ opens, loads and test-runs with the return values and map contents its
// C source documents (examples/README.md). The Linux-flavoured expectations were also checked
// against the Linux kernel's BPF_PROG_TEST_RUN when the examples were written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { openObject } from '../../src/elf/index.js';
import { VerificationError } from '../../src/runtime/index.js';
import { RingBufMap, PerfEventArrayMap } from '../../src/maps/index.js';
import { EXAMPLES, example, loadExample, packet, u32, u64le, useEngine } from '../support/objects.js';

const ip = (...b: number[]): Uint8Array => Uint8Array.from(b);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('every example object opens, and every program in it passes the verifier and loads (but the unsafe one)', () => {
  const objects = readdirSync(EXAMPLES).filter((f) => f.endsWith('.o') && f !== 'droppacket_unsafe.o');
  assert.ok(objects.length >= 17, `${objects.length} objects`);
  for (const name of objects) {
    const spec = openObject(example(name));
    assert.ok(spec.programs.length > 0, `${name} has programs`);
    const { object } = loadExample(name);
    assert.equal(object.programs.size, spec.programs.length, name);
  }
});

test('droppacket_unsafe is refused by the verifier, which names the unchecked read at its C line', () => {
  assert.throws(() => loadExample('droppacket_unsafe.o'), (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.report.ok, false);
    const error = e.report.ok ? undefined : e.report.errors[0];
    assert.equal(error?.code, 'out-of-bounds-packet');
    assert.match(error?.source?.text ?? '', /udp->len/);
    assert.match(error?.message ?? '', /data \+ 40 <= data_end/);
    return true;
  });
});

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] droppacket drops UDP datagrams with an empty payload and counts them`, () => {
      useEngine(engine);
    const { object } = loadExample('droppacket.o');
    const program = object.program('xdp');
    const map = object.map('dropped_packet_map');
    for (const name of ['udp_dns_payload', 'tcp_syn', 'arp', 'runt']) {
      const r = program.testRun({ data: packet(name) });
      assert.equal(r.returnValue, 2n, name);
      assert.equal(r.returnName, 'XDP_PASS');
    }
    assert.equal(u64le(map.lookup(u32(0))), 0n);
    const r = program.testRun({ data: packet('udp_dns_empty') });
    assert.equal(r.returnName, 'XDP_DROP');
    assert.deepEqual(r.data, packet('udp_dns_empty'));
    assert.equal(u64le(map.lookup(u32(0))), 1n);
  });

  test(`[${engine}] droppacket_efw is detected as ebpf-for-windows and drops with its return codes`, () => {
      useEngine(engine);
    const { object } = loadExample('droppacket_efw.o');
    assert.equal(object.spec.abi, 'efw');
    assert.match(object.spec.abiReason, /xdp_md_t/);
    const program = object.program('xdp');
    assert.equal(program.testRun({ data: packet('udp_dns_payload') }).returnName, 'XDP_PASS');
    assert.equal(program.testRun({ data: packet('udp_dns_payload') }).returnValue, 1n);
    const drop = program.testRun({ data: packet('udp_dns_empty') });
    assert.equal(drop.returnValue, 2n);
    assert.equal(drop.returnName, 'XDP_DROP');
    assert.equal(u64le(object.map('dropped_packet_map').lookup(u32(0))), 1n);
  });

  test(`[${engine}] hash_counter counts packets per IPv4 source in a hash map`, () => {
      useEngine(engine);
    const { object } = loadExample('hash_counter.o');
    const program = object.program('xdp');
    for (const name of ['udp_dns_empty', 'udp_dns_empty', 'tcp_syn', 'arp', 'runt']) assert.equal(program.testRun({ data: packet(name) }).returnValue, 2n);
    const map = object.map('packets_by_source');
    assert.equal(u64le(map.lookup(ip(10, 0, 0, 1))), 2n);
    assert.equal(u64le(map.lookup(ip(192, 168, 1, 10))), 1n);
    assert.equal([...map.keys()].length, 2);
  });

  test(`[${engine}] percpu counts on the CPU the program runs on`, () => {
      useEngine(engine);
    const { object } = loadExample('percpu.o', { cpus: 2 });
    const program = object.program('xdp');
    for (const name of ['udp_dns_empty', 'tcp_syn', 'arp']) assert.equal(program.testRun({ data: packet(name), cpu: 0 }).returnValue, 2n);
    const totals = object.map('totals');
    const perCpu = (bytes: Uint8Array | undefined) => [u64le(bytes, 0), u64le(bytes, 8)];
    assert.deepEqual(perCpu(totals.lookup(u32(0))), [3n, 0n]);
    assert.deepEqual(perCpu(totals.lookup(u32(1))), [138n, 0n]);
    const byProtocol = object.map('by_protocol');
    for (const proto of [17, 6, 0]) assert.deepEqual(perCpu(byProtocol.lookup(u32(proto))), [1n, 0n], `protocol ${proto}`);
    program.testRun({ data: packet('tcp_syn'), cpu: 1 });
    assert.deepEqual(perCpu(totals.lookup(u32(0))), [3n, 1n]);
  });

  test(`[${engine}] lru keeps per-flow structs and per-CPU port counts`, () => {
      useEngine(engine);
    const { object } = loadExample('lru.o');
    const program = object.program('xdp');
    for (const name of ['udp_dns_empty', 'udp_dns_payload', 'tcp_syn', 'arp', 'runt']) assert.equal(program.testRun({ data: packet(name) }).returnValue, 2n);
    const flows = object.map('flows');
    const flow = (key: Uint8Array) => [u64le(flows.lookup(key), 0), u64le(flows.lookup(key), 8)];
    assert.deepEqual(flow(ip(10, 0, 0, 1)), [2n, 88n]);
    assert.deepEqual(flow(ip(192, 168, 1, 10)), [1n, 54n]);
    // Typed view through BTF: the value struct reads as an object.
    const typed = object.read('flows');
    assert.equal(typed.length, 2);
    assert.equal(typeof typed[0].value, 'object');
    const ports = object.map('ports');
    assert.equal(u64le(ports.lookup(u32(53))), 2n);
    assert.equal(u64le(ports.lookup(u32(80))), 1n);
  });

  test(`[${engine}] lpm routes by longest prefix`, () => {
      useEngine(engine);
    const { object } = loadExample('lpm.o');
    const routes = object.map('routes');
    const route = (len: number, a: number[], value: number) => routes.update(Uint8Array.from([...u32(len), ...a]), u32(value));
    route(8, [10, 0, 0, 0], 1);
    route(32, [10, 0, 0, 2], 3);
    route(24, [192, 168, 2, 0], 1);
    const program = object.program('xdp');
    assert.equal(program.testRun({ data: packet('udp_dns_empty') }).returnValue, 3n, '10.0.0.2 matches the /32');
    assert.equal(program.testRun({ data: packet('udp_other') }).returnValue, 1n, '10.9.9.9 matches the /8');
    assert.equal(program.testRun({ data: packet('tcp_syn') }).returnValue, 2n, '192.168.1.1 matches nothing');
    assert.equal(program.testRun({ data: packet('arp') }).returnValue, 2n);
    const stats = object.map('route_stats');
    assert.deepEqual([u64le(stats.lookup(u32(0))), u64le(stats.lookup(u32(1)))], [2n, 1n]);
  });

  test(`[${engine}] queue_stack pushes, pops and peeks in FIFO and LIFO order`, () => {
      useEngine(engine);
    const { object } = loadExample('queue_stack.o');
    const program = object.program('xdp');
    const seen = () => [0, 1, 2, 3].map((k) => u64le(object.map('seen').lookup(u32(k))));
    assert.equal(program.testRun({ data: packet('udp_dns_empty') }).returnValue, 2n);
    assert.deepEqual(seen(), [42n, 43n, 43n, 42n]);
    assert.equal(program.testRun({ data: packet('udp_dns_empty') }).returnValue, 2n);
    assert.deepEqual(seen(), [43n, 43n, 42n, 42n]);
    const fifo = object.map('fifo');
    assert.deepEqual([fifo.lookupAndDelete(new Uint8Array(0)), fifo.lookupAndDelete(new Uint8Array(0))].map((v) => new DataView(v.buffer, v.byteOffset).getUint32(0, true)), [42, 43]);
  });

  test(`[${engine}] ringbuf sends records to a ring buffer and a perf event array`, () => {
      useEngine(engine);
    const { object } = loadExample('ringbuf.o');
    assert.equal(object.program('xdp').testRun({ data: packet('udp_dns_empty') }).returnValue, 2n);
    const ring = object.map('events');
    assert.ok(ring instanceof RingBufMap);
    const records: string[] = [];
    ring.consume((r) => records.push(hex(r)));
    assert.deepEqual(records, ['2a000000110000000a0000010a000002', hex(packet('udp_dns_empty').subarray(0, 14))]);
    const perf = object.map('perf_events');
    assert.ok(perf instanceof PerfEventArrayMap);
    const samples: [number, string][] = [];
    perf.consume((cpu, r) => samples.push([cpu, hex(r)]));
    assert.deepEqual(samples, [[0, '2a000000110000000a0000010a000002']]);
    object.program('xdp').testRun({ data: packet('arp') });
    assert.equal(ring.consume(() => undefined), 0, 'ARP sends nothing');
  });

  test(`[${engine}] tail_call jumps to the program in the prog array slot, and falls back when it is empty`, () => {
      useEngine(engine);
    const cases: [string, bigint, number[]][] = [
      ['udp_dns_empty', 1n, [1, 0, 0]],
      ['tcp_syn', 3n, [0, 1, 0]],
      ['udp_other', 2n, [0, 0, 1]],
      ['arp', 2n, [0, 0, 1]],
    ];
    for (const [name, ret, hits] of cases) {
      const { object } = loadExample('tail_call.o');
      assert.equal(object.program('dispatch').testRun({ data: packet(name) }).returnValue, ret, name);
      assert.deepEqual([0, 1, 2].map((k) => Number(u64le(object.map('hits').lookup(u32(k))))), hits, name);
    }
  });

  test(`[${engine}] map_in_map reaches inner maps through array and hash of maps`, () => {
      useEngine(engine);
    const { object } = loadExample('map_in_map.o');
    for (const name of ['udp_dns_empty', 'tcp_syn', 'arp', 'runt']) assert.equal(object.program('xdp').testRun({ data: packet(name) }).returnValue, 2n, name);
    assert.equal(u64le(object.map('udp_count').lookup(u32(0))), 1n);
    assert.equal(u64le(object.map('other_count').lookup(u32(0))), 1n);
    const sources = object.map('sources_a');
    assert.equal(u64le(sources.lookup(ip(10, 0, 0, 1))), 1n);
    assert.equal(u64le(sources.lookup(ip(192, 168, 1, 10))), 1n);
  });

  test(`[${engine}] global_data reads .rodata, and updates .data and .bss`, () => {
      useEngine(engine);
    const cases: [string, bigint, [number, number, number], number][] = [
      ['udp_dns_empty', 2n, [1, 42, 1], 53],
      ['udp_other', 1n, [1, 46, 0], 9999],
      ['tcp_syn', 2n, [1, 54, 0], 0xffff],
    ];
    for (const [name, ret, bss, lastPort] of cases) {
      const { object } = loadExample('global_data.o');
      assert.equal(object.program('xdp').testRun({ data: packet(name) }).returnValue, ret, name);
      const b = object.map('.bss').lookup(u32(0)) as Uint8Array;
      assert.deepEqual([u64le(b, 0), u64le(b, 8), u64le(b, 16)].map(Number), bss, `${name} .bss`);
      const d = object.map('.data').lookup(u32(0)) as Uint8Array;
      assert.equal(new DataView(d.buffer, d.byteOffset).getUint16(2, true), lastPort, `${name} .data last_port`);
      assert.equal(new DataView(d.buffer, d.byteOffset).getUint16(0, true), 9999, `${name} .data blocked_port`);
    }
    const { object } = loadExample('global_data.o');
    assert.throws(() => object.map('.rodata').update(u32(0), new Uint8Array(3)), /EPERM|frozen|read-only/i);
  });

  test(`[${engine}] subprog calls functions in .text (bpf-to-bpf calls)`, () => {
      useEngine(engine);
    const cases: [string, bigint, number][] = [['udp_dns_empty', 3n, 3], ['udp_other', 1n, 1], ['tcp_syn', 2n, 2]];
    for (const [name, ret, slot] of cases) {
      const { object } = loadExample('subprog.o');
      assert.equal(object.program('xdp').testRun({ data: packet(name) }).returnValue, ret, name);
      assert.equal(u64le(object.map('verdicts').lookup(u32(slot))), 1n, name);
    }
  });

  test(`[${engine}] bounded_loop runs a bounded for-loop and bpf_loop with a callback`, () => {
      useEngine(engine);
    const cases: [string, [number, number, number]][] = [
      ['udp_dns_empty', [0xc723, 285, 10]],
      ['udp_dns_payload', [0x0259, 819, 14]],
      ['udp_other', [0xdb7e, 819, 14]],
      ['tcp_syn', [0x7b10, 55, 6]],
      ['arp', [0xa257, 285, 10]],
      ['runt', [0xb27d, 14, 4]],
    ];
    for (const [name, results] of cases) {
      const { object } = loadExample('bounded_loop.o');
      assert.equal(object.program('xdp').testRun({ data: packet(name) }).returnValue, 2n, name);
      assert.deepEqual([0, 1, 2].map((k) => Number(u64le(object.map('loop_results').lookup(u32(k))))), results, name);
    }
  });

  test(`[${engine}] legacy_maps reads Linux struct bpf_map_def maps`, () => {
      useEngine(engine);
    const cases: [string, number[], [number, number][]][] = [
      ['udp_dns_empty', [1, 0, 0], [[53, 1]]],
      ['tcp_syn', [0, 1, 0], [[80, 1]]],
      ['arp', [0, 0, 1], []],
    ];
    for (const [name, protos, ports] of cases) {
      const { object } = loadExample('legacy_maps.o');
      assert.equal(object.spec.maps.every((m) => m.origin === 'legacy'), true);
      assert.equal(object.program('xdp').testRun({ data: packet(name) }).returnValue, 2n, name);
      assert.deepEqual([0, 1, 2].map((k) => Number(u64le(object.map('proto_count').lookup(u32(k))))), protos, name);
      const portCount = object.map('port_count');
      assert.deepEqual([...portCount.entries()].map(([k, v]) => [new DataView(k.buffer, k.byteOffset).getUint32(0, true), Number(u64le(v))]), ports, name);
    }
  });

  test(`[${engine}] helpers: time, randomness, checksums, strings, printk, spin locks, adjust_head, for_each`, () => {
      useEngine(engine);
    let n = 0;
    const { object, context } = loadExample('helpers.o', { random: () => 0x1234 + n++ });
    assert.equal(object.program('xdp').testRun({ data: packet('udp_dns_empty') }).returnValue, 2n);
    const results = Array.from({ length: 10 }, (_, k) => u64le(object.map('helper_results').lookup(u32(k))));
    assert.equal(results[0], 1n, 'ktime moved forward');
    assert.equal(results[1], 0n, 'cpu 0');
    assert.equal(results[2], 0x1234n, 'bpf_get_prandom_u32 comes from the context source');
    assert.deepEqual(results.slice(3), [0x0314n, 0n, 6n, 0x32342e3335n, 1n, 4n, 1n]);
    const locked = object.map('locked').lookup(u32(0)) as Uint8Array;
    assert.equal(u64le(locked, 8), 1n);
    assert.ok(context.trace.length > 0, 'bpf_printk wrote a trace line');
  });

  test(`[${engine}] bind_efw denies TCP binds to port 80 with the ebpf-for-windows bind context`, () => {
      useEngine(engine);
    const bindContext = (port: number, operation: number): Uint8Array => {
      const ctx = new Uint8Array(56);
      const view = new DataView(ctx.buffer);
      view.setBigUint64(16, 4242n, true);
      ctx.set([2, 0, port >> 8, port & 0xff], 24);
      view.setUint32(40, 16, true);
      view.setUint32(44, operation, true);
      ctx[48] = 6;
      return ctx;
    };
    const { object } = loadExample('bind_efw.o');
    assert.equal(object.spec.abi, 'efw');
    const program = object.program('bind');
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, 4242n, true);
    assert.equal(program.testRun({ ctx: bindContext(8080, 0) }).returnValue, 0n);
    assert.equal(u64le(object.map('denied').lookup(u32(0))), 0n);
    assert.equal(program.testRun({ ctx: bindContext(80, 0) }).returnValue, 1n);
    assert.equal(u64le(object.map('denied').lookup(u32(0))), 1n);
    assert.equal(program.testRun({ ctx: bindContext(80, 2) }).returnValue, 0n, 'unbind is allowed');
    assert.equal(u64le(object.map('binds_per_process').lookup(key)), 2n);
  });

  test(`[${engine}] connect_efw applies a DNS policy and logs decisions to a BTF-defined ring buffer with EfW type numbers`, () => {
      useEngine(engine);
    const sockAddr = (address: number[], port: number, protocol: number): Uint8Array => {
      const ctx = new Uint8Array(64);
      new DataView(ctx.buffer).setUint32(0, 2, true);
      ctx.set(address, 24);
      ctx.set([port >> 8, port & 0xff], 40);
      new DataView(ctx.buffer).setUint32(44, protocol, true);
      return ctx;
    };
    const { object } = loadExample('connect_efw.o');
    assert.equal(object.spec.abi, 'efw');
    assert.equal(object.spec.maps.find((m) => m.name === 'connect_log')?.type, 27, 'EfW RINGBUF 13 is Linux 27');
    const program = object.program('cgroup/connect4');
    assert.equal(program.testRun({ ctx: sockAddr([8, 8, 8, 8], 53, 17) }).returnValue, 0n);
    assert.equal(program.testRun({ ctx: sockAddr([1, 1, 1, 1], 53, 17) }).returnValue, 1n);
    assert.equal(program.testRun({ ctx: sockAddr([8, 8, 8, 8], 443, 6) }).returnValue, 1n);
    const records: string[] = [];
    (object.map('connect_log') as RingBufMap).consume((r) => records.push(hex(r)));
    assert.deepEqual(records, ['0808080800351100', '0101010100351101', '0808080801bb0601']);
    assert.deepEqual([0, 1, 2].map((k) => Number(u64le(object.map('verdicts').lookup(u32(k))))), [1, 2, 0]);
  });
}
