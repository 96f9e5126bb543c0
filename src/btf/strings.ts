// The BTF string section: NUL-terminated names addressed by byte offset. Shared by .BTF and
// .BTF.ext, whose section names, file names, source lines and access strings live here too.
//
// Hostile input can point thousands of names into the middle of one long string. Scanning for
// the NUL and decoding per name would then cost (names x string length), so the NUL positions
// are indexed once and ASCII names are slices of one decoded copy of the section; only
// non-ASCII names are decoded individually, within a budget.
import { BtfError } from './types.js';

/** Bytes of non-ASCII names that may be decoded one by one, beyond the section's own size. */
const SLOW_DECODE_SLACK = 1 << 20;

export class BtfStrings {
  private readonly decoded = new Map<number, string>();
  /** Positions of every NUL byte, ascending (built on first use). */
  private nuls: Int32Array | undefined;
  /** Per string (indexed like `nuls`): 1 when it has a non-ASCII byte. */
  private nonAscii: Uint8Array | undefined;
  private text = '';
  private slowBudget: number;

  constructor(private readonly bytes: Uint8Array) {
    this.slowBudget = 16 * bytes.length + SLOW_DECODE_SLACK;
  }

  get length(): number {
    return this.bytes.length;
  }

  /** The string at `offset`; offset 0 is always the empty name. `what` names the reference in errors. */
  get(offset: number, what: string): string {
    if (offset === 0) return '';
    const cached = this.decoded.get(offset);
    if (cached !== undefined) return cached;
    if (offset >= this.bytes.length) {
      throw new BtfError(`${what}: string offset ${offset} is outside the string section (${this.bytes.length} bytes)`);
    }
    const [nuls, nonAscii] = this.index();
    const k = firstAtOrAfter(nuls, offset);
    if (k === nuls.length) throw new BtfError(`${what}: string at offset ${offset} is not NUL-terminated`);
    const end = nuls[k];
    let s: string;
    if (nonAscii[k] === 0) {
      s = this.text.slice(offset, end);
    } else {
      this.slowBudget -= end - offset;
      if (this.slowBudget < 0) throw new BtfError(`${what}: too many overlapping non-ASCII strings in the string section`);
      s = new TextDecoder().decode(this.bytes.subarray(offset, end));
    }
    this.decoded.set(offset, s);
    return s;
  }

  private index(): [Int32Array, Uint8Array] {
    if (this.nuls !== undefined && this.nonAscii !== undefined) return [this.nuls, this.nonAscii];
    const bytes = this.bytes;
    let count = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) count++;
    const nuls = new Int32Array(count);
    const nonAscii = new Uint8Array(count);
    let high = 0;
    for (let i = 0, k = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        nonAscii[k] = high;
        nuls[k++] = i;
        high = 0;
      } else if (bytes[i] >= 0x80) {
        high = 1;
      }
    }
    // Only the ASCII parts of this copy are ever used, so a one-byte-per-char decoding is exact.
    this.text = new TextDecoder('latin1').decode(bytes);
    this.nuls = nuls;
    this.nonAscii = nonAscii;
    return [nuls, nonAscii];
  }
}

function firstAtOrAfter(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
