// Opening object files for commands: clear errors for missing files, unknown programs and maps.
import { openObject, type Abi, type ObjectSpec, type ProgramSpec } from '../elf/index.js';
import { UsageError } from './errors.js';
import { readFileOrFail } from './program-file.js';
import { didYouMean } from './suggest.js';

export function parseAbi(text: string | undefined): Abi | undefined {
  if (text === undefined) return undefined;
  if (text !== 'linux' && text !== 'efw') throw new UsageError(`unknown ABI '${text}' (linux or efw)`);
  return text;
}

export function openObjectFile(path: string, abi?: Abi): ObjectSpec {
  return openObject(readFileOrFail(path), { path, abi });
}

/** Programs matching a function or section name (all programs when none is given). */
export function selectPrograms(spec: ObjectSpec, name: string | undefined): ProgramSpec[] {
  if (name === undefined) return [...spec.programs];
  const found = spec.programs.filter((p) => p.name === name || p.section === name);
  if (found.length > 0) return found;
  const known = [...new Set(spec.programs.flatMap((p) => [p.section, p.name]))];
  throw new UsageError(`${spec.path ?? 'the object'} has no section or program '${name}'${didYouMean(name, known)}; it has: ${known.join(', ') || 'none'}`);
}

export function selectProgram(spec: ObjectSpec, name: string | undefined): ProgramSpec {
  const found = selectPrograms(spec, name);
  if (found.length === 1) return found[0];
  const list = found.map((p) => `${p.name} (section ${p.section})`).join(', ');
  throw new UsageError(`${spec.path ?? 'the object'} has ${found.length} programs${name === undefined ? '' : ` in ${name}`}: name one of ${list}`);
}
