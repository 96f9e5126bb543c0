// The socket examples written for the application hooks' end-to-end tests (test/register), run on
// the hooks directly with the inputs their C sources document: an IPv6 rewrite, an IPv6 accept
// policy, Linux bind4/bind6 programs that deny and move ports, and programs that fault at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SockAddrHook, SockOpsHook } from '../../src/program-types/index.js';
import { BpfRuntimeError } from '../../src/vm/errors.js';
import { loadExample, u32, u64le } from '../support/objects.js';

const counts = (object: ReturnType<typeof loadExample>['object'], map: string, n: number): number[] =>
  Array.from({ length: n }, (_, k) => Number(u64le(object.map(map).lookup(u32(k)))));

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] connect6_redirect rewrites [2001:db8::80]:80 to [::1]:8080 (TCP and UDP), rejects UDP to port 53`, () => {
    const { object } = loadExample('connect6_redirect.o', { engine });
    const hook = new SockAddrHook(object.program('connect6_redirect'));
    for (const protocol of ['tcp', 'udp'] as const) {
      const r = hook.run({ family: 6, protocol, address: { address: '2001:db8::80', port: 80 } });
      assert.deepEqual({ proceed: r.proceed, rewritten: r.rewritten, address: r.address }, { proceed: true, rewritten: true, address: { address: '::1', port: 8080 } }, protocol);
    }
    const dns = hook.run({ family: 6, protocol: 'udp', address: { address: '::1', port: 53 } });
    assert.deepEqual({ proceed: dns.proceed, verdict: dns.verdict }, { proceed: false, verdict: 'REJECT' });
    const tcp = hook.run({ family: 6, protocol: 'tcp', address: { address: '::1', port: 53 } });
    assert.deepEqual({ proceed: tcp.proceed, rewritten: tcp.rewritten }, { proceed: true, rewritten: false });
    assert.deepEqual(counts(object, 'redirects6', 3), [1, 1, 2]);
  });

  test(`[${engine}] accept6_efw rejects IPv6 connections to local port 8081 and lets others proceed`, () => {
    const { object } = loadExample('accept6_efw.o', { engine });
    const hook = new SockAddrHook(object.program('accept6_policy'));
    const accept = (port: number) => hook.run({ family: 6, protocol: 'tcp', address: { address: '::1', port }, source: { address: '::1', port: 40000 } });
    assert.deepEqual({ proceed: accept(8081).proceed, verdict: accept(8081).verdict }, { proceed: false, verdict: 'BPF_SOCK_ADDR_VERDICT_REJECT' });
    assert.equal(accept(8080).verdict, 'BPF_SOCK_ADDR_VERDICT_PROCEED_SOFT');
    assert.deepEqual(counts(object, 'accept6_verdicts', 2), [2, 1]);
  });

  test(`[${engine}] bind_policy denies the ports 20-25 and moves port 80 to 8880, IPv4 (bind4) and IPv6 (bind6), TCP and UDP, counting each process's attempts`, () => {
    const { object } = loadExample('bind_policy.o', { engine });
    const bind4 = new SockAddrHook(object.program('bind4_policy'));
    const bind6 = new SockAddrHook(object.program('bind6_policy'));
    assert.deepEqual([19, 20, 22, 25, 26].map((port) => bind4.run({ family: 4, protocol: 'tcp', address: { address: '127.0.0.1', port } }).proceed), [true, false, false, false, true]);
    assert.equal(bind4.run({ family: 4, protocol: 'tcp', address: { address: '127.0.0.1', port: 25 } }).proceed, false);
    assert.equal(bind6.run({ family: 6, protocol: 'udp', address: { address: '::1', port: 25 } }).proceed, false);
    const moved4 = bind4.run({ family: 4, protocol: 'udp', address: { address: '127.0.0.1', port: 80 } });
    assert.deepEqual({ proceed: moved4.proceed, address: moved4.address }, { proceed: true, address: { address: '127.0.0.1', port: 8880 } });
    const moved6 = bind6.run({ family: 6, protocol: 'tcp', address: { address: '::1', port: 80 } });
    assert.deepEqual({ proceed: moved6.proceed, address: moved6.address }, { proceed: true, address: { address: '::1', port: 8880 } });
    const other = bind4.run({ family: 4, protocol: 'tcp', address: { address: '0.0.0.0', port: 8080 } });
    assert.deepEqual({ proceed: other.proceed, rewritten: other.rewritten }, { proceed: true, rewritten: false });
    // One object: both programs count in its one map.
    assert.deepEqual(counts(object, 'bind_decisions', 3), [5, 3, 2]);
    // The attempts of the process the hook runs in (the socket's owner): all ten binds.
    assert.equal(u64le(object.map('attempts').lookup(u32(process.pid))), 10n);
  });

  test(`[${engine}] runaway_connect4 faults at the instruction limit for port 9: the hook returns the fault, refusing, and goes on judging`, () => {
    const { object } = loadExample('runaway.o', { engine });
    const hook = new SockAddrHook(object.program('runaway_connect4'));
    const r = hook.run({ family: 4, protocol: 'tcp', address: { address: '127.0.0.1', port: 9 } });
    assert.equal(r.proceed, false);
    assert.ok(r.fault instanceof BpfRuntimeError, String(r.fault));
    assert.equal(r.fault.fault, 'instruction-limit');
    assert.match(r.verdict, /^fault: pc \d+: instruction limit of 100000000 reached/);
    assert.equal(hook.run({ family: 4, protocol: 'tcp', address: { address: '127.0.0.1', port: 443 } }).proceed, true, 'the next run is a fresh one');
    assert.deepEqual(counts(object, 'finished', 1), [1], 'the faulted run never reached its return');
  });
}

test('runaway_sockops faults on a connection to port 8080: the hook reports the fault instead of throwing', () => {
  const { object } = loadExample('runaway.o', { engine: 'jit' });
  const hook = new SockOpsHook(object.program('runaway_sockops'));
  const flow = { family: 4 as const, protocol: 'tcp' as const, local: { address: '127.0.0.1', port: 40000 } };
  const r = hook.run({ ...flow, event: 'active_established', remote: { address: '127.0.0.1', port: 8080 } });
  assert.ok(r.fault instanceof BpfRuntimeError && r.fault.fault === 'instruction-limit', String(r.fault));
  assert.equal(hook.run({ ...flow, event: 'active_established', remote: { address: '127.0.0.1', port: 443 } }).returnValue, 1n);
  assert.deepEqual(counts(object, 'finished', 1), [1]);
});
