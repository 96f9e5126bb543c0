// A small seeded random source for the verifier fuzzer (xorshift128+ over two 32-bit halves, no
// BigInt), so a seed replays the same programs and inputs. One job: numbers, picks, coin flips.

export class Rng {
  private a: number;
  private b: number;

  constructor(seed: number) {
    this.a = (seed >>> 0) ^ 0x9e3779b9 || 1;
    this.b = Math.imul(seed >>> 0, 0x85ebca6b) ^ 0xc2b2ae35 || 2;
    for (let i = 0; i < 8; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let s1 = this.a;
    const s0 = this.b;
    this.a = s0;
    s1 ^= s1 << 23;
    s1 ^= s1 >>> 17;
    s1 ^= s0 ^ (s0 >>> 26);
    this.b = s1;
    return (this.b + s0) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}
