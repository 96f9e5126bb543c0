// The examples on the Linux kernel's JIT (BPF_PROG_TEST_RUN) beside ebpf-ts' engines, when the
// kernel can be had: root, libbpf and a C compiler (a benchmark, not a test).
//   node dist/bench/kernel.js [--runs N]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObject } from '../src/elf/index.js';
import { ExecutionContext, loadObject } from '../src/runtime/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : 200_000;
const tool = join(ROOT, 'dist', 'bench', 'test-run');

/** Example, program, packet: deterministic inputs the examples document. */
const CASES: [string, string, string][] = [
  ['droppacket.o', 'drop_empty_udp', 'udp_dns_empty'],
  ['droppacket.o', 'drop_empty_udp', 'udp_dns_payload'],
  ['hash_counter.o', 'count_by_source', 'udp_dns_empty'],
  ['lru.o', 'lru_flows', 'tcp_syn'],
  ['percpu.o', 'percpu_stats', 'tcp_syn'],
  ['subprog.o', 'classify', 'udp_other'],
  ['global_data.o', 'global_counters', 'udp_dns_empty'],
  ['bounded_loop.o', 'loops', 'udp_dns_payload'],
  ['map_in_map.o', 'per_protocol_counters', 'udp_dns_empty'],
  ['tail_call.o', 'dispatch', 'tcp_syn'],
];

function kernelTool(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/usr/include/bpf/libbpf.h')) return 'libbpf-dev is not installed';
  try {
    execFileSync('cc', ['-O2', '-o', tool, join(ROOT, 'bench', 'kernel', 'test-run.c'), '-lbpf'], { stdio: 'pipe' });
  } catch (e) {
    return `cannot build the test-run tool: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

const packet = (name: string): Uint8Array => Uint8Array.from(readFileSync(join(ROOT, 'examples', 'packets', `${name}.hex`), 'utf8').trim().split(/\s+/), (h) => Number.parseInt(h, 16));

const missing = kernelTool();
process.stdout.write(`ns per run, ${runs.toLocaleString('en-US')} runs (kernel: ${missing ?? 'Linux BPF_PROG_TEST_RUN, its JIT'})\n`);
process.stdout.write(`${'example / packet'.padEnd(40)}${'interpreter'.padStart(12)}${'JIT'.padStart(10)}${'kernel'.padStart(10)}${'JIT/kernel'.padStart(12)}\n`);
for (const [file, name, input] of CASES) {
  const spec = openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', file))));
  const ours = (['interpreter', 'jit'] as const).map((engine) => {
    const program = loadObject(spec, new ExecutionContext(), { engine }).program(name);
    program.testRun({ data: packet(input), repeat: Math.min(runs, 20_000) });
    return program.testRun({ data: packet(input), repeat: runs });
  });
  let kernel: number | undefined;
  if (missing === undefined) {
    try {
      const [retval, ns] = execFileSync(tool, [join(ROOT, 'examples', file), name, join(ROOT, 'examples', 'packets', `${input}.hex`), String(runs)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
      if (BigInt(retval) === ours[1].returnValue) kernel = ns;
    } catch {
      kernel = undefined;
    }
  }
  const row = `${file.replace('.o', '')} / ${input}`;
  process.stdout.write(`${row.padEnd(40)}${ours[0].durationNs.toFixed(0).padStart(12)}${ours[1].durationNs.toFixed(0).padStart(10)}${(kernel === undefined ? '-' : String(kernel)).padStart(10)}${(kernel === undefined ? '' : (ours[1].durationNs / Math.max(kernel, 1)).toFixed(2) + 'x').padStart(12)}\n`);
}
