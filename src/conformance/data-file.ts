// Reads the bpf_conformance `.data` test format exactly as its runner does
// (../shared/conformance/README.md, "The .data file format").

export interface ConformanceTest {
  /** Assembly source (the `-- asm` section), when there is one. */
  readonly asm?: string;
  /** Program bytes from a `-- raw` section, which takes precedence over `asm`. */
  readonly raw?: Uint8Array;
  /** Input memory (empty when the test has no `-- mem`). */
  readonly memory: Uint8Array;
  /** Expected r0, unsigned. */
  readonly result?: bigint;
  /** Expected error text. */
  readonly error?: string;
}

export type ParsedTest = { kind: 'test'; test: ConformanceTest } | { kind: 'skip'; reason: string };

type Section = 'asm' | 'result' | 'mem' | 'raw' | 'ignored' | 'error';

/** The runner tests these substrings of a `--` line in this order. */
const SECTION_KEYS: readonly [string, Section][] = [
  ['asm', 'asm'],
  ['result', 'result'],
  ['mem', 'mem'],
  ['raw', 'raw'],
  ['no register offset', 'ignored'],
  [' c', 'ignored'],
  ['error', 'error'],
];

function parseRaw(lines: string[]): Uint8Array {
  const words = lines.join(' ').split(/\s+/).filter((w) => w.length > 0);
  const bytes = new Uint8Array(words.length * 8);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => {
    const value = /^0x/i.test(w) ? BigInt(w) : BigInt(w.replace(/^\+/, ''));
    view.setBigUint64(i * 8, BigInt.asUintN(64, value), true);
  });
  return bytes;
}

function parseMemory(lines: string[]): Uint8Array {
  const words = lines.join(' ').split(/\s+/).filter((w) => w.length > 0);
  return Uint8Array.from(words, (w) => {
    const v = Number.parseInt(w, 16);
    if (!/^[0-9a-f]{1,2}$/i.test(w) || Number.isNaN(v)) throw new Error(`invalid memory byte '${w}'`);
    return v;
  });
}

function parseResult(lines: string[]): bigint | undefined {
  const last = lines.filter((l) => l.trim().length > 0).at(-1);
  if (last === undefined) return undefined;
  const text = last.trim();
  if (text.includes('0x')) {
    const m = /0x([0-9a-f]+)/i.exec(text);
    return m === null ? 0n : BigInt.asUintN(64, BigInt('0x' + m[1]));
  }
  const m = /^[+-]?\d+/.exec(text);
  return m === null ? 0n : BigInt.asUintN(64, BigInt(m[0]));
}

export function parseDataFile(text: string): ParsedTest {
  const sections = new Map<Section, string[]>();
  let current: Section | undefined;
  for (const rawLine of text.split('\n')) {
    let line = rawLine.replace(/\r$/, '');
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    if (line.includes('--')) {
      const found = SECTION_KEYS.find(([key]) => line.includes(key));
      if (found === undefined) return { kind: 'skip', reason: `unknown section header '${line.trim()}'` };
      current = found[1];
      if (!sections.has(current)) sections.set(current, []);
      continue;
    }
    if (line.trim().length === 0 || current === undefined) continue;
    sections.get(current)?.push(line);
  }
  const result = sections.has('result') ? parseResult(sections.get('result') ?? []) : undefined;
  const errorLines = sections.get('error');
  const error = errorLines === undefined ? undefined : (errorLines.at(-1) ?? '').trim();
  if (result === undefined && error === undefined) return { kind: 'skip', reason: 'no result or error section' };
  const asm = sections.get('asm');
  const raw = sections.get('raw');
  return {
    kind: 'test',
    test: {
      asm: asm?.join('\n'),
      raw: raw === undefined ? undefined : parseRaw(raw),
      memory: parseMemory(sections.get('mem') ?? []),
      result,
      error,
    },
  };
}
