// Loading the example objects for tests: one fresh execution context per call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject, type Abi } from '../../src/elf/index.js';
import { ExecutionContext, loadObject, type EngineName, type ExecutionContextOptions, type LoadedObject } from '../../src/runtime/index.js';
import { REPO_ROOT } from './shared.js';

export const EXAMPLES = join(REPO_ROOT, 'examples');

export function example(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(EXAMPLES, name)));
}

/** A sample frame of examples/packets (hex bytes). */
export function packet(name: string): Uint8Array {
  const text = readFileSync(join(EXAMPLES, 'packets', `${name}.hex`), 'utf8');
  return Uint8Array.from(text.trim().split(/\s+/), (h) => Number.parseInt(h, 16));
}

export function loadExample(name: string, options: ExecutionContextOptions & { abi?: Abi; engine?: EngineName } = {}): { object: LoadedObject; context: ExecutionContext } {
  const context = new ExecutionContext({ memory: { initialPages: 4 }, ...options });
  const object = loadObject(openObject(example(name), { abi: options.abi, path: name }), context, { engine: options.engine ?? exampleEngine });
  return { object, context };
}

export const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

export const u64le = (bytes: Uint8Array | undefined, at = 0): bigint | undefined =>
  bytes === undefined ? undefined : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at, true);

/** The engine loadExample uses unless told otherwise: tests run the examples on each in turn. */
let exampleEngine: EngineName = 'jit';
export function useEngine(engine: EngineName): void {
  exampleEngine = engine;
}
