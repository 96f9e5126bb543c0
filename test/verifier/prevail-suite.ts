// Loads PREVAIL's YAML verifier tests and runs them through our verifier, comparing verdicts.
// Shared by prevail-yaml.test.ts (the ratchet) and usable on its own for investigation:
//   node dist/test/verifier/prevail-suite.js [file-filter] [-v]

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { assembleLlvm } from '../../src/isa/assemble-llvm.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { LddwSrc } from '../../src/isa/opcodes.js';
import { S64_MAX, itv, meet, normalize, topNum, type Itv } from '../../src/verifier/domain/interval.js';
import { type MapInfo, type Reg, type State, STACK_NUMBER, T, TOP, type TypeName, numberReg } from '../../src/verifier/domain/state.js';
import { type MapRef, type VerificationReport, emptyState, verify } from '../../src/verifier/index.js';
import { GENERIC } from '../../src/program-types/base-rules.js';

/** PREVAIL's test platform: every map fd is this one map. */
export const TEST_MAP: MapInfo = { name: 'test_map', type: 0, keySize: 4, valueSize: 4, maxEntries: 4, readOnly: false };

export interface CaseResult {
  readonly file: string;
  readonly index: number;
  readonly name: string;
  readonly expectReject: boolean;
  /** undefined when the case could not be run (see `unsupported`). */
  readonly rejected?: boolean;
  readonly unsupported?: string;
  readonly report?: VerificationReport;
  readonly messages: readonly string[];
  /** Relational `pre` facts that were dropped (the entry state is larger than PREVAIL's). */
  readonly approximated?: readonly string[];
}

class Unsupported extends Error {}

const PREVAIL_TYPES: Record<string, TypeName | undefined> = {
  uninit: 'uninit', number: 'number', ctx: 'ctx', packet: 'packet', stack: 'stack', shared: 'shared',
  map_fd: 'map_fd', map_fd_programs: 'map_fd_programs', func: 'func', alloc_mem: 'alloc_mem',
};

function parseNum(text: string): bigint {
  const t = text.trim();
  const neg = t.startsWith('-');
  const v = BigInt(t.replace(/^[-+]/, ''));
  return neg ? -v : v;
}

function parseRange(text: string): Itv {
  const t = text.trim();
  const m = /^\[\s*([^,]+),\s*([^\]]+)\]$/.exec(t);
  if (m === null) return itv(parseNum(t));
  const lo = m[1].trim() === '-oo' ? -(1n << 70n) : parseNum(m[1]);
  const hi = m[2].trim() === '+oo' ? 1n << 70n : parseNum(m[2]);
  return itv(lo, hi);
}

/** Builds the entry state from `pre`; throws Unsupported for facts we cannot represent. */
export function entryFromPre(pre: readonly string[], approximated: string[] = []): State {
  const s = emptyState();
  const regs: Reg[] = s.regs.map(() => TOP);
  let r10Offset: bigint | undefined;
  const numericAfter: [number, bigint][] = [];
  const relations: [number, 's' | 'u', number, 's' | 'u'][] = [];
  const setReg = (r: number, f: (x: Reg) => Reg): void => {
    regs[r] = f(regs[r]);
  };
  for (const raw of pre) {
    const c = raw.replace(/\s+/g, ' ').trim();
    let m: RegExpExecArray | null;
    if (c === '_|_') throw new Unsupported('bottom entry state');
    if ((m = /^r(\d+)\.type ?= ?(\w+)$/.exec(c)) !== null) {
      const t = PREVAIL_TYPES[m[2]];
      if (t === undefined) throw new Unsupported(`type ${m[2]}`);
      setReg(Number(m[1]), (x) => ({ ...x, types: T[t], nullable: false }));
      continue;
    }
    if ((m = /^r(\d+)\.type in \{([^}]*)\}$/.exec(c)) !== null) {
      let types = 0;
      for (const name of m[2].split(',').map((x) => x.trim())) {
        const t = PREVAIL_TYPES[name];
        if (t === undefined) throw new Unsupported(`type ${name}`);
        types |= T[t];
      }
      setReg(Number(m[1]), (x) => ({ ...x, types, nullable: false }));
      continue;
    }
    if ((m = /^r(\d+)\.packet_offset ?= ?packet_size$/.exec(c)) !== null) {
      setReg(Number(m[1]), (x) => ({ ...x, pktBase: 'end', pkt: itv(0n) }));
      continue;
    }
    if ((m = /^r(\d+)\.packet_offset ?= ?meta_offset$/.exec(c) ?? /^meta_offset ?= ?r(\d+)\.packet_offset$/.exec(c)) !== null) {
      setReg(Number(m[1]), (x) => ({ ...x, pktBase: 'meta', pkt: itv(0n) }));
      continue;
    }
    if ((m = /^r(\d+)\.(\w+) ?= ?(-?[\w]+|\[[^\]]*\])$/.exec(c)) !== null && !/^r\d/.test(m[3])) {
      const r = Number(m[1]);
      const v = parseRange(m[3]);
      switch (m[2]) {
        case 'svalue': setReg(r, (x) => ({ ...x, num: { ...x.num, s: meet(x.num.s, v) ?? itv(1n, 0n) } })); break;
        case 'uvalue': setReg(r, (x) => ({ ...x, num: { ...x.num, u: meet(x.num.u, v) ?? itv(1n, 0n) } })); break;
        case 'ctx_offset': setReg(r, (x) => ({ ...x, ctx: v })); break;
        case 'stack_offset': setReg(r, (x) => ({ ...x, stack: v })); if (r === 10 && v.lo === v.hi) r10Offset = v.lo; break;
        case 'packet_offset': setReg(r, (x) => ({ ...x, pkt: v, pktBase: 'data' })); break;
        case 'shared_offset': setReg(r, (x) => ({ ...x, shared: v })); break;
        case 'shared_region_size': setReg(r, (x) => ({ ...x, sharedSize: v.lo })); break;
        case 'alloc_mem_offset': setReg(r, (x) => ({ ...x, alloc: v })); break;
        case 'alloc_mem_size': setReg(r, (x) => ({ ...x, allocSize: v.lo })); break;
        case 'map_fd': case 'map_fd_programs': setReg(r, (x) => ({ ...x, map: TEST_MAP })); break;
        case 'stack_numeric_size': numericAfter.push([r, v.lo]); break;
        default: throw new Unsupported(`constraint ${c}`);
      }
      continue;
    }
    if ((m = /^packet_size ?= ?(-?\w+|\[[^\]]*\])$/.exec(c)) !== null) {
      const v = parseRange(m[1]);
      s.pktLo = v.lo < 0n ? 0n : v.lo;
      s.pktHi = v.hi < s.pktHi ? v.hi : s.pktHi;
      continue;
    }
    if ((m = /^meta_offset ?= ?(-?\w+|\[[^\]]*\])$/.exec(c)) !== null) {
      const v = parseRange(m[1]);
      s.metaLo = -v.hi < 0n ? 0n : -v.hi;
      s.metaHi = -v.lo < s.metaHi ? -v.lo : s.metaHi;
      continue;
    }
    if ((m = /^s\[(\d+)(?:\.\.\.(\d+))?\]\.(\w+) ?= ?(.+)$/.exec(c)) !== null) {
      const a = Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      if (m[3] === 'type' && m[4] === 'number') {
        s.bytes.fill(STACK_NUMBER, a, b + 1);
        continue;
      }
      if ((m[3] === 'svalue' || m[3] === 'uvalue') && [1, 2, 4, 8].includes(b - a + 1)) {
        const v = parseRange(m[4]);
        const width = b - a + 1;
        const old = s.cells.get(a)?.reg.num ?? topNum(64);
        const num = m[3] === 'svalue' ? { ...old, s: meet(old.s, v) ?? old.s } : { ...old, u: meet(old.u, v) ?? old.u };
        s.cells.set(a, { width, reg: numberReg(normalize(num) ?? topNum(64)) });
        continue;
      }
      throw new Unsupported(`stack fact ${c}`);
    }
    // Relations between two variables: equal ranges can be intersected; the relation itself is
    // dropped, which only enlarges the entry state (sound, but less precise than PREVAIL).
    if ((m = /^r(\d+)\.([su])value ?= ?r(\d+)\.([su])value$/.exec(c)) !== null) {
      relations.push([Number(m[1]), m[2] as 's' | 'u', Number(m[3]), m[4] as 's' | 'u']);
      continue;
    }
    if (/^[\w.[\]]+ ?- ?[\w.[\]]+ ?<= ?-?\d+$/.test(c) || /^r\d+\.type ?= ?r\d+\.type$/.test(c) || /^r\d+\.\w+ ?= ?r\d+\.\w+ ?[-+] ?\d+$/.test(c)) {
      approximated.push(c);
      continue;
    }
    throw new Unsupported(`constraint ${c}`);
  }
  for (const [a, ka, b, kb] of relations) {
    if (a === b && ka !== kb) {
      // s = u: the value is non-negative as a signed number.
      setReg(a, (x) => ({ ...x, num: { s: meet(x.num.s, itv(0n, S64_MAX)) ?? itv(1n, 0n), u: meet(x.num.u, itv(0n, S64_MAX)) ?? itv(1n, 0n) } }));
      continue;
    }
    approximated.push(`r${a}.${ka}value=r${b}.${kb}value`);
    const both = meet(regs[a].num[ka], regs[b].num[kb]);
    if (both === undefined) throw new Unsupported('contradictory relation');
    setReg(a, (x) => ({ ...x, num: { ...x.num, [ka]: both } }));
    setReg(b, (x) => ({ ...x, num: { ...x.num, [kb]: both } }));
  }
  for (let r = 0; r < regs.length; r++) {
    const x = regs[r];
    const num = normalize(x.num);
    if (num === undefined) throw new Unsupported(`contradictory numbers for r${r}`);
    // PREVAIL models null as a shared pointer whose address may be 0.
    const nullable = (x.types & (T.shared | T.alloc_mem)) !== 0 && num.u.lo === 0n;
    const map = (x.types & (T.map_fd | T.map_fd_programs)) !== 0 ? TEST_MAP : x.map;
    regs[r] = { ...x, num, nullable, map };
    s.regs[r] = regs[r];
  }
  for (const [r, n] of numericAfter) {
    const off = regs[r].stack;
    if (off.lo === off.hi) s.bytes.fill(STACK_NUMBER, Number(off.lo), Number(off.lo + n));
  }
  // Stack cells written in `pre` must also be marked as numbers.
  for (const [at, cell] of s.cells) s.bytes.fill(STACK_NUMBER, at, at + cell.width);
  s.frameTop = r10Offset ?? 512n;
  // Stack pointers in `pre` come from the current frame.
  for (let r = 0; r < s.regs.length; r++) if ((s.regs[r].types & T.stack) !== 0) s.regs[r] = { ...s.regs[r], stackFrame: s.frameTop };
  return s;
}

function expectedReject(messages: readonly string[]): boolean {
  return messages.some((m) => !/Code becomes unreachable|observation .* failed/.test(m));
}

/** The loader checks of PREVAIL's runner for `observe` (its expected-exception cases). */
function checkObserve(observe: unknown): void {
  if (observe === undefined) return;
  if (!Array.isArray(observe)) throw new Error('observe must be a sequence');
  for (const item of observe) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error('observe item must be a map');
    const o = item as Record<string, unknown>;
    if (!('constraints' in o)) throw new Error("observe item missing required 'constraints' field");
    if (!Array.isArray(o.constraints) || o.constraints.some((x) => typeof x !== 'string')) throw new Error('observe.constraints must be a sequence of strings');
    if (o.at !== undefined && o.at !== 'entry' && o.at !== 'exit' && Number(o.at) < 0) throw new Error(`Invalid observation label: ${o.at}`);
  }
}

export function runCase(file: string, index: number, doc: Record<string, unknown>): CaseResult {
  const name = String(doc['test-case']);
  const messages = ((doc.messages as string[] | undefined) ?? []).map(String);
  const base = { file, index, name, messages };
  if (doc['expected-exception'] !== undefined) {
    const expected = String(doc['expected-exception']);
    try {
      checkObserve(doc.observe);
    } catch (e) {
      const ok = e instanceof Error && e.message === expected;
      return { ...base, expectReject: true, rejected: ok };
    }
    return { ...base, expectReject: true, rejected: false };
  }
  const expectReject = expectedReject(messages);
  try {
    if (messages.some((m) => /observation .* failed/.test(m))) throw new Unsupported('observation checks');
    const code = doc.code as Record<string, string>;
    const text = Object.entries(code).map(([label, body]) => `${label}:\n${body}`).join('\n');
    const asm = assembleLlvm(text);
    const insns = decode(encode(asm.instructions));
    const maps = new Map<number, MapRef>();
    for (const insn of insns) {
      if (insn.spec.form !== 'lddw' || insn.src === LddwSrc.IMM64 || insn.src === LddwSrc.CODE_ADDR) continue;
      if ((insn.src === LddwSrc.MAP_IDX || insn.src === LddwSrc.MAP_IDX_VALUE) && insn.imm !== 0) continue; // only one map exists
      maps.set(insn.pc, { kind: 'map', offset: 0, map: TEST_MAP });
    }
    const options = ((doc.options as string[] | undefined) ?? []).map(String);
    const approximated: string[] = [];
    const entryState = entryFromPre(((doc.pre as string[] | undefined) ?? []).map(String), approximated);
    const report = verify(
      { instructions: insns, maps, programType: GENERIC, assumptions: asm.assumptions },
      {
        // PREVAIL's environment: one 4096-byte stack region shared by all frames.
        // Its pointers are 64-bit: a 32-bit move does not keep one.
        entryState, fallOffIsExit: true, sharedStack: true, addresses32: false, termination: options.includes('termination'),
        allowDivisionByZero: !options.includes('!allow_division_by_zero'), bigEndian: options.includes('big_endian'),
      },
    );
    return { ...base, expectReject, rejected: !report.ok, report, ...(approximated.length > 0 ? { approximated } : {}) };
  } catch (e) {
    if (e instanceof Unsupported) return { ...base, expectReject, unsupported: e.message };
    return { ...base, expectReject, unsupported: `runner error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export function runSuite(dir: string, filter?: string): CaseResult[] {
  const out: CaseResult[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'test-schema.yaml').sort()) {
    if (filter !== undefined && !file.includes(filter)) continue;
    const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    let index = 0;
    for (const d of docs) {
      const doc = d.toJS() as Record<string, unknown> | null;
      if (doc === null || doc['test-case'] === undefined) continue;
      out.push(runCase(file, index++, doc));
    }
  }
  return out;
}

export interface Summary {
  total: number;
  agree: number;
  weAccept: CaseResult[]; // (a) PREVAIL rejects, we accept
  weReject: CaseResult[]; // (b) PREVAIL accepts, we reject
  unsupported: CaseResult[];
  approximated: number;
}

export function summarize(results: readonly CaseResult[]): Summary {
  const s: Summary = { total: results.length, agree: 0, weAccept: [], weReject: [], unsupported: [], approximated: 0 };
  for (const r of results) {
    if (r.approximated !== undefined) s.approximated++;
    if (r.unsupported !== undefined) s.unsupported.push(r);
    else if (r.rejected === r.expectReject) s.agree++;
    else if (r.expectReject) s.weAccept.push(r);
    else s.weReject.push(r);
  }
  return s;
}

export function formatSummary(s: Summary, verbose = false): string {
  const lines = [
    `PREVAIL YAML verdict agreement: total ${s.total}, agree ${s.agree} (${((100 * s.agree) / s.total).toFixed(1)}%),`
    + ` (a) PREVAIL rejects/we accept ${s.weAccept.length}, (b) PREVAIL accepts/we reject ${s.weReject.length}, unsupported ${s.unsupported.length}`
    + ` (run with relational pre facts dropped: ${s.approximated})`,
  ];
  for (const r of s.weAccept) lines.push(`  (a) ${r.file} #${r.index} ${r.name} -- expected: ${r.messages.join(' | ')}`);
  for (const r of s.weReject) {
    const e = r.report !== undefined && !r.report.ok ? r.report.errors[0] : undefined;
    lines.push(`  (b) ${r.file} #${r.index} ${r.name}${verbose && e ? ` -- ${e.code} at ${e.pc}: ${e.message}` : ''}`);
  }
  for (const r of s.unsupported) lines.push(`  unsupported: ${r.file} #${r.index} ${r.name}: ${r.unsupported}`);
  return lines.join('\n');
}

// Only as a command: not when a test runner loads every file under test/.
if (process.argv[1]?.endsWith('prevail-suite.js') && process.env.NODE_TEST_CONTEXT === undefined) {
  const dir = join(process.cwd(), '..', 'shared', 'verifier-tests', 'prevail');
  const filter = process.argv.slice(2).find((a) => !a.startsWith('-'));
  process.stdout.write(formatSummary(summarize(runSuite(dir, filter)), process.argv.includes('-v')) + '\n');
}
