// Seeded randomness for fuzz and property tests: a failure replays with the same seed.

/** xorshift32 in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** The seed from `envName` (decimal or 0x hex), else `fallback`. */
export function seedFrom(envName: string, fallback: number): number {
  const text = process.env[envName];
  return text === undefined ? fallback : Number(text);
}

/** A copy of `original`, sometimes truncated, with 1..maxFlips bytes changed at random. */
export function mutate(original: Uint8Array, random: () => number, maxFlips = 8): Uint8Array {
  const bytes = original.slice(0, random() < 0.05 ? Math.floor(random() * original.length) : original.length);
  const flips = 1 + Math.floor(random() * maxFlips);
  for (let i = 0; i < flips && bytes.length > 0; i++) {
    const at = Math.floor(random() * bytes.length);
    bytes[at] = random() < 0.5 ? Math.floor(random() * 256) : bytes[at] ^ (1 << Math.floor(random() * 8));
  }
  return bytes;
}
