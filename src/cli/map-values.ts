// Keys and values on the command line: JSON output of bigints, and parsing of KEY/VALUE arguments.
import { UsageError } from './errors.js';

export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()) : value;
}

/** `VALUE` for a key or value of `size` bytes: an integer (decimal or 0x hex) or `hex:aabb…`. */
export function parseBytes(text: string, size: number, what: string): Uint8Array {
  if (text.startsWith('hex:')) {
    const hex = text.slice(4).replace(/[\s_]/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new UsageError(`${what}: '${text}' is not hex bytes`);
    const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    if (bytes.length !== size) throw new UsageError(`${what}: ${bytes.length} bytes given, the map needs ${size}`);
    return bytes;
  }
  if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw new UsageError(`${what}: '${text}' is neither an integer nor hex:BYTES`);
  if (size > 8) throw new UsageError(`${what}: the map needs ${size} bytes; give them as hex:BYTES`);
  const negative = text.startsWith('-');
  let v = BigInt(negative ? text.slice(1) : text);
  if (negative) v = -v;
  if (v >= 1n << BigInt(8 * size) || v < -(1n << BigInt(8 * size - 1))) throw new UsageError(`${what}: ${text} does not fit in ${size} bytes`);
  v = BigInt.asUintN(8 * size, v);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return bytes;
}
