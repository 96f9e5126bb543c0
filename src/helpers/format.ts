// printf-style formatting for bpf_trace_printk and bpf_snprintf: the conversions the kernel
// accepts (d i u x X o c s p, with l/ll/h/hh and width/zero/minus flags), arguments as u64.
import { PRINTF_CONVERSION as CONVERSION } from '../abi/printf.js';
import { HelperFault } from './implementation.js';

export interface FormatSource {
  /** The next argument, as u64. */
  next(): bigint;
  /** The string at an address (for %s). */
  string(address: number): string;
}


export function formatPrintf(format: string, source: FormatSource, maxArgs: number): string {
  let used = 0;
  return format.replace(CONVERSION, (_all, flags: string, width: string, length: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    if (++used > maxArgs) throw new HelperFault(`format string '${format}' uses more than ${maxArgs} arguments`);
    const raw = source.next();
    const bits = length === 'hh' ? 8 : length === 'h' ? 16 : length === 'l' || length === 'll' || length === 'z' || conv === 'p' ? 64 : 32;
    let text: string;
    switch (conv) {
      case 'd':
      case 'i':
        text = BigInt.asIntN(bits, raw).toString();
        break;
      case 'u':
        text = BigInt.asUintN(bits, raw).toString();
        break;
      case 'x':
        text = BigInt.asUintN(bits, raw).toString(16);
        break;
      case 'X':
        text = BigInt.asUintN(bits, raw).toString(16).toUpperCase();
        break;
      case 'o':
        text = BigInt.asUintN(bits, raw).toString(8);
        break;
      case 'c':
        text = String.fromCharCode(Number(raw & 0xffn));
        break;
      case 's':
        text = source.string(Number(BigInt.asUintN(32, raw)));
        break;
      default: // p
        text = '0x' + BigInt.asUintN(64, raw).toString(16);
        break;
    }
    const w = width === '' ? 0 : Number(width);
    if (text.length >= w) return text;
    if (flags.includes('-')) return text.padEnd(w);
    if (flags.includes('0') && conv !== 's' && conv !== 'c') {
      const negative = text.startsWith('-');
      return (negative ? '-' : '') + text.slice(negative ? 1 : 0).padStart(w - (negative ? 1 : 0), '0');
    }
    return text.padStart(w);
  });
}
