// Just enough DNS (RFC 1035) for the demo: queries for A records and their answers.

export interface DnsQuestion {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** Byte length of the header and question: the answer section starts there. */
  readonly end: number;
}

export const TYPE_A = 1;
export const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_FORMERR = 1;

export class DnsFormatError extends Error {
  override readonly name = 'DnsFormatError';
}

/** Parses a query with one question. */
export function parseQuery(message: Uint8Array): DnsQuestion {
  if (message.length < 12) throw new DnsFormatError(`a DNS message has a 12-byte header; got ${message.length} bytes`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const flags = view.getUint16(2);
  if ((flags & 0x8000) !== 0) throw new DnsFormatError('not a query (QR is set)');
  if (view.getUint16(4) !== 1) throw new DnsFormatError(`expected one question, got ${view.getUint16(4)}`);
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    if (at >= message.length) throw new DnsFormatError('question name runs past the end');
    const length = message[at++];
    if (length === 0) break;
    if (length > 63) throw new DnsFormatError('compressed or oversized label in a question');
    if (at + length > message.length) throw new DnsFormatError('label runs past the end');
    labels.push(new TextDecoder().decode(message.subarray(at, at + length)));
    at += length;
  }
  if (at + 4 > message.length) throw new DnsFormatError('question type and class missing');
  return { id: view.getUint16(0), name: labels.join('.').toLowerCase(), type: view.getUint16(at), class: view.getUint16(at + 2), end: at + 4 };
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.').filter((l) => l.length > 0)) {
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

export function buildQuery(id: number, name: string, type = TYPE_A): Uint8Array {
  return Uint8Array.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...encodeName(name), type >> 8, type & 0xff, 0, CLASS_IN]);
}

/** The answer to `query` (its bytes, parsed as `question`): A record `address`, or NXDOMAIN. */
export function buildResponse(query: Uint8Array, question: DnsQuestion, address: readonly number[] | undefined): Uint8Array {
  const header = Array.from(query.subarray(0, question.end));
  header[2] = 0x84 | (query[2] & 0x01); // QR, AA, keep RD
  header[3] = address === undefined ? RCODE_NXDOMAIN : 0;
  header[6] = 0;
  header[7] = address === undefined ? 0 : 1; // ANCOUNT
  header[8] = header[9] = header[10] = header[11] = 0;
  if (address === undefined) return Uint8Array.from(header);
  // Answer: pointer to the question name (offset 12), type A, class IN, TTL 60, 4-byte address.
  return Uint8Array.from([...header, 0xc0, 0x0c, 0, TYPE_A, 0, CLASS_IN, 0, 0, 0, 60, 0, 4, ...address]);
}

export function buildFormatError(query: Uint8Array): Uint8Array | undefined {
  if (query.length < 12) return undefined; // nothing to answer to: no id
  const header = Array.from(query.subarray(0, 12));
  header[2] = 0x80;
  header[3] = RCODE_FORMERR;
  for (let i = 4; i < 12; i++) header[i] = 0;
  return Uint8Array.from(header);
}

/** Reads the id, rcode and first A address of a response. */
export function parseResponse(message: Uint8Array): { id: number; rcode: number; address?: string } {
  if (message.length < 12) throw new DnsFormatError('short response');
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const id = view.getUint16(0);
  const rcode = message[3] & 0x0f;
  if (view.getUint16(6) === 0 || message.length < 4) return { id, rcode };
  const address = Array.from(message.subarray(message.length - 4)).join('.');
  return { id, rcode, address };
}
