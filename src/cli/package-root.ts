import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The package's root folder (this file is at dist/src/cli/ once built). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the shared conformance vectors sit beside a checkout, if they do. */
export const SHARED_CONFORMANCE = resolve(PACKAGE_ROOT, '..', 'shared', 'conformance', 'bpf_conformance', 'tests');
