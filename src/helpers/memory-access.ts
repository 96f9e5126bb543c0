// Bounds-checked reads and writes of linear memory for helpers: a bad pointer from an unverified
// program becomes a HelperFault (reported as a helper-error at the calling pc), never a RangeError.
import { NULL_GUARD, type LinearMemory } from '../vm/memory.js';
import { HelperFault } from './implementation.js';

export function checkRange(memory: LinearMemory, address: number, size: number, what: string): void {
  if (!Number.isInteger(size) || size < 0) throw new HelperFault(`${what}: invalid size ${size}`);
  if (address < NULL_GUARD || address + size > memory.size) {
    throw new HelperFault(`${what}: ${size} bytes at 0x${address.toString(16)} are outside the program's memory`);
  }
}

export function readBytes(memory: LinearMemory, address: number, size: number, what: string): Uint8Array {
  checkRange(memory, address, size, what);
  return memory.bytes.slice(address, address + size);
}

export function writeBytes(memory: LinearMemory, address: number, data: Uint8Array, what: string): void {
  checkRange(memory, address, data.length, what);
  memory.bytes.set(data, address);
}

/** A NUL-terminated string of at most `max` bytes (the NUL not required within them). */
export function readCString(memory: LinearMemory, address: number, max: number, what: string): string {
  checkRange(memory, address, Math.min(max, Math.max(0, memory.size - address)), what);
  const bytes = memory.bytes;
  let end = address;
  const limit = Math.min(address + max, memory.size);
  while (end < limit && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.slice(address, end));
}
