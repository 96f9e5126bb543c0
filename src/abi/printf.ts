// The conversions of bpf_trace_printk and bpf_snprintf format strings: one scanner for the helpers
// that format at run time and for the verifier, which must know which arguments %s dereferences.

/** A conversion: flags, width, length modifier, conversion letter (d i u x X o c s p, or %). */
export const PRINTF_CONVERSION = /%([-0]*)(\d*)(hh|h|ll|l|z)?([diuxXocsp%])/g;

/** The conversion letters that consume an argument, in order (`%%` consumes none). */
export function printfConversions(format: string): string[] {
  const out: string[] = [];
  for (const m of format.matchAll(PRINTF_CONVERSION)) if (m[4] !== '%') out.push(m[4]);
  return out;
}
