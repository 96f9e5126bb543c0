// Locates ../shared (the conformance vectors and verifier tests live there, not in the repo).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SHARED = resolve(REPO_ROOT, '..', 'shared');
export const CONFORMANCE_TESTS = resolve(SHARED, 'conformance', 'bpf_conformance', 'tests');
export const CONFORMANCE_NEGATIVE = resolve(SHARED, 'conformance', 'bpf_conformance', 'negative');

/** Returns a skip reason (and says it loudly) when a shared folder is missing. */
export function missingShared(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  const reason = `SKIPPED: ${path} is missing (it sits beside the checkout as ../shared in CI)`;
  process.stderr.write(`\n*** ${reason} ***\n\n`);
  return reason;
}
export const EBPF_SAMPLES = resolve(SHARED, 'verifier-tests', 'ebpf-samples');
