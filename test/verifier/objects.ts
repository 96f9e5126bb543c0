// Opens compiled objects for the verifier tests (shared by the unsafe corpus and the examples test);
// the verifier input comes from the runtime's own builder, as when a program is loaded.

import { readFileSync } from 'node:fs';
import { openObject, type ObjectSpec } from '../../src/elf/index.js';

export { verifierInput as inputFor } from '../../src/runtime/verify.js';

export function loadObject(path: string): ObjectSpec {
  return openObject(readFileSync(path));
}
