// Interpreter vs JIT on thousands of random valid programs per run (test/jit/random-program.ts):
// same r0, same stack and data bytes, or the same fault kind at the same pc. Both engines get
// their own memory laid out identically, so stack addresses (r10) agree too.
// Reproduce a failure with DIFF_SEED=<seed>; DIFF_COUNT changes the number of programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/isa/index.js';
import { BpfRuntimeError, HelperRegistry, Interpreter, LinearMemory, prepareProgram, type HelperArguments } from '../../src/vm/index.js';
import { JitProgram } from '../../src/vm/jit/index.js';
import { REGION_BYTES } from '../../src/vm/jit/layout.js';
import { Rng, TEST_HELPER_ID, randomProgram } from './random-program.js';

const seed = process.env.DIFF_SEED !== undefined ? Number(process.env.DIFF_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const count = process.env.DIFF_COUNT !== undefined ? Number(process.env.DIFF_COUNT) : 3000;

const helpers = new HelperRegistry([
  {
    id: TEST_HELPER_ID,
    name: 'test_mix',
    prototype: { ret: 'scalar', args: ['anything', 'anything', 'anything', 'anything', 'anything'] },
    call: (a: HelperArguments) => (a.u64(1) * 3n) ^ (a.u64(2) << 7n) ^ a.u64(3) ^ BigInt(a.i32(4)) ^ (a.i64(5) >> 3n),
  },
]);

type Outcome = { r0: bigint } | { fault: string; pc: number };

interface Side {
  outcome: Outcome;
  stack: Uint8Array;
  data: Uint8Array;
}

const DATA_BYTES = 256;

function runOn(engine: 'interpreter' | 'jit', code: Uint8Array, args: (bigint | number)[], shared: boolean): Side {
  const memory = new LinearMemory({ initialPages: 2, maximumPages: 64, shared });
  const data = memory.alloc(DATA_BYTES, 16);
  memory.write(data, new Uint8Array(DATA_BYTES).map((_, i) => (i * 37 + 11) & 0xff));
  const program = prepareProgram(code, { helpers });
  const vm = engine === 'jit' ? new JitProgram(program, { memory }).compile() : new Interpreter(program, { memory });
  const stackBase = engine === 'jit' ? (vm as JitProgram).region : (vm as Interpreter).framePointer - 512;
  if (engine === 'jit') assert.equal((vm as JitProgram).interpretedBecause, undefined, 'the JIT compiles every random program');
  let outcome: Outcome;
  try {
    outcome = { r0: vm.run({ r1: args[0], r2: args[1], r3: args[2], r4: args[3], r5: args[4] }) };
  } catch (e) {
    if (!(e instanceof BpfRuntimeError)) throw e;
    outcome = { fault: e.fault, pc: e.pc };
  }
  return { outcome, stack: memory.read(stackBase, 4096), data: memory.read(data, DATA_BYTES) };
}

test(`interpreter and JIT agree on ${count} random programs (DIFF_SEED=${seed})`, (t) => {
  t.diagnostic(`DIFF_SEED=${seed} DIFF_COUNT=${count}`);
  process.stderr.write(`differential test: DIFF_SEED=${seed} DIFF_COUNT=${count}\n`);
  const rng = new Rng(seed);
  const start = performance.now();
  let faults = 0;
  let instructions = 0;
  for (let i = 0; i < count; i++) {
    const programSeed = rng.next();
    const prng = new Rng(programSeed);
    const { insns } = randomProgram(prng, { faults: prng.chance(0.15) });
    const code = encode(insns);
    instructions += insns.length;
    // 64-bit arguments as bigints, or (every third program) int32 numbers, the JIT's fast path.
    const wide = Array.from({ length: 5 }, () => BigInt.asUintN(64, (BigInt(prng.next()) << 32n) | BigInt(prng.next())));
    const args = i % 3 === 0 ? wide.map((v) => Number(BigInt.asIntN(32, v))) : wide;
    const shared = (i & 1) === 0;
    const a = runOn('interpreter', code, args, shared);
    const b = runOn('jit', code, args, shared);
    const where = `program #${i} (DIFF_SEED=${seed}, program seed ${programSeed})`;
    assert.deepEqual(b.outcome, a.outcome, `${where}: outcome`);
    assert.deepEqual(b.stack, a.stack, `${where}: stack contents`);
    assert.deepEqual(b.data, a.data, `${where}: data memory`);
    if ('fault' in a.outcome) faults++;
  }
  const ms = performance.now() - start;
  t.diagnostic(`${count} programs (${instructions} instructions, ${faults} faulting) in ${ms.toFixed(0)} ms`);
  assert.ok(REGION_BYTES > 4096);
});
