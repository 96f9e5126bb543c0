// Extensions in every ebpf-ts process: EBPF_TS_EXTENSIONS names modules that the CLI, the service
// and its verifier processes import before they work, so a program of an extension's type is
// opened, verified in the verifier process, loaded and run by the service as any other. Without
// the variable the same object is refused with the reason; a module that cannot be loaded is a
// one-line error.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadedId, Sandbox } from '../service/support.js';
import { REPO_ROOT } from '../support/shared.js';

const EXTENSION = join(REPO_ROOT, 'examples', 'extension', 'sample-extension.mjs');
const OBJECT = join(REPO_ROOT, 'examples', 'extension', 'sample_maps.o');
const sb = new Sandbox();
after(() => sb.cleanup());

const withExtension = (): NodeJS.ProcessEnv => ({ ...sb.env(), EBPF_TS_EXTENSIONS: EXTENSION });

test('the CLI loads the extensions the environment names, and says which one fails to load', async () => {
  const plain = await sb.cli(['show', 'sections', OBJECT]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /^ebpf: ObjectError: legacy map counters: unknown ebpf-for-windows map type 61441\n$/);
  const shown = await sb.cli(['show', 'sections', OBJECT], { env: withExtension() });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /sample_ext\/2\s+third\s+sample\s/);
  assert.match(shown.stdout, /counters\s+sample_hash_map\s+4\s+8\s+16/);
  const ran = await sb.cli(['run', OBJECT, 'third'], { env: withExtension() });
  assert.match(ran.stdout, /^third \(sample, section sample_ext\/2, jit\): returned 3$/m);
  const broken = await sb.cli(['show', 'sections', OBJECT], { env: { ...sb.env(), EBPF_TS_EXTENSIONS: join(sb.dir, 'missing.mjs') } });
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /^ebpf: cannot load extension .*missing\.mjs \(EBPF_TS_EXTENSIONS\): .*\n$/);
  assert.doesNotMatch(broken.stderr, /\n\s+at /, 'no stack trace');
});

test('a service started with the extension verifies (in its verifier process), loads and runs sample programs', async () => {
  process.env.EBPF_TS_EXTENSIONS = EXTENSION;
  try {
    await sb.startDaemon();
  } finally {
    delete process.env.EBPF_TS_EXTENSIONS;
  }
  const added = await sb.cli(['add', 'program', OBJECT, 'sample_ext/2'], { env: withExtension() });
  assert.equal(added.code, 0, added.stderr);
  const id = loadedId(added.stdout);
  const ran = await sb.cli(['run', String(id), '--json'], { env: withExtension() });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal((JSON.parse(ran.stdout) as { returnValue: string | number }).returnValue.toString(), '3');
  const shown = await sb.cliOk('show', 'programs');
  assert.match(shown, new RegExp(`^\\s+${id}\\s.*\\ssample\\s+third$`, 'm'));
});
