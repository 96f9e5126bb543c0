// XDP_REDIRECT: bpf_redirect_map sends a frame out of the interface a DEVMAP slot names, and
// answers the action its flags name when the slot is empty; bpf_redirect names the interface
// itself. The interface goes to the host's redirect slot, where the datapath reads it. Devmap
// values are read-only to programs, and only device maps can be redirected through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINUX_XDP } from '../../src/program-types/base-rules.js';
import { verifyText } from '../verifier/assembled.js';
import { loadExample, packet, u32 } from '../support/objects.js';

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] UDP frames go out of the interface in the devmap slot; an empty slot, and other frames, pass`, () => {
    const { object, context } = loadExample('xdp_redirect.o', { engine });
    const p = object.program('redirect_udp');
    const run = (frame: string): { action: bigint; ifindex: number } => {
      context.host.redirect.ifindex = 0;
      const r = p.testRun({ data: packet(frame) });
      return { action: r.returnValue, ifindex: context.host.redirect.ifindex };
    };
    assert.deepEqual(run('udp_dns_empty'), { action: 2n, ifindex: 0 }, 'empty slot: XDP_PASS, as the flags say');
    object.map('out_ports').update(u32(0), u32(7));
    assert.deepEqual(run('udp_dns_empty'), { action: 4n, ifindex: 7 });
    assert.deepEqual(run('tcp_syn'), { action: 2n, ifindex: 0 });
    object.map('out_ports').delete(u32(0));
    assert.deepEqual(run('udp_other'), { action: 2n, ifindex: 0 }, 'a deleted slot is empty');
    assert.deepEqual([...(object.map('out_ports').lookup(u32(0)) ?? [])], [0, 0, 0, 0]);
  });

  test(`[${engine}] bpf_redirect sends every frame out of the interface it names`, () => {
    const { object, context } = loadExample('xdp_redirect.o', { engine });
    const p = object.program('redirect_fixed');
    assert.equal(p.testRun({ data: packet('arp') }).returnValue, 2n, 'no interface configured: pass');
    object.map('fixed').update(u32(0), u32(9));
    context.host.redirect.ifindex = 0;
    assert.equal(p.testRun({ data: packet('arp') }).returnValue, 4n);
    assert.equal(context.host.redirect.ifindex, 9);
  });
}

const DEVMAP = { name: 'ports', type: 14, keySize: 4, valueSize: 4, maxEntries: 4, readOnly: true };
const ARRAY = { name: 'plain', type: 2, keySize: 4, valueSize: 4, maxEntries: 4, readOnly: false };

test('only a device map can be redirected through, and a program cannot change one', () => {
  const redirect = `
  r1 = map_fd 1
  r2 = 0
  r3 = 2
  call 51
  exit`;
  assert.ok(verifyText(redirect, LINUX_XDP, {}, () => DEVMAP).ok);
  const plain = verifyText(redirect, LINUX_XDP, {}, () => ARRAY);
  assert.ok(!plain.ok);
  assert.equal(plain.errors[0].code, 'bad-helper-argument');
  const write = verifyText(`
  r2 = r10
  r2 += -4
  r1 = 0
  *(u32 *)(r10 - 4) = r1
  r1 = map_fd 1
  call 1
  if r0 == 0 goto <out>
  r1 = 3
  *(u32 *)(r0 + 0) = r1
<out>:
  r0 = 2
  exit`, LINUX_XDP, {}, () => DEVMAP);
  assert.ok(!write.ok);
  assert.equal(write.errors[0].code, 'write-to-read-only');
});
