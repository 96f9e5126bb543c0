// The loader fuzz test: real objects from examples/, mutated thousands of times, opened and
// loaded. Every failure must be one of the loader's typed errors: never a crash, a hang or a
// RangeError/TypeError from deep inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ObjectError, openObject } from '../../src/elf/index.js';
import { MapError } from '../../src/maps/index.js';
import { ExecutionContext, LoadError, loadObject } from '../../src/runtime/index.js';
import { ProgramLoadError } from '../../src/vm/index.js';
import { EXAMPLES, example } from '../support/objects.js';
import { mutate, seedFrom, seededRandom } from '../support/random.js';

const TYPED = [ObjectError, LoadError, MapError, ProgramLoadError];

test('fuzz: mutated example objects open and load, or fail with a typed error', () => {
  const seed = seedFrom('FUZZ_SEED', 0x10ad);
  const random = seededRandom(seed);
  const originals = readdirSync(EXAMPLES).filter((f) => f.endsWith('.o')).map(example);
  const outcomes = { loaded: 0, refused: 0 };
  const rounds = Number(process.env.FUZZ_ROUNDS ?? 4000);
  for (let round = 0; round < rounds; round++) {
    const bytes = mutate(originals[round % originals.length], random);
    try {
      const spec = openObject(bytes);
      loadObject(spec, new ExecutionContext({ memory: { initialPages: 1, maximumPages: 256 } }));
      outcomes.loaded++;
    } catch (e) {
      if (!TYPED.some((t) => e instanceof t)) {
        assert.fail(`FUZZ_SEED=${seed} round ${round}: ${e instanceof Error ? e.stack : String(e)}`);
      }
      outcomes.refused++;
    }
  }
  assert.ok(outcomes.loaded > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
});
