// `ebpf show verification FILE [SECTION] [--type T] [--verbose] [--allow-pointer-leaks] [--json]`: what the verifier says
// of each program; exit status 1 when it refuses one.
import { formatReport } from '../../verifier/index.js';
import { rulesFor, verifyProgram } from '../../runtime/verify.js';
import { verifiableTypes } from '../../program-types/index.js';
import { builtinProgramTypes } from '../../program-types/index.js';
import { UsageError } from '../errors.js';
import { jsonReplacer } from '../map-values.js';
import { openObjectFile, parseAbi, selectPrograms } from '../object-file.js';
import { didYouMean } from '../suggest.js';

export interface VerificationOptions {
  type?: string;
  abi?: string;
  verbose?: boolean;
  json?: boolean;
  allowPointerLeaks?: boolean;
}

export function verificationCommand(file: string, section: string | undefined, options: VerificationOptions, out: (s: string) => void): number {
  const spec = openObjectFile(file, parseAbi(options.abi));
  const programs = selectPrograms(spec, section);
  const types = builtinProgramTypes();
  if (options.type !== undefined && !verifiableTypes(spec.abi).includes(options.type)) {
    throw new UsageError(`no verifier rules for program type '${options.type}'${didYouMean(options.type, verifiableTypes(spec.abi))}; types: ${verifiableTypes(spec.abi).join(', ')}`);
  }
  let refused = 0;
  const results = programs.map((p) => {
    const rules = rulesFor(p, spec, types.get(options.type ?? p.type));
    if (rules === undefined) {
      refused++;
      return { program: p, rules: undefined, report: undefined };
    }
    const start = performance.now();
    const report = verifyProgram(spec, p, rules, { termination: true, verbose: options.verbose, allowPointerLeaks: options.allowPointerLeaks === true });
    const ms = performance.now() - start;
    if (!report.ok) refused++;
    return { program: p, rules, report, ms };
  });
  if (options.json) {
    out(JSON.stringify(results.map(({ program, rules, report, ms }) => ({
      program: program.name,
      section: program.section,
      type: options.type ?? program.type,
      rules: rules?.name,
      ms,
      ...(report === undefined
        ? { ok: false, errors: [{ code: 'unsupported', message: `no verifier rules for program type ${program.type}` }] }
        : { ...report, invariants: report.invariants === undefined ? undefined : Object.fromEntries(report.invariants) }),
    })), jsonReplacer, 2) + '\n');
    return refused > 0 ? 1 : 0;
  }
  results.forEach(({ program, rules, report, ms }, i) => {
    if (i > 0) out('\n');
    out(`${program.section}/${program.name} (${rules?.name ?? `type ${program.type}`}):\n`);
    if (report === undefined) {
      out(`  refused: the verifier has no rules for program type ${program.type} (${spec.abi} ABI)\n`);
      return;
    }
    if (options.verbose && report.invariants !== undefined) {
      for (const insn of program.instructions) {
        const inv = report.invariants.get(insn.pc);
        if (inv !== undefined) out(`  ${insn.pc}: ${inv}\n`);
      }
    }
    const text = formatReport(report).split('\n').map((l) => `  ${l}`).join('\n');
    out(`${report.ok ? '  passed: ' + text.trimStart() : '  refused:\n' + text}\n`);
    out(`  (${ms?.toFixed(1)} ms)\n`);
  });
  return refused > 0 ? 1 : 0;
}
