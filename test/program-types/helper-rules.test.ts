// The helper prototypes of src/program-types/rules.ts as the verifier applies them: what each
// helper accepts and refuses, checked on small programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_HELPERS, LINUX_HELPER_IDS } from '../../src/abi/index.js';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { verifierRules } from '../../src/program-types/index.js';
import { formatReport, verify, type VerificationReport } from '../../src/verifier/index.js';

function run(type: string, src: string, abi: 'linux' | 'efw' = 'linux'): VerificationReport {
  const rules = verifierRules(type, abi);
  assert.ok(rules !== undefined, `no rules for ${type}`);
  const asm = assembleLlvm(src);
  return verify({ instructions: decode(encode(asm.instructions)), maps: new Map(), programType: rules, assumptions: asm.assumptions });
}

function accepts(type: string, src: string, abi?: 'linux' | 'efw'): void {
  const report = run(type, src, abi);
  assert.ok(report.ok, `expected acceptance, got:\n${formatReport(report)}`);
}

function rejects(type: string, src: string, code: string, message: RegExp): void {
  const report = run(type, src);
  assert.ok(!report.ok, `expected ${code}, but the program was accepted`);
  assert.equal(report.errors[0].code, code, formatReport(report));
  assert.match(report.errors[0].message, message);
}

const builtin = (name: string): number => {
  const b = BUILTIN_HELPERS.find((h) => h.name === name);
  assert.ok(b !== undefined);
  return b.id;
};
const MEMSET = builtin('memset');
const MEMCPY = builtin('memcpy');
const MEMMOVE = builtin('memmove');
const MEMCMP = builtin('memcmp');

test('probe_read and its variants take any value as the address to read, a pointer of any kind included', () => {
  for (const name of ['probe_read', 'probe_read_str', 'probe_read_kernel', 'probe_read_kernel_str', 'probe_read_user', 'probe_read_user_str']) {
    const id = LINUX_HELPER_IDS[name];
    // unsafe_ptr = a context pointer (a pt_regs field), then a stack pointer.
    accepts('kprobe', `r3 = r1\nr3 += 16\nr1 = r10\nr1 += -8\nr2 = 8\ncall ${id}\nr3 = r10\nr3 += -8\nr1 = r10\nr1 += -16\nr2 = 8\ncall ${id}\nr0 = 0\nexit`);
  }
  // The destination is still a buffer the helper writes, and the address must be initialised.
  rejects('kprobe', `r1 = r10\nr1 += -8\nr2 = 8\ncall ${LINUX_HELPER_IDS.probe_read_kernel}\nr0 = 0\nexit`, 'uninitialized-register', /r3/);
  rejects('kprobe', `r3 = r1\nr2 = 8\ncall ${LINUX_HELPER_IDS.probe_read}\nr0 = 0\nexit`, 'bad-helper-argument', /probe_read: argument r1 must point to stack/);
});

test('get_netns_cookie takes the context or NULL, nothing else', () => {
  const id = LINUX_HELPER_IDS.get_netns_cookie;
  for (const type of ['cgroup_sock_addr', 'cgroup_sock', 'sock_ops']) {
    accepts(type, `r1 = 0\ncall ${id}\nr0 = 1\nexit`);
    accepts(type, `call ${id}\nr0 = 1\nexit`);
  }
  rejects('cgroup_sock_addr', `r1 = 4\ncall ${id}\nr0 = 1\nexit`, 'bad-helper-argument', /must be the context pointer itself or 0/);
  rejects('cgroup_sock_addr', `r1 = r10\ncall ${id}\nr0 = 1\nexit`, 'bad-helper-argument', /must be the context pointer itself or 0/);
});

// r2 = NULL when skb->len is 0, else a pointer to 8 initialised (or not) stack bytes.
const nullOrStack = (init: boolean): string => `
  r6 = *(u32 *)(r1 + 0)
  ${init ? 'r7 = 0\n  *(u64 *)(r10 - 8) = r7' : 'r7 = 0'}
  r2 = 0
  if r6 == 0 goto <call>
  r2 = r10
  r2 += -8
<call>:
  r1 = 1
  r3 = 8
  r4 = 0
  call ${LINUX_HELPER_IDS.redirect_neigh}
  exit`;

test('a nullable memory argument may be NULL on some paths and valid memory on the others', () => {
  accepts('sched_cls', nullOrStack(true));
  // Every non-null possibility must still be valid: here the stack bytes are not initialised.
  rejects('sched_cls', nullOrStack(false), 'uninitialized-stack', /redirect_neigh: argument r2: stack byte 4088/);
  // A number other than 0 is not NULL.
  rejects('sched_cls', nullOrStack(true).replace('r2 = 0', 'r2 = 16'), 'bad-helper-argument', /redirect_neigh: argument r2 must point to/);
  // A memory argument that is not nullable refuses the same register.
  const notNullable = nullOrStack(true).replace(/r1 = 1\n[^]*$/, `r3 = 8\n  call ${LINUX_HELPER_IDS.skb_set_tunnel_opt}\n  exit`);
  rejects('sched_cls', notNullable, 'bad-helper-argument', /skb_set_tunnel_opt: argument r2 must point to stack, packet or map-value memory \(it is (number|\{number, stack\})/);
});

test('tc programs have the tunnel-option, vlan-pop and hash-invalidation helpers Linux gives them; socket filters do not', () => {
  const ids = LINUX_HELPER_IDS;
  accepts('sched_cls', `r6 = r1\nr2 = r10\nr2 += -16\nr3 = 16\ncall ${ids.skb_get_tunnel_opt}\nr1 = r6\nr2 = r10\nr2 += -16\nr3 = 16\ncall ${ids.skb_set_tunnel_opt}\nr1 = r6\ncall ${ids.set_hash_invalid}\nr1 = r6\ncall ${ids.skb_vlan_pop}\nr0 = 0\nexit`);
  rejects('sched_cls', `r2 = r10\nr2 += -16\nr3 = 16\ncall ${ids.skb_set_tunnel_opt}\nr0 = 0\nexit`, 'uninitialized-stack', /skb_set_tunnel_opt/);
  rejects('socket_filter', `call ${ids.set_hash_invalid}\nr0 = 0\nexit`, 'unknown-helper', /helper 41 is not available to linux-socket_filter/);
  rejects('socket_filter', `call ${ids.skb_vlan_pop}\nr0 = 0\nexit`, 'unknown-helper', /helper 19 is not available/);
});

test('built-in memset and memcpy write n bytes (n in r3), which the program may then read', () => {
  for (const type of ['xdp', 'kprobe', 'sched_cls']) {
    accepts(type, `r1 = r10\nr1 += -16\nr2 = 0\nr3 = 16\ncall ${MEMSET}\nr0 = *(u64 *)(r10 - 8)\nr0 = 2\nexit`);
  }
  accepts('xdp', `r1 = r10\nr1 += -16\nr2 = 0\nr3 = 16\ncall ${MEMSET}\nr1 = r10\nr1 += -32\nr2 = r10\nr2 += -16\nr3 = 16\ncall ${MEMCPY}\nr0 = *(u64 *)(r10 - 24)\nr0 = 2\nexit`);
  accepts('bind', `r1 = r10\nr1 += -16\nr2 = 0\nr3 = 16\ncall ${MEMSET}\nr0 = *(u64 *)(r10 - 8)\nr0 = 0\nexit`, 'efw');
});

test('built-in memory functions are refused outside their buffers, on uninitialised input and with a pointer to fill with', () => {
  rejects('xdp', `r1 = r10\nr1 += -8\nr2 = 0\nr3 = 16\ncall ${MEMSET}\nr0 = 2\nexit`, 'out-of-bounds-stack', /memset: argument r1: 16 bytes/);
  rejects('xdp', `r1 = r10\nr1 += -16\nr2 = r10\nr3 = 8\ncall ${MEMSET}\nr0 = 2\nexit`, 'pointer-leak', /memset: r2 would pass a pointer/);
  rejects('xdp', `r1 = r10\nr1 += -16\nr2 = r10\nr2 += -32\nr3 = 8\ncall ${MEMCPY}\nr0 = 2\nexit`, 'uninitialized-stack', /memcpy: argument r2/);
  rejects('xdp', `r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall ${MEMCMP}\nr0 = 2\nexit`, 'uninitialized-stack', /memcmp: argument r1/);
  rejects('xdp', `r6 = 0\n*(u64 *)(r10 - 8) = r6\nr1 = 0\nr2 = r10\nr2 += -8\nr3 = 8\ncall ${MEMCPY}\nr0 = 2\nexit`, 'bad-helper-argument', /memcpy: argument r1 must point to/);
  rejects('xdp', `r1 = r10\nr1 += -16\nr2 = 0\nr3 = r6\ncall ${MEMSET}\nr0 = 2\nexit`, 'uninitialized-register', /r6|r3/);
});

test('memmove checks its source before its destination is written, so an overlap cannot hide uninitialised bytes', () => {
  // Only fp-8..fp-1 is initialised; the source fp-16..fp-1 is not, though the destination
  // fp-24..fp-9 covers its uninitialised half.
  rejects('xdp', `r6 = 0\n*(u64 *)(r10 - 8) = r6\nr1 = r10\nr1 += -24\nr2 = r10\nr2 += -16\nr3 = 16\ncall ${MEMMOVE}\nr0 = 2\nexit`,
    'uninitialized-stack', /memmove: argument r2: stack byte 4080/);
});

test('memcmp returns a number; memset, memcpy and memmove leave r0 unusable', () => {
  accepts('xdp', `r6 = 0\n*(u64 *)(r10 - 8) = r6\nr1 = r10\nr1 += -8\nr2 = r10\nr2 += -8\nr3 = 8\ncall ${MEMCMP}\nr0 &= 3\nexit`);
  rejects('xdp', `r1 = r10\nr1 += -8\nr2 = 0\nr3 = 8\ncall ${MEMSET}\nexit`, 'uninitialized-register', /r0/);
});
