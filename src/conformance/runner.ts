// Runs a folder of conformance `.data` files in one process, the way the bpf_conformance runner
// selects them (CPU version, instruction groups), and reports each outcome.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { assemble, AssemblyError, decode, encode, type CpuVersion, type Group, type Instruction } from '../isa/index.js';
import { BpfRuntimeError, ProgramLoadError } from '../vm/errors.js';
import { LinearMemory } from '../vm/memory.js';
import { parseDataFile, type ConformanceTest } from './data-file.js';
import { runConformanceProgram, type Engine } from './environment.js';

export interface SuiteOptions {
  readonly engine?: Engine;
  /** Skip tests that need a newer ISA version (default 4: run everything). */
  readonly cpu?: CpuVersion;
  /** Instruction groups allowed (default: all). base64, atomic64, divmul64 imply their 32-bit groups. */
  readonly groups?: readonly Group[];
}

export type Outcome =
  | { readonly name: string; readonly status: 'pass' }
  | { readonly name: string; readonly status: 'fail'; readonly expected: string; readonly actual: string }
  | { readonly name: string; readonly status: 'skip'; readonly reason: string };

export interface SuiteResult {
  readonly outcomes: readonly Outcome[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly elapsedMs: number;
}

const IMPLIED: Partial<Record<Group, Group>> = { base64: 'base32', atomic64: 'atomic32', divmul64: 'divmul32' };

function expandGroups(groups: readonly Group[]): Set<Group> {
  const set = new Set(groups);
  for (const g of groups) {
    const implied = IMPLIED[g];
    if (implied !== undefined) set.add(implied);
  }
  return set;
}

/** Program bytes of a test: its raw section, else its assembled asm. */
export function testProgram(test: ConformanceTest): Uint8Array {
  if (test.raw !== undefined) return test.raw;
  return encode(assemble(test.asm ?? ''));
}

/** The newest ISA version and the groups a program's instructions need. */
export function requirements(insns: readonly Instruction[]): { cpu: CpuVersion; groups: Set<Group> } {
  let cpu: CpuVersion = 1;
  const groups = new Set<Group>();
  for (const i of insns) {
    if (i.spec.cpu > cpu) cpu = i.spec.cpu;
    groups.add(i.spec.group);
  }
  return { cpu, groups };
}

const hex = (v: bigint): string => '0x' + v.toString(16);

function errorText(e: unknown): string {
  if (e instanceof BpfRuntimeError || e instanceof ProgramLoadError || e instanceof AssemblyError) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Runs one parsed test. Returns a skip when the CPU version or groups exclude it. */
export function runTest(
  name: string,
  test: ConformanceTest,
  options: SuiteOptions = {},
  memory?: LinearMemory,
): Outcome {
  const cpu = options.cpu ?? 4;
  const allowed = options.groups === undefined ? undefined : expandGroups(options.groups);
  let code: Uint8Array;
  try {
    code = testProgram(test);
    const need = requirements(decode(code));
    if (need.cpu > cpu) return { name, status: 'skip', reason: `needs cpu v${need.cpu}` };
    if (allowed !== undefined) {
      const missing = [...need.groups].filter((g) => !allowed.has(g));
      if (missing.length > 0) return { name, status: 'skip', reason: `needs group ${missing.join(', ')}` };
    }
  } catch (e) {
    if (test.error !== undefined && errorText(e) === test.error) return { name, status: 'pass' };
    return { name, status: 'fail', expected: test.result === undefined ? `error '${test.error}'` : hex(test.result), actual: `error: ${errorText(e)}` };
  }
  try {
    const { r0 } = runConformanceProgram(code, test.memory, { engine: options.engine, memory });
    if (test.result !== undefined && r0 === test.result) return { name, status: 'pass' };
    return { name, status: 'fail', expected: test.result === undefined ? `error '${test.error}'` : hex(test.result), actual: hex(r0) };
  } catch (e) {
    const text = errorText(e);
    if (test.error !== undefined && text === test.error) return { name, status: 'pass' };
    return { name, status: 'fail', expected: test.result === undefined ? `error '${test.error}'` : hex(test.result), actual: `error: ${text}` };
  }
}

/** Runs every `*.data` file of `dir` (not recursive, sorted by name, as the runner does). */
export function runSuite(dir: string, options: SuiteOptions = {}): SuiteResult {
  const files = readdirSync(dir).filter((f) => f.endsWith('.data')).sort();
  const memory = new LinearMemory({ initialPages: 1, maximumPages: 16, shared: false });
  const start = performance.now();
  const outcomes: Outcome[] = [];
  for (const file of files) {
    const name = basename(file, '.data');
    let parsed;
    try {
      parsed = parseDataFile(readFileSync(join(dir, file), 'utf8'));
    } catch (e) {
      outcomes.push({ name, status: 'fail', expected: 'a readable test file', actual: errorText(e) });
      continue;
    }
    if (parsed.kind === 'skip') outcomes.push({ name, status: 'skip', reason: parsed.reason });
    else outcomes.push(runTest(name, parsed.test, options, memory));
  }
  const count = (s: Outcome['status']): number => outcomes.filter((o) => o.status === s).length;
  return {
    outcomes,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
    elapsedMs: performance.now() - start,
  };
}
