// The admin credential: a random token in a 0600 file of the state directory. Whoever can read the
// file is admin (as whoever can open /dev/bpf-like devices is, elsewhere); everyone who can reach
// the endpoint may read. Compared in constant time so that timing says nothing about the token.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'admin.token';

/** Creates the token when the state directory has none; returns it. */
export function ensureToken(stateDir: string): string {
  const file = join(stateDir, TOKEN_FILE);
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return readFileSync(file, 'utf8').trim();
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

/** The token if this process may read it, else undefined (a reader). */
export function readToken(stateDir: string): string | undefined {
  try {
    const t = readFileSync(join(stateDir, TOKEN_FILE), 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
