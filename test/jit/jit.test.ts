// Focused JIT behaviour: faults (kind, pc and message as the interpreter reports them), the
// instruction budget, tail calls, callbacks, legacy packet loads, helpers that grow memory.
// Every case runs on both engines and compares, so the interpreter stays the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleBytes, encode, insn, type InstructionFields } from '../../src/isa/index.js';
import {
  BpfRuntimeError,
  HelperRegistry,
  Interpreter,
  LinearMemory,
  prepareProgram,
  type HelperDefinition,
  type PreparedProgram,
  type RunArguments,
  type TailCallFailure,
} from '../../src/vm/index.js';
import { JitProgram, compileModule, compileToWasm, compiledModule, createEngine, type Engine } from '../../src/vm/jit/index.js';

const memory = new LinearMemory({ initialPages: 2, maximumPages: 64 });

type Outcome = { r0: bigint } | { fault: string; pc: number; message: string };

interface Setup {
  helpers?: HelperDefinition[];
  args?: RunArguments;
  instructionLimit?: number;
  resolveTailCall?: (mapAddress: number, index: number) => PreparedProgram | undefined;
  tailCallFailure?: (reason: TailCallFailure) => number;
}

function outcome(run: () => bigint): Outcome {
  try {
    return { r0: run() };
  } catch (e) {
    assert.ok(e instanceof BpfRuntimeError, `expected BpfRuntimeError, got ${String(e)}`);
    return { fault: e.fault, pc: e.pc, message: e.message };
  }
}

function prepare(code: string | Uint8Array, helpers: HelperDefinition[] = []): PreparedProgram {
  return prepareProgram(typeof code === 'string' ? assembleBytes(code) : code, { helpers: new HelperRegistry(helpers) });
}

/** Runs on one engine inside a memory mark, so each case starts from the same memory. */
function runOn(engine: Engine, code: string | Uint8Array, setup: Setup = {}): Outcome {
  const mark = memory.mark();
  try {
    const program = prepare(code, setup.helpers);
    const vm = createEngine(engine, program, { memory, instructionLimit: setup.instructionLimit, resolveTailCall: setup.resolveTailCall, tailCallFailure: setup.tailCallFailure });
    if (vm instanceof JitProgram) assert.equal(vm.compile().interpretedBecause, undefined, 'compiled, not interpreted');
    return outcome(() => vm.run(setup.args ?? {}));
  } finally {
    memory.release(mark);
  }
}

/** Runs on both engines; they must agree exactly. Returns the JIT's outcome. */
function both(code: string | Uint8Array, setup: Setup = {}): Outcome {
  const reference = runOn('interpreter', code, setup);
  const jit = runOn('jit', code, setup);
  assert.deepEqual(jit, reference);
  return jit;
}

function faultOf(o: Outcome): { fault: string; pc: number } {
  assert.ok('fault' in o, `expected a fault, got r0 = ${'r0' in o ? o.r0 : ''}`);
  return { fault: o.fault, pc: o.pc };
}

test('an access beyond linear memory is an out-of-bounds fault at its pc', () => {
  assert.deepEqual(faultOf(both('mov %r0, 0\nlddw %r1, 0x10000000\nldxw %r0, [%r1+4]\nexit')), { fault: 'out-of-bounds', pc: 3 });
  assert.deepEqual(faultOf(both('lddw %r1, 0x100001000\nstw [%r1], 1\nexit')), { fault: 'out-of-bounds', pc: 2 });
  // Just past the end of memory, and a negative offset below address 0.
  const size = memory.size;
  assert.deepEqual(faultOf(both(`lddw %r1, ${size - 4}\nldxdw %r0, [%r1]\nexit`)), { fault: 'out-of-bounds', pc: 2 });
  assert.deepEqual(faultOf(both('mov %r1, 8\nldxb %r0, [%r1-16]\nexit')), { fault: 'out-of-bounds', pc: 1 });
  assert.deepEqual(both(`lddw %r1, ${size - 8}\nldxdw %r0, [%r1]\nexit`), { r0: 0n });
  // Registers whose upper half is set never reach memory, whatever the offset.
  assert.deepEqual(faultOf(both('lddw %r1, 0x100000005\nldxb %r0, [%r1-10]\nexit')), { fault: 'out-of-bounds', pc: 2 });
  assert.deepEqual(faultOf(both('lddw %r1, 0xffffffffffffff9c\nldxb %r0, [%r1+5000]\nexit')), { fault: 'out-of-bounds', pc: 2 });
  assert.deepEqual(faultOf(both('lddw %r1, 0xfffffffffffff000\nstb [%r1+4096], 1\nexit')), { fault: 'out-of-bounds', pc: 2 });
});

test('bounds checks are exact on a memory that may grow to 4 GiB too', () => {
  const big = new LinearMemory({ initialPages: 2, maximumPages: 65536 });
  const run = (engine: Engine, source: string): Outcome => {
    const program = prepare(source);
    return outcome(() => createEngine(engine, program, { memory: big }).run({ r2: 0x6000 }));
  };
  for (const source of [
    'lddw %r1, 0x100000005\nldxb %r0, [%r1-10]\nexit',
    'lddw %r1, 0xffffffffffffff9c\nldxb %r0, [%r1+5000]\nexit',
    'mov %r1, 0\nldxw %r0, [%r1+4092]\nexit',
    'ldxw %r0, [%r2+0]\nexit',
    `lddw %r1, ${big.size - 2}\nldxh %r0, [%r1]\nldxw %r0, [%r1]\nexit`,
  ]) {
    assert.deepEqual(run('jit', source), run('interpreter', source), source);
  }
});

test('an access inside the null guard is a null dereference', () => {
  assert.deepEqual(faultOf(both('mov %r1, 0\nldxb %r0, [%r1+16]\nexit')), { fault: 'null-dereference', pc: 1 });
  assert.deepEqual(faultOf(both('mov %r1, 4000\nstxdw [%r1+90], %r1\nexit')), { fault: 'null-dereference', pc: 1 });
});

test('a misaligned atomic faults; an aligned one works', () => {
  assert.deepEqual(faultOf(both('stdw [%r10-16], 0\nmov %r1, 1\nlock add [%r10-12], %r1\nexit')), { fault: 'misaligned-atomic', pc: 2 });
  assert.deepEqual(both('stdw [%r10-8], 5\nmov %r1, 3\nlock fetch add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit'), { r0: 13n });
  assert.deepEqual(both('stw [%r10-4], 9\nmov %r0, 9\nmov %r1, 4\nlock cmpxchg32 [%r10-4], %r1\nldxw %r1, [%r10-4]\nlsh %r0, 8\nor %r0, %r1\nexit'), { r0: 0x904n });
});

test('local calls nest up to 8 frames, then fault with call-depth', () => {
  const recurse = (limit: number): string => `
    mov %r1, 0
    call local f
    exit
  f:
    add %r1, 1
    stxdw [%r10-8], %r1
    jge %r1, ${limit}, done
    call local f
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    exit
  done:
    mov %r0, 0
    exit`;
  assert.deepEqual(both(recurse(7)), { r0: 21n }); // frames at depths 1..7, sum of 1..6
  assert.deepEqual(faultOf(both(recurse(8))), { fault: 'call-depth', pc: 6 });
});

test('callees keep their own r6-r9 and stack frame', () => {
  assert.deepEqual(both(`
    mov %r6, 6
    stdw [%r10-8], 100
    call local f
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    add %r0, %r6
    exit
  f:
    mov %r6, 1000
    stdw [%r10-8], 7
    ldxdw %r0, [%r10-8]
    exit`), { r0: 113n });
});

test('caller and callee share registers as in the interpreter: r0 and r6-r9 in, r1-r5 out', () => {
  // The callee accumulates into the caller's r0 (bench/programs/calls.s does this) and reads r6.
  assert.deepEqual(both(`
    mov %r0, 0
    mov %r6, 100
    mov %r7, 3
  l:
    mov %r1, %r7
    call local f
    sub %r7, 1
    jne %r7, 0, l
    add %r0, %r2
    exit
  f:
    add %r0, %r1
    add %r0, %r6
    mov %r2, 1000
    mov %r6, 0
    exit`), { r0: 1306n });
});

test('runaway loops stop with an instruction-limit fault', () => {
  for (const source of ['l: ja l', 'mov %r0, 0\nl: add %r0, 1\njne %r0, 0, l\nexit']) {
    const start = performance.now();
    const o = runOn('jit', source, { instructionLimit: 100_000 });
    assert.ok('fault' in o && o.fault === 'instruction-limit', JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.ok(performance.now() - start < 1000);
  }
  // Recursion cannot escape the budget either: 8 levels of 20 calls each would be 20^8 calls.
  const fanOut = ['call local f', 'exit', 'f:', 'mov %r0, 0', ...Array.from({ length: 20 }, () => 'call local f'), 'exit'].join('\n');
  const o = runOn('jit', fanOut, { instructionLimit: 100_000 });
  assert.ok('fault' in o && (o.fault === 'instruction-limit' || o.fault === 'call-depth'));
  const deep = runOn('jit', fanOut.replace(/call local f\n(?=call)/g, ''), { instructionLimit: 100_000 });
  assert.ok('fault' in deep);
  // A program under the limit runs to the end on both engines.
  assert.deepEqual(both('mov %r0, 0\nmov %r1, 1000\nl: add %r0, 2\nsub %r1, 1\njne %r1, 0, l\nexit', { instructionLimit: 3003 }), { r0: 2000n });
  // The JIT charges a lower bound of the instructions run (the latch block per back edge), so at
  // the exact limit it may finish where the interpreter stops; it never stops earlier.
  const near = runOn('jit', 'mov %r0, 0\nmov %r1, 1000\nl: add %r0, 2\nsub %r1, 1\njne %r1, 0, l\nexit', { instructionLimit: 3002 });
  assert.ok('r0' in near ? near.r0 === 2000n : near.fault === 'instruction-limit');
});

test('falling off the end of the program is a bad-jump fault', () => {
  assert.deepEqual(faultOf(both(encode([insn('mov64_imm', { dst: 0, imm: 1 }), insn('jeq_imm', { dst: 0, imm: 2, offset: -2 })]))), { fault: 'bad-jump', pc: 2 });
});

test('arguments: int32 numbers, wide numbers and bigints give the interpreter\'s registers', () => {
  const source = 'mov %r0, %r1\nxor %r0, %r2\nadd %r0, %r3\nsub %r0, %r4\nxor %r0, %r5\nexit';
  for (const args of [
    { r1: 1, r2: -1, r3: 0x7fffffff, r4: -0x80000000, r5: 7 },
    { r1: 2 ** 40, r2: -(2 ** 50), r3: 3n, r4: 0xffffffffffffffffn, r5: -5n },
    { r2: 9 },
  ]) {
    assert.deepEqual(both(source, { args }), runOn('interpreter', source, { args }));
  }
  for (const engine of ['interpreter', 'jit'] as const) {
    assert.throws(() => createEngine(engine, prepare(source), { memory }).run({ r1: 1.5 }), RangeError);
  }
});

test('helpers: results, errors, callx', () => {
  const add: HelperDefinition = { id: 5, name: 'add', prototype: { ret: 'scalar', args: [] }, call: (a) => a.u64(1) + a.u64(2) + BigInt(a.i32(5)) };
  const negative: HelperDefinition = { id: 8, name: 'neg', prototype: { ret: 'scalar', args: [] }, call: () => -22 };
  const broken: HelperDefinition = { id: 9, name: 'broken', prototype: { ret: 'scalar', args: [] }, call: () => { throw new Error('boom'); } };
  const helpers = [add, negative, broken];
  assert.deepEqual(both('mov %r1, 40\nmov %r2, 2\nmov %r5, -1\ncall 5\nexit', { helpers }), { r0: 41n });
  assert.deepEqual(both('call 8\nexit', { helpers }), { r0: BigInt.asUintN(64, -22n) });
  assert.equal(faultOf(both('mov %r0, 0\ncall 9\nexit', { helpers })).fault, 'helper-error');
  assert.deepEqual(both('mov %r1, 1\nmov %r2, 2\nmov %r5, 0\nmov %r3, 5\ncall %r3\nexit', { helpers }), { r0: 3n });
  assert.deepEqual(faultOf(both('mov %r2, 6\ncall %r2\nexit', { helpers })), { fault: 'unknown-helper', pc: 1 });
});

test('a helper that grows memory makes the new memory reachable', () => {
  const grow: HelperDefinition = {
    id: 3,
    name: 'grow',
    prototype: { ret: 'scalar', args: [] },
    call: (a) => a.memory.alloc(200_000, 8) + 199_992,
  };
  const code = 'call 3\nmov %r1, %r0\nstdw [%r1], 77\nldxdw %r0, [%r1]\nexit';
  for (const shared of [true, false]) {
    const m = new LinearMemory({ initialPages: 1, maximumPages: 16, shared });
    const vm = new JitProgram(prepare(code, [grow]), { memory: m });
    assert.equal(vm.run(), 77n);
  }
});

test('legacy packet loads read big-endian; out of bounds ends the whole run with 0', () => {
  const mark = memory.mark();
  try {
    const at = memory.alloc(4);
    memory.write(at, Uint8Array.from([0x12, 0x34, 0x56, 0x78]));
    const args = { packet: { address: at, length: 4 } };
    assert.deepEqual(both('ldabsh 1\nexit', { args }), { r0: 0x3456n });
    assert.deepEqual(both('ldabsb 3\nexit', { args }), { r0: 0x78n });
    assert.deepEqual(both('mov %r1, 0\nldindw %r1, 0\nexit', { args }), { r0: 0x12345678n });
    assert.deepEqual(both('ldabsw 1\nmov %r0, 99\nexit', { args }), { r0: 0n });
    assert.deepEqual(both('mov %r1, -1\nldindb %r1, 0\nmov %r0, 99\nexit', { args }), { r0: 0n });
    // From inside a local call, the abort ends the caller too.
    assert.deepEqual(both('call local f\nmov %r0, 5\nexit\nf:\nldabsw 2\nexit', { args }), { r0: 0n });
    assert.deepEqual(faultOf(both('ldabsb 0\nexit')), { fault: 'no-packet', pc: 0 });
  } finally {
    memory.release(mark);
  }
});

const TAIL_CALL: HelperDefinition = {
  id: 12,
  name: 'bpf_tail_call',
  prototype: { ret: 'scalar', args: ['ctx', 'map', 'index'] },
  kind: 'tail-call',
  call: () => -2,
};

test('bpf_tail_call replaces the program with the same r1 and a fresh stack; failures return the helper result', () => {
  const target = prepare('stdw [%r10-8], 1\nmov %r0, %r1\nadd %r0, 100\nexit', [TAIL_CALL]);
  const resolveTailCall = (map: number, index: number): PreparedProgram | undefined => (map === 0x5000 && index === 1 ? target : undefined);
  const caller = (index: number): string => `
    stdw [%r10-8], 55
    mov %r2, 0x5000
    mov %r3, ${index}
    call 12
    mov %r6, %r0
    ldxdw %r0, [%r10-8]
    add %r0, %r6
    exit`;
  assert.deepEqual(both(caller(1), { helpers: [TAIL_CALL], args: { r1: 7 }, resolveTailCall }), { r0: 107n });
  assert.deepEqual(both(caller(2), { helpers: [TAIL_CALL], args: { r1: 7 }, resolveTailCall }), { r0: 53n }); // 55 + -2
  // From a bpf-to-bpf function too (the interpreter allows it outside callbacks).
  const nested = 'call local f\nmov %r0, 1\nexit\nf:\nmov %r2, 0x5000\nmov %r3, 1\ncall 12\nmov %r0, 2\nexit';
  assert.deepEqual(both(nested, { helpers: [TAIL_CALL], args: { r1: 9 }, resolveTailCall }), { r0: 109n });
  // Through callx as well.
  const viaCallx = 'mov %r2, 0x5000\nmov %r3, 1\nmov %r4, 12\ncall %r4\nmov %r0, 2\nexit';
  assert.deepEqual(both(viaCallx, { helpers: [TAIL_CALL], args: { r1: 4 }, resolveTailCall }), { r0: 104n });
});

test('a tail call from inside a callback is refused: the helper result comes back', () => {
  const target = prepare('mov %r0, 100\nexit', [TAIL_CALL]);
  const resolveTailCall = (): PreparedProgram => target;
  // main: bpf_loop(1, cb, 0, 0) + *(r10-8). cb: return bpf_tail_call(...) + 5, i.e. -2 + 5 = 3.
  // (Slots below are before the one-instruction prefix that zeroes the stack word.)
  const program = encode([
    /* 0 */ insn('mov64_imm', { dst: 1, imm: 1 }),
    /* 1 */ codeAddr(2, 9 - 2), // target slot 9
    /* 3 */ insn('mov64_imm', { dst: 3, imm: 0 }),
    /* 4 */ insn('mov64_imm', { dst: 4, imm: 0 }),
    /* 5 */ insn('call', { imm: 181 }),
    /* 6 */ insn('ldxdw', { dst: 1, src: 10, offset: -8 }),
    /* 7 */ insn('add64_reg', { dst: 0, src: 1 }),
    /* 8 */ insn('exit'),
    /* 9 */ insn('mov64_imm', { dst: 2, imm: 0x5000 }),
    /* 10 */ insn('mov64_imm', { dst: 3, imm: 0 }),
    /* 11 */ insn('call', { imm: 12 }),
    /* 12 */ insn('add64_imm', { dst: 0, imm: 5 }),
    /* 13 */ insn('exit'),
  ]);
  const withStack = encode([insn('stdw', { dst: 10, offset: -8, imm: 0 })]);
  const code = new Uint8Array(withStack.length + program.length);
  code.set(withStack);
  code.set(program, withStack.length);
  // The callback returns 3 (non-zero), so bpf_loop stops after one call and returns 1.
  assert.deepEqual(both(code, { helpers: [TAIL_CALL, LOOP], resolveTailCall }), { r0: 1n });
});

test('a program tail-calling itself stops after 33 tail calls', () => {
  const mark = memory.mark();
  try {
    const counter = memory.alloc(8, 8);
    const code = assembleBytes(`
      ldxdw %r0, [%r1]
      add %r0, 1
      stxdw [%r1], %r0
      mov %r2, 0x6000
      mov %r3, 0
      call 12
      ldxdw %r0, [%r1]
      exit`);
    const results: bigint[] = [];
    for (const engine of ['interpreter', 'jit'] as const) {
      memory.write(counter, new Uint8Array(8));
      const self = prepare(code, [TAIL_CALL]);
      const vm = createEngine(engine, self, { memory, resolveTailCall: () => self });
      results.push(vm.run({ r1: counter }));
    }
    assert.deepEqual(results, [34n, 34n]);
  } finally {
    memory.release(mark);
  }
});

/** A tailCallFailure with a distinct value per reason, so a test sees which one the engine gave. */
const BY_REASON = (reason: TailCallFailure): number => ({ 'no-program': -100, limit: -200, nested: -300 })[reason];

test('with a tailCallFailure (ebpf-for-windows), a tail call that does not jump answers its reason, not the helper', () => {
  const target = prepare('mov %r0, 7\nexit', [TAIL_CALL]);
  const resolveTailCall = (map: number, index: number): PreparedProgram | undefined => (map === 0x5000 && index === 1 ? target : undefined);
  const call = (index: number): string => `mov %r2, 0x5000\nmov %r3, ${index}\ncall 12\nexit`;
  const setup = { helpers: [TAIL_CALL], resolveTailCall, tailCallFailure: BY_REASON };
  assert.deepEqual(both(call(1), setup), { r0: 7n }, 'a slot with a program still jumps');
  assert.deepEqual(both(call(2), setup), { r0: BigInt.asUintN(64, -100n) }, 'an empty slot or a bad index: no-program');
  // Without the option the helper's result comes back, as before (Linux).
  assert.deepEqual(both(call(2), { helpers: [TAIL_CALL], resolveTailCall }), { r0: BigInt.asUintN(64, -2n) });
});

test('with a tailCallFailure, the call after the 33rd tail call answers limit; from a callback, nested', () => {
  const mark = memory.mark();
  try {
    const counter = memory.alloc(8, 8);
    // Counts its runs in *r1, tail-calls itself and returns what the tail call answered.
    const code = assembleBytes('ldxdw %r0, [%r1]\nadd %r0, 1\nstxdw [%r1], %r0\nmov %r2, 0x6000\nmov %r3, 0\ncall 12\nexit');
    for (const engine of ['interpreter', 'jit'] as const) {
      memory.write(counter, new Uint8Array(8));
      const self = prepare(code, [TAIL_CALL]);
      const vm = createEngine(engine, self, { memory, resolveTailCall: () => self, tailCallFailure: BY_REASON });
      assert.equal(vm.run({ r1: counter }), BigInt.asUintN(64, -200n), engine);
      assert.equal(new DataView(memory.read(counter, 8).buffer).getBigUint64(0, true), 34n, `${engine}: 1 run and 33 tail calls`);
    }
  } finally {
    memory.release(mark);
  }
  // bpf_loop(1, cb, r10-8, 0); cb stores bpf_tail_call's answer at its ctx; main returns it.
  const target = prepare('mov %r0, 100\nexit', [TAIL_CALL]);
  const program = encode([
    /* 0 */ insn('stdw', { dst: 10, offset: -8, imm: 0 }),
    /* 1 */ insn('mov64_imm', { dst: 1, imm: 1 }),
    /* 2 */ codeAddr(2, 10 - 3), // target slot 10
    /* 4 */ insn('mov64_reg', { dst: 3, src: 10 }),
    /* 5 */ insn('add64_imm', { dst: 3, imm: -8 }),
    /* 6 */ insn('mov64_imm', { dst: 4, imm: 0 }),
    /* 7 */ insn('call', { imm: 181 }),
    /* 8 */ insn('ldxdw', { dst: 0, src: 10, offset: -8 }),
    /* 9 */ insn('exit'),
    /* 10 */ insn('mov64_reg', { dst: 6, src: 2 }),
    /* 11 */ insn('mov64_imm', { dst: 2, imm: 0x5000 }),
    /* 12 */ insn('mov64_imm', { dst: 3, imm: 0 }),
    /* 13 */ insn('call', { imm: 12 }),
    /* 14 */ insn('stxdw', { dst: 6, src: 0, offset: 0 }),
    /* 15 */ insn('mov64_imm', { dst: 0, imm: 1 }),
    /* 16 */ insn('exit'),
  ]);
  assert.deepEqual(both(program, { helpers: [TAIL_CALL, LOOP], resolveTailCall: () => target, tailCallFailure: BY_REASON }), { r0: BigInt.asUintN(64, -300n) });
});

/** bpf_loop(n, callback, ctx, flags): calls callback(i, ctx) until it returns non-zero. */
const LOOP: HelperDefinition = {
  id: 181,
  name: 'bpf_loop',
  prototype: { ret: 'scalar', args: ['scalar', 'func', 'anything', 'scalar'] },
  call: (a) => {
    const n = a.u32(1);
    let i = 0;
    for (; i < n; i++) {
      if (a.callFunction(a.u32(2), [i, a.u64(3)]) !== 0n) {
        i++;
        break;
      }
    }
    return i;
  },
};

const codeAddr = (dst: number, rel: number): InstructionFields => insn('lddw_code_addr', { dst, imm: rel, nextImm: 0 });

test('callbacks from helpers run the compiled target function on a fresh frame', () => {
  // main: r3 = &counter on the stack; bpf_loop(10, cb, r3, 0); return loops * 1000 + counter
  // cb(i, ctx): *ctx += i; stack write in its own frame; return i == 6
  const program = encode([
    /* 0 */ insn('stdw', { dst: 10, offset: -8, imm: 0 }),
    /* 1 */ insn('mov64_reg', { dst: 3, src: 10 }),
    /* 2 */ insn('add64_imm', { dst: 3, imm: -8 }),
    /* 3 */ insn('mov64_imm', { dst: 1, imm: 10 }),
    /* 4 */ codeAddr(2, 13 - 5), // slots 4-5; target slot 13
    /* 6 */ insn('mov64_imm', { dst: 4, imm: 0 }),
    /* 7 */ insn('call', { imm: 181 }),
    /* 8 */ insn('mul64_imm', { dst: 0, imm: 1000 }),
    /* 9 */ insn('ldxdw', { dst: 1, src: 10, offset: -8 }),
    /* 10 */ insn('add64_reg', { dst: 0, src: 1 }),
    /* 11 */ insn('exit'),
    /* 12 */ insn('exit'),
    /* 13 */ insn('ldxdw', { dst: 3, src: 2, offset: 0 }),
    /* 14 */ insn('add64_reg', { dst: 3, src: 1 }),
    /* 15 */ insn('stxdw', { dst: 2, src: 3, offset: 0 }),
    /* 16 */ insn('stxdw', { dst: 10, src: 1, offset: -8 }),
    /* 17 */ insn('mov64_imm', { dst: 0, imm: 0 }),
    /* 18 */ insn('jne_imm', { dst: 1, imm: 6, offset: 1 }),
    /* 19 */ insn('mov64_imm', { dst: 0, imm: 1 }),
    /* 20 */ insn('exit'),
  ]);
  assert.deepEqual(both(program, { helpers: [LOOP] }), { r0: 7021n }); // 7 calls, 0+1+…+6
});

test('a callback may call helpers; the outer helper still sees its own arguments', () => {
  const echo: HelperDefinition = { id: 5, name: 'echo', prototype: { ret: 'scalar', args: [] }, call: (a) => a.u64(1) * 2n };
  const program = encode([
    /* 0 */ insn('mov64_imm', { dst: 1, imm: 3 }),
    /* 1 */ codeAddr(2, 8 - 2), // target slot 8
    /* 3 */ insn('mov64_imm', { dst: 3, imm: 0 }),
    /* 4 */ insn('mov64_imm', { dst: 4, imm: 0 }),
    /* 5 */ insn('call', { imm: 181 }),
    /* 6 */ insn('exit'),
    /* 7 */ insn('exit'),
    /* 8 */ insn('call', { imm: 5 }), // echo(i) = 2i
    /* 9 */ insn('mov64_imm', { dst: 0, imm: 0 }),
    /* 10 */ insn('exit'),
  ]);
  assert.deepEqual(both(program, { helpers: [LOOP, echo] }), { r0: 3n });
});

test('the module is compiled once per program and validates as WebAssembly', () => {
  const program = prepare('mov %r0, 0\nmov %r1, 5\nl: add %r0, %r1\nsub %r1, 1\njne %r1, 0, l\nexit');
  assert.ok(WebAssembly.validate(compileToWasm(program)));
  // Reducible control flow becomes nested block/loop, never the dispatch loop.
  assert.equal(compileModule(program, true).stats.dispatchLoops, 0);
  const a = new JitProgram(program, { memory });
  const b = new JitProgram(program, { memory });
  assert.equal(a.run(), 15n);
  assert.equal(b.run(), 15n);
  assert.equal(compiledModule(program, true), compiledModule(program, true));
  assert.equal(a.instructionsExecuted, undefined);
});

test('an irreducible CFG is compiled as a dispatch loop with the same results', () => {
  // Two entries into the loop {l1, l2}: from the top (to l2) and by falling through (to l1).
  const source = `
    mov %r0, 0
    mov %r1, 4
    jeq %r2, 0, l2
  l1:
    add %r0, 1
  l2:
    add %r0, 10
    sub %r1, 1
    jne %r1, 0, l1
    exit`;
  assert.equal(compileModule(prepare(source), true).stats.dispatchLoops, 1);
  assert.deepEqual(both(source, { args: { r2: 0 } }), { r0: 43n });
  assert.deepEqual(both(source, { args: { r2: 1 } }), { r0: 44n });
  const runaway = runOn('jit', source.replace('mov %r1, 4', 'mov %r1, 0'), { instructionLimit: 10_000 });
  assert.ok('fault' in runaway && runaway.fault === 'instruction-limit');
});

test('a jump from one function into another runs on the interpreter, with the same result', () => {
  const mark = memory.mark();
  try {
    const code = encode([
      insn('call_local', { imm: 1 }), // f at slot 2
      insn('ja', { offset: 2 }), // to slot 4, inside f
      insn('mov64_imm', { dst: 0, imm: 3 }),
      insn('exit'),
      insn('add64_imm', { dst: 0, imm: 5 }),
      insn('exit'),
    ]);
    const vm = new JitProgram(prepare(code), { memory });
    assert.match(vm.interpretedBecause ?? '', /leaves the function/);
    assert.deepEqual(outcome(() => vm.run()), outcome(() => new Interpreter(prepare(code), { memory }).run()));
  } finally {
    memory.release(mark);
  }
});
