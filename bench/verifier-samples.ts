// The verifier on ../shared/verifier-tests/ebpf-samples: the four figures of the verifier issue
// and the time it takes (a benchmark and survey, not a test).
//   node dist/bench/verifier-samples.js [--json FILE] [-v] [--allow-pointer-leaks]
// --allow-pointer-leaks verifies as Linux does for a privileged loader (the Linux verdicts in the
// CSV were taken that way): pointers may be disclosed as numbers.
// (a) programs PREVAIL accepts that we accept; (b) programs labelled reject/reject_load that we
// refuse; (c) programs PREVAIL rejects but Linux accepts that we accept; (d) programs both PREVAIL
// and Linux reject that we accept (presumed soundness bugs, listed).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObject, type ObjectSpec } from '../src/elf/index.js';
import { verifierRules } from '../src/program-types/index.js';
import { verifyProgram } from '../src/runtime/verify.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES = join(ROOT, '..', 'shared', 'verifier-tests');
const args = process.argv.slice(2);
const verbose = args.includes('-v');
const allowPointerLeaks = args.includes('--allow-pointer-leaks');
const jsonAt = args.indexOf('--json');

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

type Verdict = 'accepted' | 'refused' | 'no-rules' | 'not-opened' | 'not-found';
interface Row {
  object: string;
  section: string;
  fn: string;
  type: string;
  prevail: string;
  expected: string;
  linux: string;
  verdict: Verdict;
  code?: string;
  message?: string;
  ms: number;
  instructions: number;
  /** Analysis nodes visited (statesVisited). */
  states: number;
}

const lines = readFileSync(join(SAMPLES, 'ebpf-samples-verdicts.csv'), 'utf8').trim().split('\n').slice(1);
const specs = new Map<string, ObjectSpec | Error>();
const rows: Row[] = [];
const start = performance.now();
let peakRss = process.memoryUsage().rss;
for (const line of lines) {
  const [object, sectionField, fn, type, prevail, , expected, linux] = splitCsv(line);
  if (fn === '' || fn === undefined) continue; // objects with nothing loadable
  const section = sectionField.split('::')[0];
  let spec = specs.get(object);
  if (spec === undefined) {
    try {
      spec = openObject(new Uint8Array(readFileSync(join(SAMPLES, 'ebpf-samples', object))), { includeSubprograms: true });
    } catch (e) {
      spec = e instanceof Error ? e : new Error(String(e));
    }
    specs.set(object, spec);
  }
  const row: Row = { object, section, fn, type, prevail, expected, linux, verdict: 'not-opened', ms: 0, instructions: 0, states: 0 };
  rows.push(row);
  if (spec instanceof Error) {
    row.message = spec.message;
    continue;
  }
  const program = spec.programs.find((p) => p.name === fn && p.section === section) ?? spec.programs.find((p) => p.name === fn);
  if (program === undefined) {
    row.verdict = 'not-found';
    continue;
  }
  if (program.unsupported !== undefined) {
    row.verdict = 'refused';
    row.code = 'unsupported';
    row.message = program.unsupported;
    continue;
  }
  row.instructions = program.instructions.length;
  const rules = verifierRules(type, 'linux');
  if (rules === undefined) {
    row.verdict = 'no-rules';
    continue;
  }
  const t = performance.now();
  // PREVAIL's sample outcomes assume no termination check; so do these figures.
  const report = verifyProgram(spec, program, rules, { termination: false, allowPointerLeaks });
  row.ms = performance.now() - t;
  row.states = report.statesVisited;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  row.verdict = report.ok ? 'accepted' : 'refused';
  if (!report.ok) {
    row.code = report.errors[0]?.code;
    row.message = report.errors[0]?.message;
  }
}
const totalMs = performance.now() - start;

const count = (f: (r: Row) => boolean): number => rows.filter(f).length;
const a = rows.filter((r) => r.prevail === 'pass');
const b = rows.filter((r) => r.expected === 'reject' || r.expected === 'reject_load');
const c = rows.filter((r) => r.prevail === 'fail' && r.linux === 'accepted');
const d = rows.filter((r) => r.prevail === 'fail' && r.linux === 'rejected' && r.verdict === 'accepted');
const times = rows.filter((r) => r.ms > 0).map((r) => r.ms).sort((x, y) => x - y);
const median = times[Math.floor(times.length / 2)] ?? 0;
const slowest = [...rows].sort((x, y) => y.ms - x.ms).slice(0, 3);

const out = (s: string): void => {
  process.stdout.write(s + '\n');
};
out(`ebpf-samples${allowPointerLeaks ? ' (pointer leaks allowed, as for a privileged Linux loader)' : ''}: ${rows.length} programs (${count((r) => r.verdict === 'accepted')} accepted, ${count((r) => r.verdict === 'refused')} refused, ${count((r) => r.verdict === 'no-rules')} of types without rules, ${count((r) => r.verdict === 'not-opened')} in objects that do not open, ${count((r) => r.verdict === 'not-found')} not found)`);
out(`(a) PREVAIL accepts ${a.length}: we accept ${count((r) => a.includes(r) && r.verdict === 'accepted')}`);
out(`(b) labelled reject/reject_load ${b.length}: we refuse ${count((r) => b.includes(r) && r.verdict !== 'accepted')}`);
out(`(c) PREVAIL rejects, Linux accepts ${c.length}: we accept ${count((r) => c.includes(r) && r.verdict === 'accepted')}`);
out(`(d) PREVAIL and Linux both reject, we accept: ${d.length}${d.length === 0 ? '' : ' -> ' + d.map((r) => `${r.object}:${r.section}/${r.fn}`).join(', ')}`);
out(`time: ${(totalMs / 1000).toFixed(1)} s for the whole set (opening included); verification median ${median.toFixed(1)} ms, slowest ${slowest.map((r) => `${r.object}:${r.fn} ${r.instructions} insns ${r.ms.toFixed(0)} ms`).join('; ')}; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
if (verbose) {
  const codes = new Map<string, number>();
  for (const r of a) if (r.verdict !== 'accepted') codes.set(`${r.verdict} ${r.code ?? ''}`, (codes.get(`${r.verdict} ${r.code ?? ''}`) ?? 0) + 1);
  out('why PREVAIL-accepted programs are not accepted:');
  for (const [k, v] of [...codes].sort((x, y) => y[1] - x[1])) out(`  ${v} ${k}`);
}
const cilium = rows.filter((r) => r.object.includes('cilium') && r.states > 0).sort((x, y) => y.instructions - x.instructions).slice(0, 6);
out(`states visited on the largest Cilium programs: ${cilium.map((r) => `${r.object}:${r.fn} ${r.instructions} insns ${r.states}`).join('; ')} (total ${cilium.reduce((a, r) => a + r.states, 0)})`);
if (jsonAt >= 0) writeFileSync(args[jsonAt + 1], JSON.stringify({ rows, totalMs, median, peakRss }, null, 2));
