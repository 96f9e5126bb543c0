import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, assembleBytes, encode, insn } from '../../src/isa/index.js';
import {
  BpfRuntimeError,
  HelperRegistry,
  Interpreter,
  LinearMemory,
  MAX_CALL_DEPTH,
  NULL_GUARD,
  ProgramLoadError,
  STACK_SIZE,
  prepareProgram,
  type HelperDefinition,
  type RunArguments,
  type TraceEvent,
} from '../../src/vm/index.js';

const memory = new LinearMemory({ initialPages: 2, maximumPages: 64 });

function run(source: string, args: RunArguments = {}, helpers: HelperDefinition[] = []): bigint {
  const mark = memory.mark();
  try {
    const program = prepareProgram(assembleBytes(source), { helpers: new HelperRegistry(helpers) });
    return new Interpreter(program, { memory }).run(args);
  } finally {
    memory.release(mark);
  }
}

function runWithBuffer(source: string, data: Uint8Array): { r0: bigint; after: Uint8Array } {
  const mark = memory.mark();
  try {
    const at = memory.alloc(data.length);
    memory.write(at, data);
    const program = prepareProgram(assembleBytes(source), { helpers: new HelperRegistry() });
    const r0 = new Interpreter(program, { memory }).run({ r1: at, r2: data.length });
    return { r0, after: memory.read(at, data.length) };
  } finally {
    memory.release(mark);
  }
}

function runtimeFault(source: string, args: RunArguments = {}, helpers: HelperDefinition[] = []): BpfRuntimeError {
  try {
    run(source, args, helpers);
  } catch (e) {
    assert.ok(e instanceof BpfRuntimeError, `expected BpfRuntimeError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the program to fault');
}

function loadFault(code: Uint8Array, helpers: HelperDefinition[] = []): ProgramLoadError {
  try {
    prepareProgram(code, { helpers: new HelperRegistry(helpers) });
  } catch (e) {
    assert.ok(e instanceof ProgramLoadError, `expected ProgramLoadError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the program to be refused');
}

const identity: HelperDefinition = { id: 5, name: 'identity', prototype: { ret: 'scalar', args: ['anything'] }, call: (a) => a.u64(1) };

test('loads read little-endian values and zero-extend', () => {
  const data = Uint8Array.from([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x91]);
  assert.equal(runWithBuffer('ldxb %r0, [%r1+7]\nexit', data).r0, 0x91n);
  assert.equal(runWithBuffer('ldxh %r0, [%r1+6]\nexit', data).r0, 0x9122n);
  assert.equal(runWithBuffer('ldxw %r0, [%r1+4]\nexit', data).r0, 0x91223344n);
  assert.equal(runWithBuffer('ldxdw %r0, [%r1]\nexit', data).r0, 0x9122334455667788n);
});

test('sign-extending loads fill the upper bits with the sign bit', () => {
  const data = Uint8Array.from([0x80, 0x80, 0x00, 0x80, 0x7f, 0x00, 0x00, 0x00]);
  assert.equal(runWithBuffer('ldxsb %r0, [%r1]\nexit', data).r0, 0xffffffffffffff80n);
  assert.equal(runWithBuffer('ldxsh %r0, [%r1]\nexit', data).r0, 0xffffffffffff8080n);
  assert.equal(runWithBuffer('ldxsw %r0, [%r1]\nexit', data).r0, 0xffffffff80008080n);
  assert.equal(runWithBuffer('ldxsb %r0, [%r1+4]\nexit', data).r0, 0x7fn);
});

test('stores write exactly their width, immediates sign-extended for stdw', () => {
  const { after } = runWithBuffer('stb [%r1+0], 0x1ff\nsth [%r1+2], -2\nstw [%r1+4], 0x11223344\nstdw [%r1+8], -1\nmov %r0, 0\nexit', new Uint8Array(16));
  assert.deepEqual([...after], [0xff, 0, 0xfe, 0xff, 0x44, 0x33, 0x22, 0x11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const reg = runWithBuffer('lddw %r2, 0x0102030405060708\nstxdw [%r1+0], %r2\nstxw [%r1+8], %r2\nstxh [%r1+12], %r2\nstxb [%r1+14], %r2\nmov %r0, 0\nexit', new Uint8Array(16));
  assert.deepEqual([...reg.after], [8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5, 8, 7, 8, 0]);
});

test('atomic fetch operations return the old value and store the new one', () => {
  const src = `
    stdw [%r10-8], 12
    mov %r1, 5
    lock fetch add [%r10-8], %r1
    ldxdw %r2, [%r10-8]
    lsh %r1, 8
    or %r1, %r2
    mov %r0, %r1
    exit`;
  assert.equal(run(src), (12n << 8n) | 17n);
  const xchg32 = `
    stw [%r10-4], 7
    mov %r1, -1
    lock xchg32 [%r10-4], %r1
    ldxw %r0, [%r10-4]
    lsh %r0, 32
    or %r0, %r1
    exit`;
  assert.equal(run(xchg32), 0xffffffff00000007n);
});

test('cmpxchg compares with r0 and always returns the old value in r0', () => {
  const src = `
    stdw [%r10-8], 3
    mov %r0, 3
    mov %r1, 9
    lock cmpxchg [%r10-8], %r1
    ldxdw %r2, [%r10-8]
    mov %r0, 4
    lock cmpxchg [%r10-8], %r1
    lsh %r0, 8
    or %r0, %r2
    exit`;
  // First exchange succeeds (3 -> 9), second fails and loads 9 into r0.
  assert.equal(run(src), (9n << 8n) | 9n);
});

test('misaligned atomics fault with a typed error naming the pc', () => {
  const e = runtimeFault('stdw [%r10-16], 0\nmov %r1, 1\nlock add [%r10-12], %r1\nexit');
  assert.equal(e.fault, 'misaligned-atomic');
  assert.equal(e.pc, 2);
});

test('local calls get a fresh 512-byte frame and keep r6-r9 and r10', () => {
  const src = `
    mov %r6, 6
    mov %r9, 9
    stdw [%r10-8], 100
    mov %r1, %r10
    call local f
    ldxdw %r2, [%r10-8]
    add %r0, %r2
    add %r0, %r6
    add %r0, %r9
    exit
  f:
    mov %r6, 0
    mov %r9, 0
    stdw [%r10-8], 1
    mov %r0, %r1
    sub %r0, %r10
    exit`;
  // Callee's frame pointer is 512 bytes above the caller's: r1 - r10 = -512.
  assert.equal(run(src), BigInt.asUintN(64, BigInt(-STACK_SIZE)) + 100n + 6n + 9n);
});

test(`call depth beyond ${MAX_CALL_DEPTH} frames is a call-depth fault`, () => {
  const e = runtimeFault('call local f\nexit\nf:\ncall local f\nexit');
  assert.equal(e.fault, 'call-depth');
  assert.equal(e.pc, 2);
  // Exactly MAX_CALL_DEPTH frames (the entry plus 7 nested calls) is fine.
  const calls = Array.from({ length: MAX_CALL_DEPTH - 2 }, (_, i) => `f${i}:\ncall local f${i + 1}\nexit`).join('\n');
  assert.equal(run(`call local f0\nexit\n${calls}\nf${MAX_CALL_DEPTH - 2}:\nmov %r0, 42\nexit`), 42n);
});

test('memory access outside the linear memory is an out-of-bounds fault', () => {
  const e = runtimeFault('lddw %r1, 0x7ffffff0\nldxw %r0, [%r1+0]\nexit');
  assert.equal(e.fault, 'out-of-bounds');
  assert.equal(e.pc, 2);
  assert.match(e.message, /pc 2: memory access out of bounds: 4-byte access at r1\+0 = 0x7ffffff0/);
  const high = runtimeFault('lddw %r1, 0x100001000\nstb [%r1+0], 1\nexit');
  assert.equal(high.fault, 'out-of-bounds');
});

test('access through a null pointer is a null-dereference fault', () => {
  const e = runtimeFault('mov %r1, 0\nldxdw %r0, [%r1+16]\nexit');
  assert.equal(e.fault, 'null-dereference');
  assert.equal(e.pc, 1);
  assert.ok(NULL_GUARD >= 4096);
});

test('running off the end of the program is a bad-jump fault', () => {
  const e = runtimeFault('mov %r0, 1');
  assert.equal(e.fault, 'bad-jump');
  assert.equal(e.pc, 1);
});

test('an endless loop stops at the instruction limit', () => {
  const program = prepareProgram(assembleBytes('l:\nja l'), { helpers: new HelperRegistry() });
  const mark = memory.mark();
  try {
    assert.throws(() => new Interpreter(program, { memory, instructionLimit: 1000 }).run(), (e: unknown) => e instanceof BpfRuntimeError && e.fault === 'instruction-limit');
  } finally {
    memory.release(mark);
  }
});

test('helpers get their arguments and set r0; a throwing helper is a typed fault', () => {
  const sum: HelperDefinition = { id: 7, name: 'sum', prototype: { ret: 'scalar', args: [] }, call: (a) => a.u64(1) + a.u64(2) + a.u64(3) + a.u64(4) + a.u64(5) };
  assert.equal(run('mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nlddw %r5, 0x100000000\ncall 7\nexit', {}, [sum]), 0x10000000an);
  const negative: HelperDefinition = { id: 8, name: 'neg', prototype: { ret: 'scalar', args: [] }, call: () => -22 };
  assert.equal(run('call 8\nexit', {}, [negative]), BigInt.asUintN(64, -22n));
  const broken: HelperDefinition = { id: 9, name: 'broken', prototype: { ret: 'scalar', args: [] }, call: () => { throw new Error('boom'); } };
  const e = runtimeFault('mov %r0, 0\ncall 9\nexit', {}, [broken]);
  assert.equal(e.fault, 'helper-error');
  assert.match(e.message, /pc 1: helper broken \(#9\) failed: boom/);
});

test('callx calls the helper whose id is in the register, and faults on unknown ids', () => {
  assert.equal(run('mov %r1, 77\nmov %r2, 5\ncall %r2\nexit', {}, [identity]), 77n);
  const e = runtimeFault('mov %r2, 6\ncall %r2\nexit', {}, [identity]);
  assert.equal(e.fault, 'unknown-helper');
  assert.equal(e.pc, 1);
});

test('arguments r1-r5 are passed in, bigint or number', () => {
  assert.equal(run('mov %r0, %r1\nadd %r0, %r5\nexit', { r1: -1, r5: 2n }), 1n);
  assert.equal(run('mov %r0, %r3\nexit', { r3: 0xffffffffffffffffn }), 0xffffffffffffffffn);
});

test('legacy packet loads read big-endian and end the program with 0 when out of bounds', () => {
  const mark = memory.mark();
  try {
    const at = memory.alloc(4);
    memory.write(at, Uint8Array.from([0x12, 0x34, 0x56, 0x78]));
    const runLegacy = (src: string): bigint =>
      new Interpreter(prepareProgram(assembleBytes(src), { helpers: new HelperRegistry() }), { memory }).run({ packet: { address: at, length: 4 } });
    assert.equal(runLegacy('ldabsh 1\nexit'), 0x3456n);
    assert.equal(runLegacy('mov %r1, 0\nldindw %r1, 0\nexit'), 0x12345678n);
    assert.equal(runLegacy('ldabsw 1\nmov %r0, 99\nexit'), 0n);
  } finally {
    memory.release(mark);
  }
});

test('the trace sees every executed instruction with the registers before it', () => {
  const events: TraceEvent[] = [];
  const program = prepareProgram(assembleBytes('mov %r0, 1\nadd %r0, 2\nexit'), { helpers: new HelperRegistry() });
  const mark = memory.mark();
  try {
    new Interpreter(program, { memory, trace: (e) => events.push(e) }).run();
  } finally {
    memory.release(mark);
  }
  assert.deepEqual(events.map((e) => e.pc), [0, 1, 2]);
  assert.deepEqual(events.map((e) => e.registers[0]), [0n, 1n, 3n]);
  assert.equal(events[1].instruction.spec.name, 'add64_imm');
});

test('load refuses calls to unknown helpers', () => {
  const e = loadFault(assembleBytes('call 99\nexit'));
  assert.equal(e.fault, 'unknown-helper');
  assert.equal(e.pc, 0);
});

test('load refuses writes to r10', () => {
  assert.equal(loadFault(encode([insn('mov64_imm', { dst: 10, imm: 0 }), insn('exit')])).fault, 'frame-pointer-write');
  assert.equal(loadFault(encode([insn('ldxdw', { dst: 10, src: 1 }), insn('exit')])).fault, 'frame-pointer-write');
  assert.equal(loadFault(encode([insn('lock_fetch_add64', { dst: 1, src: 10 }), insn('exit')])).fault, 'frame-pointer-write');
});

test('load refuses jumps outside the program and into the middle of lddw', () => {
  const out = loadFault(assembleBytes('ja +5\nexit'));
  assert.equal(out.fault, 'bad-jump');
  assert.match(out.message, /outside the program/);
  const into = loadFault(assembleBytes('ja +1\nlddw %r0, 1\nexit'));
  assert.match(into.message, /into the middle of an lddw/);
  const call = loadFault(assembleBytes('call local -5\nexit'));
  assert.equal(call.fault, 'bad-jump');
});

test('load refuses empty programs, undecodable bytes and unresolved map references', () => {
  assert.equal(loadFault(new Uint8Array(0)).fault, 'empty');
  const bad = loadFault(Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(bad.fault, 'decode');
  assert.match(bad.message, /unknown opcode 0xff/);
  const map = loadFault(encode(assemble('lddw %r1, map_fd(3)\nexit')));
  assert.equal(map.fault, 'unsupported');
  assert.match(map.message, /lddw_map_fd/);
});

test('memory grows on demand and the interpreter sees the new size after a helper grows it', () => {
  const local = new LinearMemory({ initialPages: 1, maximumPages: 8 });
  let grown = 0;
  const grow: HelperDefinition = {
    id: 1, name: 'grow', prototype: { ret: 'scalar', args: [] },
    call: (a) => {
      grown = a.memory.alloc(200_000);
      return grown;
    },
  };
  const program = prepareProgram(assembleBytes('call 1\nadd %r0, 199992\nstdw [%r0+0], 7\nldxdw %r0, [%r0+0]\nexit'), { helpers: new HelperRegistry([grow]) });
  assert.equal(new Interpreter(program, { memory: local }).run(), 7n);
  assert.ok(local.size >= grown + 200_000);
});
