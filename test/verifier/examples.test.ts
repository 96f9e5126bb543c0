// The example programs (examples/*.o): every Linux XDP and socket-filter program, and the
// ebpf-for-windows droppacket, must be accepted; droppacket_unsafe must be refused at `udp->len`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ProgramTypeRules, formatReport, verify } from '../../src/verifier/index.js';
import { EFW_XDP, LINUX_SOCKET_FILTER, LINUX_XDP } from '../../src/program-types/base-rules.js';
import { inputFor, loadObject } from './objects.js';

const DIR = join(process.cwd(), 'examples');

/** Linux does not check XDP return values (an unknown one acts as XDP_ABORTED): any number. */
const XDP: ProgramTypeRules = { ...LINUX_XDP, returnRange: undefined };

const RULES: Record<string, ProgramTypeRules> = { xdp: XDP, socket_filter: LINUX_SOCKET_FILTER };

const objects = readdirSync(DIR).filter((f) => f.endsWith('.o') && f !== 'droppacket_unsafe.o').sort();

for (const file of objects) {
  test(`example ${file}: every Linux XDP/socket program is accepted`, () => {
    const spec = loadObject(join(DIR, file));
    if (spec.abi !== 'linux') return;
    for (const prog of spec.programs) {
      const rules = RULES[prog.type];
      if (rules === undefined) continue;
      const report = verify(inputFor(spec, prog, rules), { termination: true });
      assert.ok(report.ok, `${file} (${prog.name}):\n${formatReport(report)}`);
    }
  });
}

test('example droppacket_efw.o is accepted with the ebpf-for-windows XDP rules', () => {
  const spec = loadObject(join(DIR, 'droppacket_efw.o'));
  assert.ok(spec.programs.length > 0);
  for (const prog of spec.programs) {
    const report = verify(inputFor(spec, prog, EFW_XDP), { termination: true });
    assert.ok(report.ok, `${prog.name}:\n${formatReport(report)}`);
  }
});

test('example droppacket_unsafe.o is refused at the udp->len read, saying which check is missing', () => {
  const spec = loadObject(join(DIR, 'droppacket_unsafe.o'));
  const prog = spec.programs[0];
  const report = verify(inputFor(spec, prog, XDP), { termination: true });
  assert.equal(report.ok, false);
  if (report.ok) return;
  const first = report.errors[0];
  assert.equal(first.code, 'out-of-bounds-packet');
  assert.ok(first.source?.text.includes('udp->len'), formatReport(report));
  assert.match(first.message, /needs data \+ \d+ <= data_end, but the bounds checks on this path only prove data \+ \d+ <= data_end/);
});
