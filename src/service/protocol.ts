// The service protocol (docs/service-protocol.md): frames of a 4-byte big-endian length and a
// UTF-8 JSON message. Every message is checked against a zod schema before anything acts on it;
// both ends send requests (clients to the service, the service to hook hosts) and answer each
// other's by id. One source of truth for the message shapes: the schemas below.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
/** Largest frame either end accepts: an object file of a few MiB in base64, with room to spare. */
export const MAX_FRAME = 16 << 20;

/** Stable error codes of error replies (documented in docs/service-protocol.md). */
export const ERROR_CODES = [
  'bad-frame', // not a frame: oversized, or not JSON
  'bad-message', // JSON that fails the schema
  'unknown-op', // a request of an operation this end does not have
  'out-of-order', // a request before hello, or a second hello
  'version', // the client speaks another protocol version
  'permission', // the request needs the admin role
  'bad-token', // an admin hello with a wrong token
  'not-found', // no program, map, link, pin or attach point of that id or name
  'exists', // a pin path or attach point already taken
  'invalid', // a well-formed request that cannot be done (wrong sizes, wrong program type ...)
  'refused', // the verifier refused the program (the report is in the message)
  'host', // the hook host that owns the object failed or went away
  'map', // the map said no (full, no such key, frozen ...)
  'internal', // a bug: the service goes on
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const id = z.number().int().positive().max(2 ** 31);
const hex = z.string().max(2 * MAX_FRAME).regex(/^([0-9a-f]{2})*$/, 'lowercase hex bytes');
const path = z.string().min(1).max(4096).refine((s) => !s.includes('\0'), 'no NUL bytes');
const name = z.string().min(1).max(256);
const pinned = z.enum(['none', 'first', 'all']);
const execution = z.enum(['jit', 'interpret']);
const tristate = z.enum(['any', 'yes', 'no']);
/**
 * An attach point: the program type it runs, its name, and (for types with several hooks, such
 * as sock_addr's connect4, recv_accept6, bind4 …) the attach type, which a program's section names.
 */
export const attachPointSchema = z.strictObject({ type: name, name, attach: name.optional() });
export type AttachPoint = z.infer<typeof attachPointSchema>;
/**
 * The attach point name that means every hook host, present and future (docs/service-protocol.md,
 * "Attaching to every host"); no host may offer a point of this name.
 */
export const EVERY_HOST = '*';
/** A map named by id or by a pin path. */
const mapRef = z.union([id, path]);

/** The operations clients send to the service, with their arguments. */
export const clientOps = {
  hello: z.strictObject({ version: z.number().int(), role: z.enum(['reader', 'admin']), token: z.string().max(256).optional(), client: z.string().max(256).optional() }),
  'service.status': z.strictObject({}),
  'service.stop': z.strictObject({}),
  'program.add': z.strictObject({
    object: z.string().max(MAX_FRAME), // base64 ELF bytes
    path: path.optional(),
    section: name.optional(),
    type: name.optional(),
    pinPath: path.optional(),
    pinned: pinned.default('first'),
    attachPoint: name.optional(),
    // Or the hook host (by the name it gave, or its pid): its one attach point that fits the program.
    host: name.optional(),
    pid: id.optional(),
    execution: execution.default('jit'),
  }),
  'program.delete': z.strictObject({ id }),
  'program.set': z.strictObject({ id, attached: z.boolean().optional(), attachPoint: name.optional(), host: name.optional(), pid: id.optional(), pinPath: z.union([path, z.null()]).optional() }),
  'program.list': z.strictObject({ type: name.optional(), attached: tristate.default('any'), pinned: tristate.default('any'), id: id.optional() }),
  'program.run': z.strictObject({ id, data: hex.default(''), repeat: z.number().int().min(1).max(1_000_000).default(1) }),
  'map.list': z.strictObject({}),
  'map.dump': z.strictObject({ map: mapRef }),
  'map.lookup': z.strictObject({ map: mapRef, key: hex }),
  'map.update': z.strictObject({ map: mapRef, key: hex, value: hex, flags: z.number().int().min(0).max(4).default(0) }),
  'map.delete': z.strictObject({ map: mapRef, key: hex }),
  'link.list': z.strictObject({}),
  'pin.list': z.strictObject({}),
  pin: z.strictObject({ kind: z.enum(['program', 'map']), id, path }),
  unpin: z.strictObject({ kind: z.enum(['program', 'map']), id, path: path.optional() }),
  // pid: the host's own word for its process id (shown in links; nothing is decided on it).
  'host.register': z.strictObject({ points: z.array(attachPointSchema).max(256), pid: z.number().int().positive().max(2 ** 31).optional() }),
  'attach-point.list': z.strictObject({}),
} as const;
export type ClientOp = keyof typeof clientOps;
export type ClientArgs<O extends ClientOp> = z.input<(typeof clientOps)[O]>;
export type ClientParsed<O extends ClientOp> = z.output<(typeof clientOps)[O]>;

const entries = z.array(z.tuple([hex, hex])).max(1 << 20);
export type WireEntries = z.infer<typeof entries>;

/** The operations the service sends to a hook host. */
export const hostOps = {
  'host.load': z.strictObject({
    object: id,
    bytes: z.string().max(MAX_FRAME),
    programs: z.array(z.strictObject({ id, name, type: name, execution })).max(256),
    // The definitions travel in the object; the service names each map's id and saved contents.
    maps: z.array(z.strictObject({ id, name, entries: entries.optional() })).max(256),
  }),
  'host.unload': z.strictObject({ object: id }),
  'host.attach': z.strictObject({ program: id, link: id, point: attachPointSchema }),
  'host.detach': z.strictObject({ link: id }),
  'host.map': z.strictObject({ map: id, op: z.enum(['dump', 'lookup', 'update', 'delete']), key: hex.optional(), value: hex.optional(), flags: z.number().int().default(0) }),
  'host.run': z.strictObject({ program: id, data: hex, repeat: z.number().int().min(1) }),
} as const;
export type HostOp = keyof typeof hostOps;
export type HostArgs<O extends HostOp> = z.input<(typeof hostOps)[O]>;

/** 0 answers a frame whose request id could not be read. */
const replyId = z.number().int().min(0).max(2 ** 31);

/** The envelope: a request, or a reply to one. */
const requestSchema = z.strictObject({ kind: z.literal('request'), id, op: z.string().max(64), args: z.unknown() });
const replySchema = z.union([
  z.strictObject({ kind: z.literal('reply'), id: replyId, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ kind: z.literal('reply'), id: replyId, ok: z.literal(false), error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string() }) }),
]);
export const envelopeSchema = z.union([requestSchema, replySchema]);
export type Envelope = z.infer<typeof envelopeSchema>;

/** Checks a decoded frame; the error names the first problem of the kind of message it claims to be. */
export function parseEnvelope(json: unknown): { ok: true; message: Envelope } | { ok: false; problem: string } {
  const kind = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { kind?: unknown }).kind : undefined;
  if (kind !== 'request' && kind !== 'reply') return { ok: false, problem: 'kind: a message is an object whose kind is "request" or "reply"' };
  const r = (kind === 'request' ? requestSchema : replySchema).safeParse(json);
  return r.success ? { ok: true, message: r.data } : { ok: false, problem: describeIssue(r.error) };
}

/** An error that travels as an error reply: code and one-line message. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The first problem zod found, as one line ("args.id: expected number"). */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}

/** Parses `args` of `op` against its schema, or throws a bad-message ServiceError. */
export function parseArgs<S extends z.ZodType>(schema: S, op: string, args: unknown): z.output<S> {
  const r = schema.safeParse(args ?? {});
  if (!r.success) throw new ServiceError('bad-message', `${op}: ${describeIssue(r.error)}`);
  return r.data;
}

export function encodeFrame(message: Envelope): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME) throw new ServiceError('bad-frame', `message of ${body.length} bytes is over the ${MAX_FRAME}-byte limit`);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/**
 * Splits a byte stream into frames. An oversized length poisons the stream (the peer is out of
 * step with us and nothing after it can be trusted): `push` then returns a 'bad-frame' error.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the frame being gathered, once its 4-byte header has arrived. */
  private needed: number | undefined;
  private poisoned = false;

  push(chunk: Buffer): { frames: Buffer[]; error?: string } {
    if (this.poisoned) return { frames: [] };
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.needed === undefined) {
        if (this.buffered < 4) break;
        const length = this.take(4).readUInt32BE(0);
        if (length > MAX_FRAME) {
          this.poisoned = true;
          this.chunks = [];
          this.buffered = 0;
          return { frames, error: `a frame of ${length} bytes is over the ${MAX_FRAME}-byte limit` };
        }
        this.needed = length;
      }
      // Chunks are joined once per frame, when all of it is here: a large frame arriving in many
      // chunks costs its size, not its size times the number of chunks.
      if (this.buffered < this.needed) break;
      frames.push(this.take(this.needed));
      this.needed = undefined;
    }
    return { frames };
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// ---- results (what the service answers; the service builds them, clients read them) ----

export interface ProgramInfo {
  readonly id: number;
  readonly name: string;
  readonly section: string;
  readonly type: string;
  readonly execution: 'jit' | 'interpret';
  readonly object: number;
  readonly path: string | null;
  readonly pins: string[];
  /** The first of `links`, or null. */
  readonly link: number | null;
  /** Every link of the program: one, or one per host and point when it is attached to every host. */
  readonly links: number[];
  /** Attached to every hook host, present and future: `attachPoint` is then `{ type, name: "*", attach? }`. */
  readonly wildcard: boolean;
  readonly attachPoint: AttachPoint | null;
  readonly attached: boolean;
  /** Where the object is loaded: for a wildcard program, where its template is (ebpfsvc). */
  readonly host: string | null;
  /** The hook hosts that hold a copy of a wildcard program's object (with maps of their own), in host order. */
  readonly copies: string[];
  readonly maps: number[];
  readonly instructions: number;
  readonly verifiedMs: number;
}

export interface MapInfo {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly innerMapId: number;
  readonly pins: string[];
  readonly object: number;
  readonly host: string | null;
  /** The hook hosts that hold a copy of this map of a wildcard program's object, in host order. */
  readonly copies: string[];
}

/** One hook host's copy of a map of a wildcard program's object: who, and (`error`) why it said nothing. */
export interface HostCopy {
  readonly host: string;
  /** As the host gave it, or null. */
  readonly pid: number | null;
  readonly error?: string;
}

/** `map.dump`: the map's (or template's) entries or records; `hosts` for a map of a wildcard program's object. */
export interface MapDumpResult {
  readonly map: MapInfo;
  readonly entries: WireEntries;
  readonly records?: string[];
  readonly hosts?: (HostCopy & { readonly entries?: WireEntries; readonly records?: string[] })[];
}

/** `map.lookup`: the value, or for a wildcard program's map the template's (null when it lacks the key) and each host's. */
export interface MapLookupResult {
  readonly value: string | null;
  readonly hosts?: (HostCopy & { readonly value: string | null })[];
}

export interface LinkInfo {
  readonly id: number;
  readonly program: number;
  readonly type: string;
  readonly attachPoint: string;
  readonly host: string;
  /** The host's process id (as the host gave it; the service's own for ebpfsvc). */
  readonly hostPid: number | null;
}

export interface PinInfo {
  readonly path: string;
  readonly kind: 'program' | 'map';
  readonly id: number;
}

export interface RunResult {
  readonly returnValue: string;
  readonly returnName: string | null;
  readonly data: string | null;
  readonly durationNs: number;
}
