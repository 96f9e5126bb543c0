// `npm start`: a short, real walk through what exists today: assemble a program, disassemble
// it both ways, run it on the interpreter, check it against a JS reference, run the conformance
// suite when it is beside the checkout.

import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assemble, decode, disassemble, encode } from '../../isa/index.js';
import { HelperRegistry, Interpreter, LinearMemory, prepareProgram } from '../../vm/index.js';
import { runSuite } from '../../conformance/runner.js';
import { summaryLine } from './conformance.js';
import { PACKAGE_ROOT, SHARED_CONFORMANCE } from '../package-root.js';

/** RFC 1071 checksum in plain JS, to check the eBPF program's answer. */
function referenceChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length % 2 === 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function tourCommand(options: { json?: boolean }, write: (s: string) => void): number {
  const out = options.json ? (): void => undefined : write;
  const source = join(PACKAGE_ROOT, 'examples', 'asm', 'checksum.s');
  out(`== 1. Assemble ${relative(process.cwd(), source) || source}\n`);
  const code = encode(assemble(readFileSync(source, 'utf8')));
  out(`${code.length / 8} instructions, ${code.length} bytes\n\n`);

  const insns = decode(code);
  out('== 2. Disassemble (llvm-objdump syntax)\n');
  for (const line of disassemble(insns, { syntax: 'llvm' })) out(`  ${line}\n`);
  out('\n   ...and in the conformance dialect (first 6 lines)\n');
  for (const line of disassemble(insns, { syntax: 'conformance', pcs: false }).slice(0, 6)) out(`  ${line}\n`);

  out('\n== 3. Run it on the interpreter: checksum of a 20-byte IPv4 header\n');
  const header = Uint8Array.from([0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 0xac, 0x10, 0x0a, 0x63, 0xac, 0x10, 0x0a, 0x0c]);
  const memory = new LinearMemory();
  const program = prepareProgram(code, { helpers: new HelperRegistry() });
  const vm = new Interpreter(program, { memory });
  const at = memory.alloc(1500);
  memory.write(at, header);
  const r0 = vm.run({ r1: at, r2: header.length });
  const expected = referenceChecksum(header);
  out(`  r0 = 0x${r0.toString(16)} after ${vm.instructionsExecuted} instructions; JS reference says 0x${expected.toString(16)}: ${Number(r0) === expected ? 'match' : 'MISMATCH'}\n`);

  const frame = new Uint8Array(1500).map((_, i) => (i * 7 + 3) & 0xff);
  memory.write(at, frame);
  vm.run({ r1: at, r2: frame.length });
  const perRun = vm.instructionsExecuted;
  const runs = 2000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) vm.run({ r1: at, r2: frame.length });
  const ns = Number(process.hrtime.bigint() - start) / runs;
  out(`  1500-byte frame: ${perRun} instructions per run, ${(ns / 1000).toFixed(1)} µs per run, ${(ns / perRun).toFixed(1)} ns per instruction\n`);

  out('\n== 4. The bpf_conformance suite\n');
  let conformance: { passed: number; failed: number; ms: number } | undefined;
  if (existsSync(SHARED_CONFORMANCE)) {
    const result = runSuite(SHARED_CONFORMANCE);
    conformance = { passed: result.passed, failed: result.failed, ms: result.elapsedMs };
    out(`  ${relative(process.cwd(), SHARED_CONFORMANCE)}: ${result.elapsedMs.toFixed(0)} ms\n  ${summaryLine(result)}\n`);
  } else {
    out(`  not found at ${SHARED_CONFORMANCE}; run 'ebpf conformance DIR' on a copy of bpf_conformance/tests\n`);
  }
  const ok = Number(r0) === expected && (conformance === undefined || conformance.failed === 0);
  if (options.json) {
    write(JSON.stringify({ instructions: insns.length, checksum: Number(r0), expected, instructionsPerRun: perRun, nsPerRun: ns, nsPerInstruction: ns / perRun, conformance }) + '\n');
  }
  return ok ? 0 : 1;
}
