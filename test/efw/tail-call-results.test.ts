// What bpf_tail_call answers when it does not jump, per ABI (src/runtime/tail-calls.ts): an
// ebpf-for-windows program gets -EBPF_INVALID_ARGUMENT (-6) for a slot without a program and
// -EBPF_NO_MORE_TAIL_CALLS (-27) once its 33 tail calls are spent, on both engines, from a test
// run and from its hook alike. test/fixtures/elf/efw_tail_calls.c returns the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject } from '../../src/elf/index.js';
import { BindHook } from '../../src/program-types/index.js';
import { ExecutionContext } from '../../src/runtime/context.js';
import { loadObject } from '../../src/runtime/load.js';
import { REPO_ROOT } from '../support/shared.js';

const FIXTURE = new Uint8Array(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'elf', 'efw_tail_calls.o')));
const signed = (value: bigint): bigint => BigInt.asIntN(64, value);

for (const engine of ['jit', 'interpreter'] as const) {
  test(`[${engine}] ebpf-for-windows: a tail call to a slot without a program answers -EBPF_INVALID_ARGUMENT (-6); past the 33rd, -EBPF_NO_MORE_TAIL_CALLS (-27)`, () => {
    const object = loadObject(openObject(FIXTURE), new ExecutionContext({ memory: { initialPages: 4 } }), { engine });
    assert.equal(object.spec.abi, 'efw');
    const hook = new BindHook(object.program('recurse'));
    const runs = (): bigint => new DataView(object.map('runs').lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true);
    const bind = (pid: number): bigint => signed(hook.run({ operation: 'bind', protocol: 'tcp', address: { address: '0.0.0.0', port: 80 }, pid }).returnValue);
    assert.equal(bind(1), -6n, 'slot 1 is empty');
    assert.equal(bind(5), -6n, 'slot 5 is past the end');
    assert.equal(runs(), 2n);
    assert.equal(bind(0), -27n, 'slot 0 is the program itself: it recurses until the tail calls run out');
    assert.equal(runs(), 2n + 34n, 'the first run and 33 tail calls');
    // A test run (`ebpf run`) answers the same.
    const ctx = new Uint8Array(object.program('recurse').programType.contextSize('efw'));
    assert.equal(signed(object.program('recurse').testRun({ ctx }).returnValue), -27n);
  });
}
