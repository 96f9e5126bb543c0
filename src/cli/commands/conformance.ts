import { existsSync, statSync } from 'node:fs';
import { ALL_GROUPS, type CpuVersion, type Group } from '../../isa/index.js';
import { ENGINES, type Engine } from '../../conformance/environment.js';
import { runSuite, type SuiteResult } from '../../conformance/runner.js';
import { UsageError } from '../errors.js';

export interface ConformanceOptions {
  engine: string;
  cpu: string;
  groups?: string;
  json?: boolean;
  verbose?: boolean;
}

export function parseCpu(text: string): CpuVersion {
  const m = /^v?([1-4])$/.exec(text);
  if (m === null) throw new UsageError(`invalid --cpu '${text}': expected v1, v2, v3 or v4`);
  return Number(m[1]) as CpuVersion;
}

export function parseEngine(text: string): Engine {
  if (!(ENGINES as readonly string[]).includes(text)) {
    throw new UsageError(`unknown engine '${text}' (available: ${ENGINES.join(', ')})`);
  }
  return text as Engine;
}

function parseGroups(text: string): Group[] {
  return text.split(',').map((g) => g.trim()).filter((g) => g.length > 0).map((g) => {
    if (!(ALL_GROUPS as readonly string[]).includes(g)) {
      throw new UsageError(`unknown group '${g}' (groups: ${ALL_GROUPS.join(', ')})`);
    }
    return g as Group;
  });
}

export function summaryLine(r: SuiteResult): string {
  return `${r.passed} passed, ${r.failed} failed` + (r.skipped > 0 ? `, ${r.skipped} skipped` : '');
}

/** Runs the suite; returns the exit status (1 when any test failed). */
export function conformanceCommand(dir: string, options: ConformanceOptions, out: (s: string) => void): number {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
  const result = runSuite(dir, {
    engine: parseEngine(options.engine),
    cpu: parseCpu(options.cpu),
    groups: options.groups === undefined ? undefined : parseGroups(options.groups),
  });
  if (result.passed + result.failed + result.skipped === 0) throw new UsageError(`no .data files in ${dir}`);
  if (options.json) {
    out(JSON.stringify({ engine: options.engine, ...result }, null, 2) + '\n');
  } else {
    for (const o of result.outcomes) {
      if (o.status === 'fail') out(`FAIL ${o.name}: expected ${o.expected}, got ${o.actual}\n`);
      else if (options.verbose) out(o.status === 'pass' ? `PASS ${o.name}\n` : `SKIP ${o.name}: ${o.reason}\n`);
    }
    out(`engine ${options.engine}, ${result.elapsedMs.toFixed(0)} ms\n`);
    out(summaryLine(result) + '\n');
  }
  return result.failed > 0 ? 1 : 0;
}
