// The multi-core test programs: test/fixtures/workers/workers.c, compiled and committed as
// workers.o (rebuild with test/fixtures/workers/build.sh). Each call loads it into a fresh
// execution context with two CPUs, so every test starts from empty maps. Shared memories
// reserve their maximum size up front: the tests keep it small (16 MiB) so that the many
// contexts of one test process never run the address space out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject } from '../../src/elf/index.js';
import { ExecutionContext, loadObject, type LoadedObject } from '../../src/runtime/index.js';
import { REPO_ROOT } from '../support/shared.js';

export const WORKERS_OBJECT = join(REPO_ROOT, 'test', 'fixtures', 'workers', 'workers.o');

export function loadWorkersObject(cpus = 2): { object: LoadedObject; context: ExecutionContext } {
  const context = new ExecutionContext({ cpus, memory: { initialPages: 64, maximumPages: 256 } });
  const object = loadObject(openObject(new Uint8Array(readFileSync(WORKERS_OBJECT)), { path: 'workers.o' }), context);
  return { object, context };
}

export const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

export const u64At = (bytes: Uint8Array, offset = 0): bigint => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
