// Investigation tool, not a test: runs the verifier over the ebpf-samples corpus for the program
// types we have rules for, and compares with PREVAIL's and Linux's verdicts.
//   node dist/test/verifier/samples-survey.js [-v]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject } from '../../src/elf/index.js';
import {
  LINUX_SCHED_CLS, LINUX_SOCKET_FILTER, LINUX_XDP, type MapRef, type ProgramTypeRules, formatReport, verify,
} from '../../src/verifier/index.js';
import { SHARED } from '../support/shared.js';

const RULES: Record<string, ProgramTypeRules> = {
  xdp: LINUX_XDP,
  socket_filter: LINUX_SOCKET_FILTER,
  sched_cls: LINUX_SCHED_CLS,
};

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

function main(): void {
  const root = join(SHARED, 'verifier-tests');
  const rows = readFileSync(join(root, 'ebpf-samples-verdicts.csv'), 'utf8').trim().split('\n').slice(1);
  const verbose = process.argv.includes('-v');
  const counts = new Map<string, number>();
  const bump = (k: string): void => {
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const codes = new Map<string, number>();
  for (const row of rows) {
    const [object, section, fn, type, prevail, , expected, linux] = splitCsv(row);
    const rules = RULES[type];
    if (rules === undefined) continue;
    let spec;
    try {
      spec = openObject(readFileSync(join(root, 'ebpf-samples', object)));
    } catch (e) {
      bump('load-error');
      if (verbose) process.stdout.write(`load error ${object}: ${e instanceof Error ? e.message : String(e)}\n`);
      continue;
    }
    const sec = section.split('::')[0];
    const prog = spec.programs.find((p) => p.section === sec && (fn === '' || p.name === fn));
    if (prog === undefined) {
      bump('not-found');
      continue;
    }
    const maps = new Map<number, MapRef>();
    for (const ref of prog.references) {
      if (ref.kind !== 'map' && ref.kind !== 'map-value') continue;
      const def = spec.maps.find((m) => m.name === ref.map);
      if (def === undefined) continue;
      maps.set(ref.pc, { kind: ref.kind, offset: ref.kind === 'map-value' ? ref.offset : 0, map: def });
    }
    const t0 = Date.now();
    const report = verify({ instructions: prog.instructions, maps, programType: rules }, { timeLimitMs: 10000 });
    const ms = Date.now() - t0;
    const ours = report.ok ? 'pass' : 'fail';
    bump(`ours=${ours} prevail=${prevail} expected=${expected} linux=${linux}`);
    if (!report.ok) {
      const e = report.errors[0];
      const key = e.code === 'unknown-helper' ? e.message.split(' is ')[0] : e.code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    const suspicious = report.ok && (expected === 'reject' || linux === 'rejected');
    if (suspicious || verbose || ms > 3000) {
      process.stdout.write(`${suspicious ? 'SUSPICIOUS ' : ''}${object} ${section} ${fn}: ours=${ours} prevail=${prevail}/${expected} linux=${linux} (${ms} ms)\n`);
      if (!report.ok && verbose) process.stdout.write(formatReport(report).split('\n').slice(0, 4).map((l) => `    ${l}`).join('\n') + '\n');
    }
  }
  for (const [k, v] of [...counts].sort()) process.stdout.write(`${v}\t${k}\n`);
  for (const [k, v] of [...codes].sort((a, b) => b[1] - a[1])) process.stdout.write(`${v}\t${k}\n`);
}

// Only as a command: not when a test runner loads every file under test/.
if (process.argv[1]?.endsWith('samples-survey.js') && process.env.NODE_TEST_CONTEXT === undefined) main();
