// A hint, from the shape of a minimal program and its finding, of which known red-team bug
// (../shared/verifier-tests/redteam/README.md) a finding looks like. Only a hint for the report:
// a reader confirms it by reading the program.

import type { Finding } from './oracle.js';

const RULES: readonly [string, (text: string, f: Finding) => boolean][] = [
  ['B11 (ld_abs/ld_ind in XDP)', (t) => t.includes('skb[')],
  ['B9 (loop with a copied counter)', (_t, f) => f.kind === 'hang'],
  ['B4 (misaligned atomic)', (t, f) => t.includes('lock *') && f.detail.includes('aligned')],
  ['B8 (spin lock misuse)', (t, f) => /call 9[34]\b/.test(t) && (f.kind === 'spin-lock' || f.detail.includes('spin_lock'))],
  ['B13 (pop/peek on an empty queue)', (t) => /call 8[89]\b/.test(t)],
  ['B5 (variable-size helper write)', (t) => /call 214741811[345]\b/.test(t)],
  ['snprintf output size', (t) => /call 165\b/.test(t)],
  ['B2 (32-bit pointer difference in the zone)', (t) => /w\d -= w\d/.test(t)],
  ['B1 (32-bit view of a pointer)', (t) => /\bw(\d) = w\1\b|w\d \+= |<<= 32/.test(t)],
  ['B6 (packet pointer comparison with wrapped offsets)', (t, f) => /if [rw]\d [^ ]+ [rw]\d goto/.test(t) && (f.kind === 'unverified-code' || f.kind === 'out-of-bounds')],
];

export function classify(text: string, finding: Finding): string {
  for (const [name, test] of RULES) if (test(text, finding)) return name;
  return 'unclassified';
}
