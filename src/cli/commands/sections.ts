// `ebpf show sections FILE [SECTION]`: what netsh's `show sections` prints: programs with type and
// size, maps with type, key, value and max entries.
import Table from 'cli-table3';
import type { MapDefinition, ObjectSpec } from '../../elf/index.js';
import { openObjectFile, parseAbi, selectPrograms } from '../object-file.js';

import { mapTypeLabel } from '../../maps/spec.js';

export function plainTable(head: string[]): Table.Table {
  return new Table({
    head,
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
}

function mapsUsed(spec: ObjectSpec, programName: string): MapDefinition[] {
  const program = spec.programs.find((p) => p.name === programName);
  const names = new Set(program?.references.flatMap((r) => (r.kind === 'map' || r.kind === 'map-value' ? [r.map] : [])) ?? []);
  return spec.maps.filter((m) => names.has(m.name));
}

export function sectionsCommand(file: string, section: string | undefined, options: { json?: boolean; abi?: string }, out: (s: string) => void): number {
  const spec = openObjectFile(file, parseAbi(options.abi));
  const programs = selectPrograms(spec, section);
  if (options.json) {
    out(JSON.stringify({
      file,
      abi: spec.abi,
      abiReason: spec.abiReason,
      license: spec.license,
      programs: programs.map((p) => ({ name: p.name, section: p.section, type: p.type, attachTo: p.attachTo, instructions: p.instructions.length, size: p.code.length, maps: mapsUsed(spec, p.name).map((m) => m.name) })),
      maps: spec.maps.map((m) => ({ name: m.name, type: mapTypeLabel(m.type), typeId: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, origin: m.origin, ...(m.innerMap ? { innerMap: m.innerMap.name } : {}) })),
    }, null, 2) + '\n');
    return 0;
  }
  const table = plainTable(['Section', 'Program', 'Type', '# Maps', 'Size']);
  table.push(['='.repeat(7), '='.repeat(7), '='.repeat(4), '='.repeat(6), '='.repeat(4)]);
  for (const p of programs) table.push([p.section, p.name, p.type, String(mapsUsed(spec, p.name).length), `${p.code.length}`]);
  out(`${file}: ${spec.abi === 'efw' ? 'ebpf-for-windows' : 'Linux'} ABI (${spec.abiReason})${spec.license ? `, license ${spec.license}` : ''}\n\n`);
  out(table.toString() + '\n');
  const maps = section === undefined ? spec.maps : programs.flatMap((p) => mapsUsed(spec, p.name));
  if (maps.length > 0) {
    const mapTable = plainTable(['Map', 'Type', 'Key size', 'Value size', 'Max entries']);
    mapTable.push(['='.repeat(3), '='.repeat(4), '='.repeat(8), '='.repeat(10), '='.repeat(11)]);
    for (const m of maps) mapTable.push([m.name, mapTypeLabel(m.type) + (m.innerMap ? ` of ${mapTypeLabel(m.innerMap.type)}` : ''), String(m.keySize), String(m.valueSize), String(m.maxEntries)]);
    out('\n' + mapTable.toString() + '\n');
  }
  return 0;
}
