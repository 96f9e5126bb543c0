// ebpf-for-windows' own sample programs of the socket hooks (../shared/efw-samples/), run by the
// hooks a Node application's sockets drive (bind.ts, sock-addr.ts, sockops.ts) on the inputs
// that project's tests give them, with the results their sources and tests say:
// - utility.c and strings.c return 0 when every memory and string helper behaves;
// - bindmonitor.c permits a process `limit` binds and denies the next, counts unbinds down and
//   forgets the process at zero, and records the app id and an audit entry;
// - cgroup_sock_addr.c answers a connect with the verdict its policy map holds for the
//   destination tuple (proceed when none), and records the socket's cookie;
// - cgroup_sock_addr2.c redirects a connect its policy map names (rewriting the destination)
//   and rejects the rest;
// - sockops.c streams an audit record through its ring buffer for each event of a connection in
//   its connection map, and nothing for others;
// - sockops_flow_id.c records each connection's flow id (bpf_sock_ops_get_flow_id) by tuple and
//   in its ring buffer, the IPv6 ones too;
// - cgroup_count_connect4.c rejects TCP connects to port 8989 and counts them;
// - pidtgid.c records the process id of a bind to port 48955 and the pid/tgid that ran it;
// - tail_call_max_exceed.c chains 35 programs through a prog array its object initialises: the
//   invocation makes 33 tail calls (MAX_TAIL_CALL_CNT), the 34th answers -EBPF_NO_MORE_TAIL_CALLS
//   and the bind is denied (the permitting last program is never reached);
// - bindmonitor_tailcall.c reaches bindmonitor's logic through two tail calls (slots set from user
//   space, as that project's test does) and denies when a slot is empty;
// - bindmonitor_mt_tailcall.c permits after MAX_TAIL_CALL_CNT tail calls, and denies when one of
//   the 33 slots is empty;
// - callgraph_bpf2bpf.c and bindmonitor_bpf2bpf.c answer through chains of bpf-to-bpf calls
//   (stack cookies preserved, a pointer into the context passed down).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject } from '../../src/elf/index.js';
import { RingBufMap } from '../../src/maps/index.js';
import { BindHook, SockAddrHook, SockOpsHook, type SockOpsFlow } from '../../src/program-types/index.js';
import { ExecutionContext } from '../../src/runtime/context.js';
import { loadObject, type LoadedObject } from '../../src/runtime/load.js';
import { missingShared, SHARED } from '../support/shared.js';

const DIR = join(SHARED, 'efw-samples', 'objects');
const skip = missingShared(DIR);

function load(name: string, engine: 'jit' | 'interpreter'): LoadedObject {
  return loadTraced(name, engine).object;
}

/** The whole object (every program, prog-array slots its object names filled) and its bpf_printk lines. */
function loadTraced(name: string, engine: 'jit' | 'interpreter'): { object: LoadedObject; printk: () => string[] } {
  const context = new ExecutionContext({ memory: { initialPages: 4 } });
  const object = loadObject(openObject(new Uint8Array(readFileSync(join(DIR, name))), { path: name }), context, { engine });
  return { object, printk: () => context.trace.map((t) => t.text) };
}

/** Puts program `name` of the object in `slot` of its prog array `map`, as user space does. */
function setSlot(object: LoadedObject, map: string, slot: number, name: string): void {
  object.map(map).update(le(4, slot), le(4, object.program(name).id));
}

const le = (bytes: number, value: bigint | number): Uint8Array => {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  if (bytes === 8) view.setBigUint64(0, BigInt(value), true);
  else if (bytes === 4) view.setUint32(0, Number(value), true);
  else throw new Error(`no ${bytes}-byte integers here`);
  return out;
};
const ipv4 = (text: string): number[] => text.split('.').map(Number);
const utf16 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf16le'));

/**
 * connection_tuple_t of its socket tests (56 bytes): src_ip (16) at 0, src_port (u16, network
 * order) at 16, dst_ip (16) at 20, dst_port at 36, protocol (u32) at 40, interface_luid at 48.
 */
function tuple(t: { src?: [string, number]; dst: [string, number]; protocol: number }): Uint8Array {
  const out = new Uint8Array(56);
  const view = new DataView(out.buffer);
  if (t.src !== undefined) {
    out.set(ipv4(t.src[0]), 0);
    view.setUint16(16, t.src[1], false);
  }
  out.set(ipv4(t.dst[0]), 20);
  view.setUint16(36, t.dst[1], false);
  view.setUint32(40, t.protocol, true);
  return out;
}

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] utility.c and strings.c: every memory and string helper check passes (0)`, { skip }, () => {
    for (const [file, program] of [['utility.o', 'UtilityTest'], ['strings.o', 'StringOpsTest']]) {
      const hook = new BindHook(load(file, engine).program(program));
      const r = hook.run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 80 }, pid: 1 });
      assert.equal(r.returnValue, 0n, `${file}: check ${r.returnValue} failed (${r.verdict})`);
    }
  });

  test(`[${engine}] bindmonitor.c: a process gets its limit of binds and no more; unbinds count down; at zero it is forgotten`, { skip }, () => {
    const object = load('bindmonitor.o', engine);
    const hook = new BindHook(object.program('BindMonitor'));
    const appId = utf16('C:\\apps\\server.exe');
    const bind = (operation: 'bind' | 'unbind'): string => hook.run({ operation, protocol: 'tcp', address: { address: '0.0.0.0', port: 8080 }, pid: 4242, appId }).verdict;
    // No limit set: every bind is permitted and nothing is counted.
    assert.equal(bind('bind'), 'BIND_PERMIT_SOFT');
    assert.equal(object.map('process_map').lookup(le(8, 4242)), undefined);
    object.map('limits_map').update(le(4, 0), le(4, 2));
    assert.deepEqual([bind('bind'), bind('bind'), bind('bind')], ['BIND_PERMIT_SOFT', 'BIND_PERMIT_SOFT', 'BIND_DENY']);
    const entry = object.map('process_map').lookup(le(8, 4242));
    assert.ok(entry !== undefined);
    const view = new DataView(entry.buffer, entry.byteOffset);
    assert.equal(view.getUint32(0, true), 2, 'the count stays at the limit');
    assert.deepEqual(entry.subarray(4, 4 + appId.length), appId, 'the app id is recorded');
    assert.equal(bind('unbind'), 'BIND_PERMIT_SOFT');
    assert.equal(new DataView(object.map('process_map').lookup(le(8, 4242))!.buffer).getUint32(0, true), 1);
    bind('unbind');
    assert.equal(object.map('process_map').lookup(le(8, 4242)), undefined, 'forgotten at zero');
    // The audit entry of the process (bpf_get_current_pid_tgid: the socket's owner, this process here).
    const pid = BigInt(process.pid);
    const audit = object.map('audit_map').lookup(le(8, (pid << 32n) | pid));
    assert.ok(audit !== undefined, 'an audit entry for the owning process');
    assert.equal(new DataView(audit.buffer, audit.byteOffset).getUint32(8, true), process.getuid?.() === 0 ? 1 : 0, 'is_admin: whether it runs as root');
  });

  test(`[${engine}] cgroup_sock_addr.c: a connect gets the verdict the policy map holds for its tuple (proceed without one), and its cookie is recorded`, { skip }, () => {
    const object = load('cgroup_sock_addr.o', engine);
    const hook = new SockAddrHook(object.program('authorize_connect4'));
    const key = tuple({ dst: ['10.0.0.1', 80], protocol: 6 });
    const connect = (): string => hook.run({ family: 4, protocol: 'tcp', address: { address: '10.0.0.1', port: 80 }, cookie: 0x1234n }).verdict;
    assert.equal(connect(), 'BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT');
    object.map('egress_connection_policy_map').update(key, le(4, 0));
    assert.equal(connect(), 'BPF_SOCK_ADDR_VERDICT_REJECT');
    object.map('egress_connection_policy_map').update(key, le(4, 1));
    assert.equal(connect(), 'BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT');
    assert.equal(new DataView(object.map('socket_cookie_map').lookup(key)!.buffer).getBigUint64(0, true), 0x1234n);
    // Another port, protocol or address is not the tuple.
    assert.equal(hook.run({ family: 4, protocol: 'udp', address: { address: '10.0.0.1', port: 80 } }).proceed, true);
  });

  test(`[${engine}] cgroup_sock_addr2.c: a connect its policy names is redirected (the rewrite is honoured); the rest are rejected`, { skip }, () => {
    const object = load('cgroup_sock_addr2.o', engine);
    const hook = new SockAddrHook(object.program('connect_redirect4'));
    // policy_map: key {ip (16), port (u16) at 16, protocol (u32) at 20}; value {ip, port at 16, verdict (u32) at 24}.
    const key = new Uint8Array(24);
    key.set(ipv4('1.1.1.2'), 0);
    new DataView(key.buffer).setUint16(16, 80, false);
    new DataView(key.buffer).setUint32(20, 6, true);
    const value = new Uint8Array(28);
    value.set(ipv4('25.1.1.200'), 0);
    new DataView(value.buffer).setUint16(16, 8080, false);
    new DataView(value.buffer).setUint32(24, 1, true);
    object.map('policy_map').update(key, value);
    const hit = hook.run({ family: 4, protocol: 'tcp', address: { address: '1.1.1.2', port: 80 } });
    assert.deepEqual({ proceed: hit.proceed, rewritten: hit.rewritten, address: hit.address }, { proceed: true, rewritten: true, address: { address: '25.1.1.200', port: 8080 } });
    const miss = hook.run({ family: 4, protocol: 'tcp', address: { address: '1.1.1.3', port: 80 } });
    assert.deepEqual({ proceed: miss.proceed, verdict: miss.verdict }, { proceed: false, verdict: 'BPF_SOCK_ADDR_VERDICT_REJECT' });
  });

  test(`[${engine}] sockops.c: each event of a monitored connection is streamed through the ring buffer; others are not`, { skip }, () => {
    const object = load('sockops.o', engine);
    const hook = new SockOpsHook(object.program('connection_monitor'));
    const flow = (event: SockOpsFlow['event'], remote: number): SockOpsFlow => ({ event, family: 4, protocol: 'tcp', local: { address: '127.0.0.1', port: 40000 }, remote: { address: '127.0.0.1', port: remote } });
    // Monitored: the outbound tuple (local -> remote) of connections to port 5000.
    object.map('connection_map').update(tuple({ src: ['127.0.0.1', 40000], dst: ['127.0.0.1', 5000], protocol: 6 }), le(4, 1));
    // This build answers bpf_ringbuf_output's result for a monitored connection, -1 for others.
    assert.equal(hook.run(flow('active_established', 5000)).returnValue, 0n);
    assert.equal(BigInt.asIntN(32, hook.run(flow('active_established', 6000)).returnValue), -1n);
    const records: Uint8Array[] = [];
    (object.map('audit_map') as RingBufMap).consume((r) => records.push(r.slice()));
    assert.equal(records.length, 1, 'one record: the monitored connection');
    // audit_entry_t of this build (72 bytes): the tuple, the process id (u64) at 56, flags at 64.
    const record = records[0];
    assert.equal(record.length, 72);
    assert.deepEqual(record.subarray(0, 56), tuple({ src: ['127.0.0.1', 40000], dst: ['127.0.0.1', 5000], protocol: 6 }));
    assert.equal(new DataView(record.buffer, record.byteOffset).getBigUint64(56, true), BigInt(process.pid), 'the process id');
    assert.equal(record[64], 3, 'outbound (1) and connected (2)');
  });

  test(`[${engine}] sockops_flow_id.c: each event's flow id (the connection's socket cookie here) goes to its map and ring buffer, IPv4 and IPv6`, { skip }, () => {
    const object = load('sockops_flow_id.o', engine);
    const hook = new SockOpsHook(object.program('flow_id_monitor'));
    assert.equal(hook.run({ event: 'active_established', family: 4, protocol: 'tcp', local: { address: '127.0.0.1', port: 40000 }, remote: { address: '127.0.0.1', port: 5000 }, cookie: 41n }).returnValue, 0n);
    assert.equal(hook.run({ event: 'passive_established', family: 6, protocol: 'tcp', local: { address: '::1', port: 5000 }, remote: { address: '::1', port: 40001 }, cookie: 42n }).returnValue, 0n);
    const key = new Uint8Array(56);
    key.set(ipv4('127.0.0.1'), 0);
    new DataView(key.buffer).setUint16(16, 40000, false);
    key.set(ipv4('127.0.0.1'), 20);
    new DataView(key.buffer).setUint16(36, 5000, false);
    new DataView(key.buffer).setUint32(40, 6, true);
    assert.equal(new DataView(object.map('flow_id_map').lookup(key)!.buffer).getBigUint64(0, true), 41n);
    const records: Uint8Array[] = [];
    (object.map('flow_id_audit_map') as RingBufMap).consume((r) => records.push(r.slice()));
    // flow_id_audit_entry_t: the tuple, then flow_id (u64) at 56, process_id (u64) at 64, operation (u32) at 72.
    assert.deepEqual(records.map((r) => { const v = new DataView(r.buffer, r.byteOffset); return [v.getBigUint64(56, true), v.getBigUint64(64, true), v.getUint32(72, true)]; }), [[41n, BigInt(process.pid), 0], [42n, BigInt(process.pid), 1]]);
  });

  test(`[${engine}] cgroup_count_connect4.c: TCP connects to port 8989 are counted and rejected; others proceed`, { skip }, () => {
    const object = load('cgroup_count_connect4.o', engine);
    const hook = new SockAddrHook(object.program('count_tcp_connect4'));
    const connect = (port: number, protocol: 'tcp' | 'udp' = 'tcp'): boolean => hook.run({ family: 4, protocol, address: { address: '127.0.0.1', port } }).proceed;
    assert.deepEqual([connect(8989), connect(8989), connect(8080), connect(8989, 'udp')], [false, false, true, true]);
    const key = new Uint8Array(2);
    new DataView(key.buffer).setUint16(0, 8989, true); // the port in host order
    assert.equal(new DataView(object.map('connect4_count_map').lookup(key)!.buffer).getBigUint64(0, true), 2n);
  });

  test(`[${engine}] pidtgid.c: a bind to port 48955 records the process id the hook gives and the pid/tgid that ran it`, { skip }, () => {
    const object = load('pidtgid.o', engine);
    const hook = new BindHook(object.program('func'));
    assert.equal(hook.run({ operation: 'bind', protocol: 'udp', address: { address: '0.0.0.0', port: 48955 }, pid: 4242 }).returnValue, 0n);
    const value = object.map('pidtgid_map').lookup(le(4, 0))!;
    const v = new DataView(value.buffer, value.byteOffset);
    // {process_id from the context, then bpf_get_current_pid_tgid's two halves}
    assert.deepEqual([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)], [4242, process.pid, process.pid]);
  });
  test(`[${engine}] tail_call_max_exceed.c: 33 tail calls run, the 34th answers -EBPF_NO_MORE_TAIL_CALLS, and the bind is denied`, { skip }, () => {
    const { object, printk } = loadTraced('tail_call_max_exceed.o', engine);
    const hook = new BindHook(object.program('bind_test_caller'));
    assert.equal(hook.run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 30000 }, pid: 1 }).verdict, 'BIND_DENY');
    const lines = printk();
    assert.equal(lines[0], 'bind_test_caller: Start tail caller.');
    // The caller's tail call to callee0, then callee0..callee31 each tail-call the next: 33 in all.
    assert.equal(lines.filter((l) => l.startsWith('Calling tail call index')).length, 33);
    assert.deepEqual(lines.slice(-2), ['Calling tail call index [x = 32], [x+1 = 33]', 'Tail call failed at index 33']);
    assert.ok(!lines.some((l) => l.startsWith('Last tail call index')), 'bind_test_callee34, which permits, never runs');
  });

  test(`[${engine}] bindmonitor_tailcall.c: two tail calls reach bindmonitor's limit logic; an empty slot or a populated dummy_map denies`, { skip }, () => {
    const object = load('bindmonitor_tailcall.o', engine);
    const hook = new BindHook(object.program('BindMonitor'));
    const bind = (): string => hook.run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 8080 }, pid: 4242, appId: utf16('app.exe') }).verdict;
    assert.equal(bind(), 'BIND_DENY', 'no program in slot 0: the caller falls through to its deny');
    setSlot(object, 'prog_array_map', 0, 'BindMonitor_Callee0');
    assert.equal(bind(), 'BIND_DENY', 'slot 1 is still empty');
    setSlot(object, 'prog_array_map', 1, 'BindMonitor_Callee1');
    assert.equal(bind(), 'BIND_PERMIT_SOFT', 'no limit set: permitted');
    object.map('limits_map').update(le(4, 0), le(4, 1));
    assert.deepEqual([bind(), bind()], ['BIND_PERMIT_SOFT', 'BIND_DENY']);
    assert.equal(new DataView(object.map('process_map').lookup(le(8, 4242))!.buffer).getUint32(0, true), 1);
    // A dummy_map entry stops the first tail call: the caller denies.
    object.map('limits_map').update(le(4, 0), le(4, 0));
    object.map('dummy_map').update(le(4, 0), le(4, 0));
    assert.equal(bind(), 'BIND_DENY');
  });

  test(`[${engine}] bindmonitor_mt_tailcall.c: with its 33 slots set, MAX_TAIL_CALL_CNT tail calls reach the permitting program; one empty slot denies`, { skip }, () => {
    const { object, printk } = loadTraced('bindmonitor_mt_tailcall.o', engine);
    for (let i = 0; i <= 32; i++) setSlot(object, 'bind_tail_call_map', i, `BindMonitor_Callee${i}`);
    const hook = new BindHook(object.program('BindMonitor_Caller'));
    const bind = (): string => hook.run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 8080 }, pid: 1 }).verdict;
    assert.equal(bind(), 'BIND_PERMIT_SOFT');
    assert.equal(printk().at(-1), 'Tail call index 32');
    object.map('bind_tail_call_map').delete(le(4, 17));
    assert.equal(bind(), 'BIND_DENY');
    assert.equal(printk().at(-1), 'Tail call failed at index 17');
  });

  test(`[${engine}] callgraph_bpf2bpf.c: answers through its call graphs (S1->S2->S3, S4, update_map) by process id`, { skip }, () => {
    const object = load('callgraph_bpf2bpf.o', engine);
    const run = (program: string, pid: number): string => new BindHook(object.program(program)).run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 80 }, pid }).verdict;
    // S3 answers BIND_REDIRECT for a non-zero process id, BIND_PERMIT_SOFT for 0.
    assert.deepEqual([run('entry_program1', 7), run('entry_program1', 0)], ['BIND_REDIRECT', 'BIND_DENY']);
    assert.deepEqual([run('entry_program2', 7), run('entry_program2', 0)], ['BIND_PERMIT_SOFT', 'BIND_DENY']);
    assert.deepEqual([run('entry_program3', 7), run('entry_program3', 7), run('entry_program3', 9)], ['BIND_PERMIT_SOFT', 'BIND_PERMIT_SOFT', 'BIND_PERMIT_SOFT']);
    const count = (pid: number): bigint => new DataView(object.map('bind_count_map').lookup(le(8, pid))!.buffer).getBigUint64(0, true);
    assert.deepEqual([count(7), count(9)], [2n, 1n]);
  });

  test(`[${engine}] bindmonitor_bpf2bpf.c: seven nested calls with stack cookies: process id 0 denies, 1 redirects, others permit`, { skip }, () => {
    const object = load('bindmonitor_bpf2bpf.o', engine);
    const hook = new BindHook(object.program('BindMonitor_Caller'));
    const run = (pid: number): string => hook.run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 80 }, pid }).verdict;
    assert.deepEqual([run(0), run(1), run(2)], ['BIND_DENY', 'BIND_REDIRECT', 'BIND_PERMIT_SOFT']);
  });
}
