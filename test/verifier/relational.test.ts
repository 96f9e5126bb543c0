// The zone domain (facts x - y <= c between register values and the packet size), the paths kept
// apart by the constants they test later, and the pointer-leak policy. Each accepted program
// has a twin that differs by one unsafe detail and must be refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type MapDescriptor, formatReport } from '../../src/verifier/index.js';
import { LINUX_SCHED_CLS, LINUX_XDP } from '../../src/program-types/base-rules.js';
import { PKT, ZERO, addConstraint, addVar, bound, close, copyVar, forget, joinZone, newZone, shiftVar } from '../../src/verifier/domain/zone.js';
import { seededRandom } from '../support/random.js';
import { acceptsText as accepts, rejectsText as rejects, verifyText } from './assembled.js';

// ---- the zone itself ----------------------------------------------------------------------------

test('zone: copies, shifts and sums keep the differences they imply, closed', () => {
  const z = newZone();
  assert.ok(addConstraint(z, 3, PKT, -4)); // r3 + 4 <= P
  copyVar(z, 5, 3); // r5 = r3
  shiftVar(z, 5, 4); // r5 += 4
  assert.equal(bound(z, 5, PKT), 0, 'r5 <= P');
  assert.equal(bound(z, 5, 3), 4);
  assert.equal(bound(z, 3, 5), -4);
  // r6 = r5 + r7 with r7 in [2, 10]: r6 - r5 in [2, 10], so r6 <= P + 10.
  addVar(z, 5, 7, -Infinity, Infinity, 2, 10, false);
  assert.equal(bound(z, 5, 3), 14, 'r5 - r3 <= 4 + 10');
  assert.equal(bound(z, 3, 5), -6, 'r3 - r5 <= -4 - 2');
  forget(z, 3);
  assert.equal(bound(z, 3, PKT), Infinity);
  assert.equal(bound(z, 5, PKT), 10, 'facts implied through r3 stay');
});

test('zone: a contradiction makes the edge infeasible, and joins keep only common facts', () => {
  const a = newZone();
  assert.ok(addConstraint(a, 1, 2, -1)); // r1 < r2
  assert.equal(addConstraint(a, 2, 1, 0), false, 'r2 <= r1 contradicts r1 < r2');
  const b = newZone();
  assert.ok(addConstraint(b, 1, 2, -5));
  assert.ok(addConstraint(b, 1, ZERO, 3));
  const j = joinZone(a, b, false);
  assert.equal(bound(j, 1, 2), -1);
  assert.equal(bound(j, 1, ZERO), Infinity);
  const w = joinZone(b, a, true);
  assert.equal(bound(w, 1, 2), Infinity, 'widening drops a bound that grew');
});

test('zone: bounds agree with brute force on random difference systems', () => {
  const rnd = seededRandom(0x20ae);
  for (let round = 0; round < 200; round++) {
    // Four variables over small values: every fact the closed zone states holds for every
    // assignment that satisfies the constraints, and the zone is tight for at least one.
    const vars = [0, 1, 2, ZERO];
    const z = newZone();
    const cons: [number, number, number][] = [];
    let feasible = true;
    for (let k = 0; k < 5; k++) {
      const i = vars[Math.floor(rnd() * 4)];
      const j = vars[Math.floor(rnd() * 4)];
      const c = Math.floor(rnd() * 9) - 4;
      cons.push([i, j, c]);
      if (!addConstraint(z, i, j, c)) feasible = false;
    }
    const solutions: number[][] = [];
    for (let x0 = -6; x0 <= 6; x0++) for (let x1 = -6; x1 <= 6; x1++) for (let x2 = -6; x2 <= 6; x2++) {
      const val = (v: number): number => (v === ZERO ? 0 : [x0, x1, x2][v]);
      if (cons.every(([i, j, c]) => val(i) - val(j) <= c)) solutions.push([x0, x1, x2]);
    }
    if (!feasible) {
      assert.equal(solutions.length, 0, `round ${round}: the zone found a contradiction in a satisfiable system`);
      continue;
    }
    assert.ok(close(z));
    for (const sol of solutions) {
      const val = (v: number): number => (v === ZERO ? 0 : sol[v]);
      for (const i of vars) for (const j of vars) assert.ok(val(i) - val(j) <= bound(z, i, j), `round ${round}: x${i} - x${j} <= ${bound(z, i, j)} fails`);
    }
  }
});

// ---- what the verifier proves with it -----------------------------------------------------------

// VLAN parsing as in the kernel's xdp1 sample: the header offset is 14 or 18 after a join, and
// each path proved data + offset <= data_end; then a check through a copy (r5 = r3 + 4) covers
// an access through r3.
const VLAN = `
  r2 = *(u32 *)(r1 + 4)
  r1 = *(u32 *)(r1 + 0)
  r3 = r1
  r3 += 14
  if r3 > r2 goto <drop>
  r4 = *(u16 *)(r1 + 12)
  r3 = 14
  if r4 != 129 goto <join>
  r3 = r1
  r3 += 18
  if r3 > r2 goto <drop>
  r3 = 18
<join>:
  r5 = r3
  r5 += 4
  r4 = r1
  r4 += r5
  if r4 > r2 goto <drop>
  r4 = r1
  r4 += r3
  r0 = *(u16 *)(r4 + 2)
  r0 = 2
  exit
<drop>:
  r0 = 1
  exit`;

test('an offset that is 14 or 18 after a join, checked through a copy plus 4, allows the access (zone)', () => {
  accepts(VLAN);
});

test('the same parser reading 2 bytes past what the copy checked is refused', () => {
  rejects(VLAN.replace('r0 = *(u16 *)(r4 + 2)', 'r0 = *(u16 *)(r4 + 3)'), 'out-of-bounds-packet', 19);
});

// The bounds check's outcome is kept in a flag, tested after the paths join (compiled code does
// this after inlining a helper that returns 0 or an error).
const FLAG = `
  r2 = *(u32 *)(r1 + 4)
  r1 = *(u32 *)(r1 + 0)
  r3 = r1
  r3 += 8
  if r3 > r2 goto <bad>
  r4 = 0
  goto <join>
<bad>:
  r4 = -22
<join>:
  if r4 != 0 goto <out>
  r0 = *(u64 *)(r1 + 0)
<out>:
  r0 = 2
  exit`;

test('a bounds check whose outcome is a flag tested after the join allows the access (paths kept apart)', () => {
  accepts(FLAG);
});

test('testing the flag the wrong way round is refused', () => {
  rejects(FLAG.replace('if r4 != 0 goto <out>', 'if r4 == 0 goto <out>'), 'out-of-bounds-packet', 9);
});

// ---- pointers disclosed as numbers --------------------------------------------------------------

const LEAKS = `
  r2 = *(u32 *)(r1 + 80)
  r3 = *(u32 *)(r1 + 76)
  w4 = w2
  w4 -= w3
  r0 = r1
  exit`;

test('pointer leaks are refused by default: returning the context pointer', () => {
  rejects(LEAKS, 'pointer-leak', 5, LINUX_SCHED_CLS);
  // A 32-bit difference of a packet pointer and the context pointer would disclose an address.
  rejects(LEAKS.replace('w4 -= w3', 'w4 -= w1'), 'invalid-pointer-arithmetic', 3, LINUX_SCHED_CLS);
});

const MOVE32 = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  w4 = w2
  r5 = r4
  r5 += 14
  if r5 > r3 goto <out>
  r0 = *(u16 *)(r4 + 12)
<out>:
  r0 = 2
  exit`;

test('addresses are 32-bit in ebpf-ts: a 32-bit move keeps a pointer whole (not on a 64-bit-pointer platform)', () => {
  accepts(MOVE32);
  rejects(MOVE32, 'invalid-pointer-arithmetic', 2, LINUX_XDP, { addresses32: false });
});

test('with allowPointerLeaks (a privileged loader) addresses become numbers, and returning one is allowed where any value is', () => {
  accepts(LEAKS, LINUX_SCHED_CLS, { allowPointerLeaks: true });
  // XDP constrains the return value: a pointer is never in [0, 4].
  rejects('r0 = r1\nexit', 'pointer-leak', 1, LINUX_XDP, { allowPointerLeaks: true });
  // A number made from an address cannot be used as a pointer.
  rejects(`${LEAKS.replace('r0 = r1\n  exit', '')}  r0 = *(u8 *)(r4 + 0)\n  r0 = 0\n  exit`, 'invalid-memory-access', 4, LINUX_SCHED_CLS, { allowPointerLeaks: true });
});

// ---- map-value pointers into values of different sizes ------------------------------------------

const SMALL = { name: 'small', type: 1, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false };
const LARGE = { name: 'large', type: 1, keySize: 4, valueSize: 40, maxEntries: 4, readOnly: false };

/** map_fd 1 is the small map, any other the large one. */
const runMaps = (src: string): ReturnType<typeof verifyText> => verifyText(src, LINUX_XDP, {}, (fd) => (fd === 1 ? SMALL : LARGE));

// The 8 bytes at offset 0 of the small value, or at offset 32 of the large one.
const TWO_SIZES = `
  r6 = *(u32 *)(r1 + 12)
  r2 = r10
  r2 += -4
  r3 = 0
  *(u32 *)(r10 - 4) = r3
  if r6 == 0 goto <large>
  r1 = map_fd 1
  call 1
  if r0 == 0 goto <out>
  goto <use>
<large>:
  r1 = map_fd 2
  call 1
  if r0 == 0 goto <out>
  r0 += 32
<use>:
  r0 = *(u64 *)(r0 + 0)
<out>:
  r0 = 2
  exit`;

test('a pointer to the last 8 bytes of either of two values of different sizes may read 8 bytes', () => {
  const report = runMaps(TWO_SIZES);
  assert.ok(report.ok, formatReport(report));
});

test('reading 8 bytes one byte further is refused', () => {
  const report = runMaps(TWO_SIZES.replace('r0 = *(u64 *)(r0 + 0)', 'r0 = *(u64 *)(r0 + 1)'));
  assert.ok(!report.ok);
  assert.equal(report.errors[0].code, 'out-of-bounds-map-value', formatReport(report));
});

test('the low 32 bits of a difference of two packet pointers is a number, by default (no address is disclosed)', () => {
  const src = `
  r2 = *(u32 *)(r1 + 76)
  r3 = *(u32 *)(r1 + 80)
  r4 = r2
  r4 += 14
  if r4 > r3 goto <out>
  w4 -= w2
  r0 = r4
  exit
<out>:
  r0 = 0
  exit`;
  accepts(src, LINUX_SCHED_CLS);
  // A 32-bit difference of a packet pointer and a context pointer would disclose an address.
  rejects(src.replace('w4 -= w2', 'w4 -= w1'), 'invalid-pointer-arithmetic', 5, LINUX_SCHED_CLS);
});

// A pointer into one of two stack buffers, each initialised only on its own path.
const TWO_BUFFERS = `
  r6 = *(u32 *)(r1 + 12)
  if r6 == 0 goto <second>
  r1 = 1
  *(u64 *)(r10 - 16) = r1
  r7 = r10
  r7 += -16
  goto <use>
<second>:
  r1 = 2
  *(u64 *)(r10 - 8) = r1
  r7 = r10
  r7 += -8
<use>:
  r0 = *(u64 *)(r7 + 0)
  r0 &= 3
  exit`;

test('a pointer to one of two stack buffers reads the one initialised on its path (paths kept apart)', () => {
  accepts(TWO_BUFFERS);
});

test('if one buffer is not initialised on its path, the read is refused', () => {
  rejects(TWO_BUFFERS.replace('  *(u64 *)(r10 - 8) = r1\n', ''), 'uninitialized-stack', 10);
});

// A variable-offset packet buffer passed to a helper, its bound proven through a copy.
const CSUM = `
  r2 = *(u32 *)(r1 + 4)
  r3 = *(u32 *)(r1 + 12)
  r3 &= 63
  r1 = *(u32 *)(r1 + 0)
  r4 = r3
  r4 += 8
  r5 = r1
  r5 += r4
  if r5 > r2 goto <out>
  r1 += r3
  r2 = 8
  r3 = 0
  r4 = 0
  r5 = 0
  call 28
<out>:
  r0 = 2
  exit`;

test('a packet buffer at a variable offset may be passed to a helper when a copy was checked (zone)', () => {
  accepts(CSUM);
});

test('passing one byte more than was checked is refused', () => {
  rejects(CSUM.replace('r2 = 8\n', 'r2 = 9\n'), 'out-of-bounds-packet', 14);
});

// ---- a size the packet bounds -------------------------------------------------------------------

// ebpf-for-windows' bindmonitor_ringbuf: the bytes from data to data_end, their count computed as
// data_end - data, go to bpf_ringbuf_output. The size has no constant bound; the packet is its bound.
const RINGBUF: MapDescriptor = { name: 'events', type: 27, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false };
const WHOLE_PACKET = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  if r2 >= r3 goto <out>
  r3 -= r2
  r1 = map_fd 1
  r4 = 0
  call 130
<out>:
  r0 = 2
  exit`;
const withRingbuf = (src: string): ReturnType<typeof verifyText> => verifyText(src, LINUX_XDP, {}, () => RINGBUF);

test('data_end - data bytes from data may be passed to a helper: the packet bounds the size', () => {
  const report = withRingbuf(WHOLE_PACKET);
  assert.ok(report.ok, formatReport(report));
});

test('the same size from one byte further, or one byte more, is refused', () => {
  for (const [change, why] of [[['r3 -= r2\n', 'r3 -= r2\n  r2 += 1\n'], 'from data + 1'], [['r3 -= r2\n', 'r3 -= r2\n  r3 += 1\n'], 'one byte more']] as const) {
    const report = withRingbuf(WHOLE_PACKET.replace(change[0], change[1]));
    assert.ok(!report.ok, `${why}: accepted`);
    assert.match(report.errors[0].code, /out-of-bounds-packet|bad-helper-argument/, formatReport(report));
  }
});

test('a packet-bounded size is still refused for a pointer that is not into the packet', () => {
  const report = withRingbuf(WHOLE_PACKET.replace('r1 = map_fd 1', 'r2 = r10\n  r2 += -8\n  r1 = map_fd 1'));
  assert.ok(!report.ok);
});

test('the whole packet from a variable offset into it is refused', () => {
  // r2 = data + (ingress_ifindex & 7) with data_end - data bytes: up to 7 bytes past the end.
  const variable = WHOLE_PACKET.replace('  r3 -= r2\n', '  r4 = *(u32 *)(r1 + 12)\n  r4 &= 7\n  r3 -= r2\n  r2 += r4\n');
  const refused = withRingbuf(variable);
  assert.ok(!refused.ok, 'data + k with data_end - data bytes: accepted');
});
