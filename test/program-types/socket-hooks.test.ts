// The socket hooks as an application's hook host runs them: an event (a connect, a bind, a
// connection established or closed) becomes the context of its ABI, the program runs, and its
// return value and what it wrote (a rewritten destination) become the hook's decision. The
// programs are the examples' C programs (Linux and ebpf-for-windows flavours), whose sources say
// what each input gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BindHook, bindProgramType, SockAddrHook, SockOpsHook, addressText } from '../../src/program-types/index.js';
import { RingBufMap } from '../../src/maps/index.js';
import { LinearMemory } from '../../src/vm/memory.js';
import { loadExample, u32, u64le } from '../support/objects.js';

const counts = (object: ReturnType<typeof loadExample>['object'], map: string, n: number): number[] =>
  Array.from({ length: n }, (_, k) => Number(u64le(object.map(map).lookup(u32(k)))));

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] a Linux connect4 program rejects, redirects (its rewrite is honoured) and lets through`, () => {
    const { object } = loadExample('connect4_policy.o', { engine });
    const hook = new SockAddrHook(object.program('connect4_policy'));
    const smtp = hook.run({ family: 4, protocol: 'tcp', address: { address: '203.0.113.5', port: 25 } });
    assert.deepEqual({ proceed: smtp.proceed, verdict: smtp.verdict, rewritten: smtp.rewritten }, { proceed: false, verdict: 'REJECT', rewritten: false });
    const web = hook.run({ family: 4, protocol: 'tcp', address: { address: '127.0.0.2', port: 80 } });
    assert.equal(web.proceed, true);
    assert.equal(web.rewritten, true);
    assert.deepEqual(web.address, { address: '127.0.0.1', port: 8080 });
    const udp = hook.run({ family: 4, protocol: 'udp', address: { address: '127.0.0.2', port: 80 } });
    assert.deepEqual({ proceed: udp.proceed, rewritten: udp.rewritten, address: udp.address }, { proceed: true, rewritten: false, address: { address: '127.0.0.2', port: 80 } });
    const tls = hook.run({ family: 4, protocol: 'tcp', address: { address: '198.51.100.7', port: 443 } });
    assert.equal(tls.proceed, true);
    assert.deepEqual(counts(object, 'decisions', 3), [1, 2, 1]);
  });

  test(`[${engine}] an ebpf-for-windows connect4 program sees its bpf_sock_addr_t and its verdicts are read as that ABI's`, () => {
    const { object } = loadExample('connect_efw.o', { engine });
    const hook = new SockAddrHook(object.program('cgroup/connect4'));
    const blocked = hook.run({ family: 4, protocol: 'udp', address: { address: '8.8.8.8', port: 53 } });
    assert.deepEqual({ proceed: blocked.proceed, verdict: blocked.verdict }, { proceed: false, verdict: 'BPF_SOCK_ADDR_VERDICT_REJECT' });
    const allowed = hook.run({ family: 4, protocol: 'udp', address: { address: '1.1.1.1', port: 53 } });
    assert.deepEqual({ proceed: allowed.proceed, verdict: allowed.verdict }, { proceed: true, verdict: 'BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT' });
    assert.equal(hook.run({ family: 4, protocol: 'tcp', address: { address: '8.8.8.8', port: 443 } }).proceed, true);
    const records: string[] = [];
    (object.map('connect_log') as RingBufMap).consume((r) => records.push(Buffer.from(r).toString('hex')));
    assert.deepEqual(records, ['0808080800351100', '0101010100351101', '0808080801bb0601']);
  });

  test(`[${engine}] the bind hook denies TCP binds to port 80, permits others and every unbind, counting per process`, () => {
    const { object } = loadExample('bind_efw.o', { engine });
    const hook = new BindHook(object.program('bind'));
    const bind = (port: number, operation: 'bind' | 'unbind' = 'bind', protocol: 'tcp' | 'udp' = 'tcp') =>
      hook.run({ operation, protocol, address: { address: '0.0.0.0', port }, pid: 4242 });
    assert.deepEqual(bind(8080), { permit: true, returnValue: 0n, verdict: 'BIND_PERMIT_SOFT' });
    assert.deepEqual(bind(80), { permit: false, returnValue: 1n, verdict: 'BIND_DENY' });
    assert.equal(bind(80, 'bind', 'udp').permit, true, 'UDP port 80 is not denied');
    assert.equal(bind(80, 'unbind').permit, true);
    const pid = new Uint8Array(8);
    new DataView(pid.buffer).setBigUint64(0, 4242n, true);
    assert.equal(u64le(object.map('binds_per_process').lookup(pid)), 3n, 'three binds (the unbind is not counted)');
    assert.deepEqual(counts(object, 'denied', 1), [1]);
  });

  test(`[${engine}] the sockops hook reports established and closed connections with their flow tuple`, () => {
    const { object } = loadExample('sockops_monitor.o', { engine });
    const hook = new SockOpsHook(object.program('sockops_monitor'));
    const flow = { family: 4 as const, protocol: 'tcp' as const, local: { address: '127.0.0.1', port: 40000 }, remote: { address: '10.1.2.3', port: 8080 } };
    for (const event of ['active_established', 'passive_established', 'closed'] as const) assert.equal(hook.run({ ...flow, event, cookie: 77n }).returnValue, 1n);
    const records: number[][] = [];
    (object.map('connection_events') as RingBufMap).consume((r) => {
      const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
      records.push([v.getUint32(0, true), v.getUint32(12, true), v.getUint32(16, true)]);
      assert.equal(v.getBigUint64(24, true), 77n, 'the socket cookie the hook gave (bpf_get_socket_cookie)');
      assert.equal(addressText(r.subarray(4, 8)), '127.0.0.1');
      assert.equal(addressText(r.subarray(8, 12)), '10.1.2.3');
    });
    assert.deepEqual(records, [[4, 40000, 8080], [5, 40000, 8080], [10, 40000, 8080]]);
    assert.deepEqual(counts(object, 'event_counts', 3), [1, 1, 1]);
  });
}

test('connect_blocklist rejects an address and port, or a whole address, that its hash map names', () => {
  const { object } = loadExample('connect_blocklist.o');
  const hook = new SockAddrHook(object.program('connect_blocklist'));
  const key = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
  const blocked = object.map('blocked');
  blocked.update(key('7f00000109dd0000'), new Uint8Array(8));
  blocked.update(key('0a09090900000000'), new Uint8Array(8));
  const to = (address: string, port: number): boolean => hook.run({ family: 4, protocol: 'tcp', address: { address, port } }).proceed;
  assert.equal(to('127.0.0.1', 2525), false);
  assert.equal(to('10.9.9.9', 443), false);
  assert.equal(to('127.0.0.1', 8080), true);
  assert.equal(u64le(blocked.lookup(key('7f00000109dd0000'))), 1n);
  assert.equal(u64le(blocked.lookup(key('0a09090900000000'))), 1n);
});

test('an ebpf-for-windows recv_accept4 program reads the peer from msg_src and this end from user', () => {
  const { object } = loadExample('accept_efw.o');
  const hook = new SockAddrHook(object.program('accept_policy'));
  const local = { address: '127.0.0.1', port: 8080 };
  const r = hook.run({ family: 4, protocol: 'tcp', address: local, source: { address: '127.0.0.3', port: 40000 } });
  assert.deepEqual({ proceed: r.proceed, verdict: r.verdict }, { proceed: false, verdict: 'BPF_SOCK_ADDR_VERDICT_REJECT' });
  assert.equal(hook.run({ family: 4, protocol: 'tcp', address: local, source: { address: '127.0.0.1', port: 40001 } }).proceed, true);
  assert.deepEqual(counts(object, 'accept_verdicts', 2), [1, 1]);
});

test('IPv6 destinations reach a connect program in the IPv6 fields, and the hook refuses programs of another type', () => {
  const { object } = loadExample('connect4_policy.o');
  const hook = new SockAddrHook(object.program('connect4_policy'));
  const r = hook.run({ family: 6, protocol: 'tcp', address: { address: '2001:db8::1', port: 25 } });
  assert.equal(r.proceed, false, 'port 25 is rejected whatever the family');
  assert.deepEqual(r.address, { address: '2001:db8::1', port: 25 });
  assert.throws(() => new SockOpsHook(object.program('connect4_policy')), /is a cgroup_sock_addr program; this hook runs sock_ops programs/);
  assert.throws(() => new BindHook(object.program('connect4_policy')), /Linux binds are policed by cgroup\/bind4\|6/);
});

test('a bind test run points app_id_start/app_id_end at the app id it was given, whatever the context said', () => {
  const memory = new LinearMemory();
  const ctx = new Uint8Array(56);
  // A caller's context that claims the app id is somewhere else entirely.
  new DataView(ctx.buffer).setBigUint64(0, 0x10n, true);
  new DataView(ctx.buffer).setBigUint64(8, 0xfff0n, true);
  const appId = new TextEncoder().encode('C:\\app.exe');
  const run = bindProgramType.prepareRun({ ctx, data: appId }, memory, 'efw');
  const start = Number(memory.view.getBigUint64(run.r1, true));
  const end = Number(memory.view.getBigUint64(run.r1 + 8, true));
  assert.equal(end - start, appId.length);
  assert.deepEqual(memory.read(start, appId.length), appId);
});
