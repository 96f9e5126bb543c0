// netsh-style arguments: `add program droppacket.o xdp pinned=none` means the same as
// `add program filename=droppacket.o section=xdp pinned=none`. Each verb declares its parameters in
// order; a `name=value` argument names one, a bare argument fills the next one not yet given.
import { UsageError } from './errors.js';
import { didYouMean } from './suggest.js';

export interface NetshParameter {
  readonly name: string;
  readonly required?: boolean;
  /** The values it takes, when it is an enumeration. */
  readonly choices?: readonly string[];
}

export function parseNetshArgs(verb: string, args: readonly string[], parameters: readonly NetshParameter[]): Record<string, string> {
  const names = parameters.map((p) => p.name);
  const given: Record<string, string> = {};
  let next = 0;
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq).toLowerCase() : undefined;
    if (key !== undefined && names.includes(key)) {
      if (given[key] !== undefined) throw new UsageError(`${verb}: ${key}= is given twice`);
      given[key] = arg.slice(eq + 1);
      continue;
    }
    if (key !== undefined && /^[a-z]+$/.test(key)) {
      throw new UsageError(`${verb}: no parameter '${key}'${didYouMean(key, names)}; it takes ${names.join(', ')}`);
    }
    while (next < names.length && given[names[next]] !== undefined) next++;
    if (next >= names.length) throw new UsageError(`${verb}: too many arguments at '${arg}'; it takes ${names.join(', ')}`);
    given[names[next++]] = arg;
  }
  for (const p of parameters) {
    const v = given[p.name];
    if (v === undefined) {
      if (p.required === true) throw new UsageError(`${verb}: ${p.name}= is required`);
      continue;
    }
    if (v === '') throw new UsageError(`${verb}: ${p.name}= is empty`);
    if (p.choices !== undefined && !p.choices.includes(v.toLowerCase())) {
      throw new UsageError(`${verb}: ${p.name}=${v} is not one of ${p.choices.join(', ')}`);
    }
    if (p.choices !== undefined) given[p.name] = v.toLowerCase();
  }
  return given;
}

/** A positive numeric id argument. */
export function parseId(what: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 2 ** 31) throw new UsageError(`${what}: '${text}' is not an id (a positive integer)`);
  return Number(text);
}
