// The admin credential: a random token in a 0600 file of the state directory. Whoever can read the
// file is admin (as whoever can open /dev/bpf-like devices is, elsewhere); everyone who can reach
// the endpoint may read. Compared in constant time so that timing says nothing about the token.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'admin.token';

/** Tokens are 64 hex digits; a shorter file (a crash while writing it) is no token. */
const TOKEN = /^[0-9a-f]{64}$/;

/** Creates the token when the state directory has no valid one; returns it. */
export function ensureToken(stateDir: string): string {
  const file = join(stateDir, TOKEN_FILE);
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    const existing = readFileSync(file, 'utf8').trim();
    if (TOKEN.test(existing)) return existing;
  }
  // Written whole or not at all: an empty or partial file must never become a token anyone can say.
  const token = randomBytes(32).toString('hex');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return token;
}

/** The token if this process may read it, else undefined (a reader). */
export function readToken(stateDir: string): string | undefined {
  try {
    const t = readFileSync(join(stateDir, TOKEN_FILE), 'utf8').trim();
    return TOKEN.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string): boolean {
  if (!TOKEN.test(expected)) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
