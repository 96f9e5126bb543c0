// Malformed input over a raw socket (DESIGN.md: "Unknown, malformed or oversized requests get a
// clear error and change nothing"): frames that are not JSON, envelopes that fail the schema,
// unknown operations, hello out of order or of another version, arguments of the wrong shape or
// size, objects that are not ELF. Each gets an error reply with a stable code; an oversized length
// prefix gets bad-frame and the connection closed; a truncated frame and a hang-up are shrugged off.
// Afterwards the state is exactly as before and the service answers other clients.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ServiceClient } from '../../src/service/client.js';
import type { ProgramInfo } from '../../src/service/protocol.js';
import { example, frame, Sandbox, snapshot, u32hex, u64hex, type RawConnection, type Reply } from './support.js';

const droppacket = readFileSync(example('droppacket.o'));
const MAX_FRAME = 16 << 20;

interface Case {
  readonly name: string;
  /** A request envelope (its id is checked in the reply), or bytes to send as they are. */
  readonly send: { op: string; args?: unknown; id?: number } | Buffer;
  readonly code: string;
  /** The reply's id when the request's could not be read (default: the request's, else 0). */
  readonly replyId?: number;
  /** A pattern the message must match. */
  readonly message?: RegExp;
}

const request = (op: string, args?: unknown, id?: number): Case['send'] => ({ op, ...(args === undefined ? {} : { args }), ...(id === undefined ? {} : { id }) });

describe('malformed messages', () => {
  let sb: Sandbox;
  let admin: ServiceClient;
  let raw: RawConnection;
  let arrayMap: number;
  let hashMap: number;
  let before0: unknown;
  let nextId = 1000;

  before(async () => {
    sb = new Sandbox();
    await sb.startDaemon();
    admin = await sb.client('admin');
    const dp = (await admin.request('program.add', { object: droppacket.toString('base64'), path: 'droppacket.o', pinPath: 'dp', pinned: 'all' })) as ProgramInfo;
    const hc = (await admin.request('program.add', { object: readFileSync(example('hash_counter.o')).toString('base64'), pinPath: 'hc', pinned: 'all' })) as ProgramInfo;
    arrayMap = dp.maps[0];
    hashMap = hc.maps[0];
    await admin.request('map.update', { map: arrayMap, key: u32hex(0), value: u64hex(11) });
    for (const k of [1, 2, 3]) await admin.request('map.update', { map: hashMap, key: u32hex(k), value: u64hex(k * 100) });
    before0 = await snapshot(admin);
    raw = await sb.raw();
    const hello = await raw.hello('admin', readFileSync(`${sb.stateDir}/admin.token`, 'utf8').trim());
    assert.equal(hello.ok, true, JSON.stringify(hello));
  });
  after(async () => {
    await sb.cleanup();
  });

  /** Sends one case on `conn` and checks its error reply. */
  async function check(conn: RawConnection, c: Case): Promise<Reply> {
    let expectId = c.replyId ?? 0;
    if (Buffer.isBuffer(c.send)) conn.write(c.send);
    else {
      const id = c.send.id ?? nextId++;
      if (c.replyId === undefined) expectId = id;
      conn.write(frame({ kind: 'request', id, op: c.send.op, ...('args' in c.send ? { args: c.send.args } : {}) }));
    }
    const r = await conn.next();
    assert.equal(r.kind, 'reply', c.name);
    assert.equal(r.ok, false, `${c.name}: expected an error reply, got ${JSON.stringify(r)}`);
    assert.equal(r.error?.code, c.code, `${c.name}: ${JSON.stringify(r.error)}`);
    assert.equal(r.id, expectId, `${c.name}: reply id`);
    assert.equal(typeof r.error?.message, 'string');
    assert.doesNotMatch(r.error?.message ?? '', /\n\s+at /, `${c.name}: no stack trace`);
    if (c.message !== undefined) assert.match(r.error?.message ?? '', c.message, c.name);
    return r;
  }

  const notJson: Case[] = [
    { name: 'a frame that is not JSON', send: frame('hello, service'), code: 'bad-frame', message: /not a JSON message/ },
    { name: 'an empty frame', send: frame(''), code: 'bad-frame' },
    { name: 'garbage bytes', send: frame(Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x81, 0x22, 0x7d, 0x00])), code: 'bad-frame' },
    { name: 'JSON cut short', send: frame('{"kind":"request","id":3,"op":"program.li'), code: 'bad-frame' },
  ];

  const badEnvelopes: Case[] = [
    { name: 'a JSON array', send: frame([1, 2, 3]), code: 'bad-message' },
    { name: 'a JSON string', send: frame(JSON.stringify('program.list')), code: 'bad-message' },
    { name: 'JSON null', send: frame('null'), code: 'bad-message' },
    { name: 'a JSON number', send: frame('42'), code: 'bad-message' },
    { name: 'an empty object', send: frame({}), code: 'bad-message' },
    { name: 'no kind', send: frame({ id: 5, op: 'program.list', args: {} }), code: 'bad-message', replyId: 5 },
    { name: 'an unknown kind', send: frame({ kind: 'notify', id: 6, op: 'program.list', args: {} }), code: 'bad-message', replyId: 6 },
    { name: 'no id', send: frame({ kind: 'request', op: 'program.list', args: {} }), code: 'bad-message' },
    { name: 'no op', send: frame({ kind: 'request', id: 7, args: {} }), code: 'bad-message', replyId: 7 },
    { name: 'no args', send: frame({ kind: 'request', id: 8, op: 'program.list' }), code: 'bad-message', replyId: 8 },
    { name: 'an id that is a string', send: frame({ kind: 'request', id: '9', op: 'program.list', args: {} }), code: 'bad-message', replyId: 0 },
    { name: 'an id of zero', send: frame({ kind: 'request', id: 0, op: 'program.list', args: {} }), code: 'bad-message', replyId: 0 },
    { name: 'a negative id', send: frame({ kind: 'request', id: -4, op: 'program.list', args: {} }), code: 'bad-message', replyId: 0 },
    { name: 'a fractional id', send: frame({ kind: 'request', id: 1.5, op: 'program.list', args: {} }), code: 'bad-message', replyId: 0 },
    { name: 'a huge id', send: frame(`{"kind":"request","id":1e300,"op":"program.list","args":{}}`), code: 'bad-message', replyId: 0 },
    { name: 'an id just over 2^31', send: frame({ kind: 'request', id: 2 ** 31 + 1, op: 'program.list', args: {} }), code: 'bad-message', replyId: 0 },
    { name: 'an op that is a number', send: frame({ kind: 'request', id: 10, op: 12, args: {} }), code: 'bad-message', replyId: 10 },
    { name: 'an op of 65 characters', send: frame({ kind: 'request', id: 11, op: 'x'.repeat(65), args: {} }), code: 'bad-message', replyId: 11 },
    { name: 'an extra envelope field', send: frame({ kind: 'request', id: 12, op: 'program.list', args: {}, admin: true }), code: 'bad-message', replyId: 12 },
  ];

  const badOps: Case[] = [
    { name: 'an unknown op', send: request('program.frobnicate', {}), code: 'unknown-op', message: /no operation 'program\.frobnicate'/ },
    { name: 'an empty op', send: request('', {}), code: 'unknown-op' },
    { name: 'an op named after an Object.prototype member', send: request('constructor', {}), code: 'unknown-op' },
    { name: 'a host op sent to the service', send: request('host.load', { object: 1, bytes: '', programs: [], maps: [] }), code: 'unknown-op' },
    { name: 'hello twice', send: request('hello', { version: 1, role: 'reader' }), code: 'out-of-order', message: /already/ },
  ];

  const badArgs = (): Case[] => [
    { name: 'args that are an array', send: request('program.list', []), code: 'bad-message' },
    { name: 'args that are a string', send: request('program.list', 'all'), code: 'bad-message' },
    { name: 'an unknown extra argument', send: request('program.list', { id: 1, verbose: true }), code: 'bad-message', message: /verbose|unrecognized/i },
    { name: 'an unknown extra argument to a change', send: request('map.update', { map: arrayMap, key: u32hex(0), value: u64hex(99), force: true }), code: 'bad-message' },
    { name: 'a missing argument', send: request('program.delete', {}), code: 'bad-message', message: /^program\.delete: id: / },
    { name: 'an id of the wrong type', send: request('program.delete', { id: '1' }), code: 'bad-message' },
    { name: 'an id of zero in args', send: request('program.delete', { id: 0 }), code: 'bad-message' },
    { name: 'a negative id in args', send: request('program.set', { id: -1, pinPath: null }), code: 'bad-message' },
    { name: 'a huge id in args', send: request('program.delete', { id: 2 ** 40 }), code: 'bad-message' },
    { name: 'a fractional map id', send: request('map.dump', { map: 1.5 }), code: 'bad-message' },
    { name: 'a program id that does not exist', send: request('program.delete', { id: 999 }), code: 'not-found', message: /no program with id 999/ },
    { name: 'a listed id that does not exist', send: request('program.list', { id: 4242 }), code: 'not-found' },
    { name: 'set on a program that does not exist', send: request('program.set', { id: 999, pinPath: 'x' }), code: 'not-found' },
    { name: 'run of a program that does not exist', send: request('program.run', { id: 999 }), code: 'not-found' },
    { name: 'a key that is not hex', send: request('map.lookup', { map: hashMap, key: 'zzzzzzzz' }), code: 'bad-message' },
    { name: 'a key in upper-case hex', send: request('map.lookup', { map: hashMap, key: '0A000001' }), code: 'bad-message' },
    { name: 'a key of an odd number of digits', send: request('map.lookup', { map: hashMap, key: '0000000' }), code: 'bad-message' },
    { name: 'a key of the wrong size', send: request('map.lookup', { map: hashMap, key: '0000' }), code: 'invalid', message: /key is 2 bytes; map packets_by_source has keys of 4/ },
    { name: 'a value of the wrong size', send: request('map.update', { map: arrayMap, key: u32hex(0), value: '01' }), code: 'invalid', message: /value is 1 bytes/ },
    { name: 'a key too long for delete', send: request('map.delete', { map: hashMap, key: u64hex(1) }), code: 'invalid' },
    { name: 'map flags out of range', send: request('map.update', { map: arrayMap, key: u32hex(0), value: u64hex(1), flags: 9 }), code: 'bad-message' },
    { name: 'an update the map refuses (noexist on an existing key)', send: request('map.update', { map: hashMap, key: u32hex(1), value: u64hex(7), flags: 1 }), code: 'map' },
    { name: 'a delete of an array element', send: request('map.delete', { map: arrayMap, key: u32hex(0) }), code: 'map' },
    { name: 'an array index out of range', send: request('map.update', { map: arrayMap, key: u32hex(5), value: u64hex(1) }), code: 'map' },
    { name: 'map.update on a missing map', send: request('map.update', { map: 777, key: u32hex(0), value: u64hex(1) }), code: 'not-found', message: /no map with id 777/ },
    { name: 'map.update on a missing pin path', send: request('map.update', { map: 'no/such/pin', key: u32hex(0), value: u64hex(1) }), code: 'not-found' },
    { name: 'map.dump of a program pin', send: request('map.dump', { map: 'dp' }), code: 'invalid', message: /pinned program, not a map/ },
    { name: 'a pin path with a NUL byte', send: request('pin', { kind: 'map', id: arrayMap, path: 'a\u0000b' }), code: 'bad-message' },
    { name: 'an empty pin path', send: request('pin', { kind: 'map', id: arrayMap, path: '' }), code: 'bad-message' },
    { name: 'a pin path that is taken', send: request('pin', { kind: 'map', id: arrayMap, path: 'hc' }), code: 'exists' },
    { name: 'a pin of an unknown kind', send: request('pin', { kind: 'link', id: 1, path: 'l' }), code: 'bad-message' },
    { name: 'an unpin of a path not pinned', send: request('unpin', { kind: 'map', id: arrayMap, path: 'elsewhere' }), code: 'not-found' },
    { name: 'run data of odd hex', send: request('program.run', { id: 1, data: 'abc' }), code: 'bad-message' },
    { name: 'a run repeat of zero', send: request('program.run', { id: 1, repeat: 0 }), code: 'bad-message' },
    { name: 'an attach point with no name', send: request('host.register', { points: [{ type: 'xdp' }] }), code: 'bad-message' },
    { name: 'program.add without an object', send: request('program.add', { path: 'x.o' }), code: 'bad-message' },
    { name: 'program.add with pinned=some', send: request('program.add', { object: droppacket.toString('base64'), pinned: 'some' }), code: 'bad-message' },
  ];

  const badObjects = (): Case[] => [
    { name: 'program.add of an empty object', send: request('program.add', { object: '' }), code: 'invalid', message: /empty/ },
    { name: 'program.add of base64 that is not an ELF', send: request('program.add', { object: Buffer.from('#!/bin/sh\necho not an object\n'.padEnd(300, '#')).toString('base64'), path: 'script.o' }), code: 'invalid', message: /not an ELF/ },
    { name: 'program.add of text that is not base64', send: request('program.add', { object: '!!!! not base64 ????' }), code: 'invalid' },
    { name: 'program.add of a truncated ELF', send: request('program.add', { object: droppacket.subarray(0, 200).toString('base64'), path: 'droppacket.o' }), code: 'invalid' },
    { name: 'program.add of a section that does not exist', send: request('program.add', { object: droppacket.toString('base64'), path: 'droppacket.o', section: 'tc/ingress' }), code: 'invalid', message: /no section or program 'tc\/ingress'/ },
    { name: 'program.add as a type without rules', send: request('program.add', { object: droppacket.toString('base64'), type: 'no_such_type' }), code: 'invalid' },
    { name: 'program.add to an attach point nobody offers', send: request('program.add', { object: droppacket.toString('base64'), pinned: 'none', attachPoint: 'nowhere0' }), code: 'not-found', message: /no hook host offers an attach point named nowhere0/ },
    { name: 'program.add at a pin path that is taken', send: request('program.add', { object: droppacket.toString('base64'), pinPath: 'dp' }), code: 'exists' },
  ];

  test('frames that are not JSON are bad-frame', async () => {
    for (const c of notJson) await check(raw, c);
  });

  test('envelopes that fail the schema are bad-message, answered to the id when it can be read', async () => {
    for (const c of badEnvelopes) await check(raw, c);
  });

  test('unknown operations are unknown-op; a second hello is out-of-order', async () => {
    for (const c of badOps) await check(raw, c);
  });

  test('arguments of the wrong shape, size or target get bad-message, invalid, not-found, exists or map', async () => {
    for (const c of badArgs()) await check(raw, c);
  });

  test('objects that are not ELF, truncated, or without the section are refused as invalid', async () => {
    for (const c of badObjects()) await check(raw, c);
  });

  test('before hello, requests are out-of-order; a hello of another version is refused as version', async () => {
    const fresh = await sb.raw();
    await check(fresh, { name: 'a request before hello', send: request('program.list', {}), code: 'out-of-order' });
    await check(fresh, { name: 'a change before hello', send: request('map.update', { map: arrayMap, key: u32hex(0), value: u64hex(5) }), code: 'out-of-order' });
    await check(fresh, { name: 'a hello of version 2', send: request('hello', { version: 2, role: 'reader' }), code: 'version', message: /speaks protocol version 1, the client 2/ });
    await check(fresh, { name: 'a hello of version 0', send: request('hello', { version: 0, role: 'admin' }), code: 'version' });
    await check(fresh, { name: 'a hello with a version string', send: request('hello', { version: '1', role: 'reader' }), code: 'bad-message' });
    await check(fresh, { name: 'a hello of an unknown role', send: request('hello', { version: 1, role: 'root' }), code: 'bad-message' });
    await check(fresh, { name: 'a hello with an extra field', send: request('hello', { version: 1, role: 'reader', sudo: true }), code: 'bad-message' });
    await check(fresh, { name: 'a hello with no args', send: frame({ kind: 'request', id: 31, op: 'hello', args: null }), code: 'bad-message', replyId: 31 });
    // None of those counted as a hello: a request is still out of order, and a good hello works.
    await check(fresh, { name: 'a request after failed hellos', send: request('pin.list', {}), code: 'out-of-order' });
    const hello = await fresh.hello('reader');
    assert.equal(hello.ok, true, JSON.stringify(hello));
    fresh.destroy();
  });

  test('a reply the service never asked for, or a malformed reply, gets no answer, and the connection goes on', async () => {
    raw.write(frame({ kind: 'reply', id: 4321, ok: true, result: { programs: [] } }));
    raw.write(frame({ kind: 'reply', id: 4322, ok: false, error: { code: 'internal', message: 'no' } }));
    raw.write(frame({ kind: 'reply', id: 4324, ok: false, error: { code: 'no-such-code', message: '' } }));
    raw.write(frame({ kind: 'reply', id: -1, ok: 'maybe' }));
    const r = await raw.request('program.list', {}, 4323);
    assert.equal(r.id, 4323);
    assert.equal(r.ok, true);
    assert.equal(raw.pending, 0);
  });

  test('a request sent a byte at a time is answered once complete', async () => {
    const fresh = await sb.raw();
    const bytes = frame({ kind: 'request', id: 77, op: 'hello', args: { version: 1, role: 'reader' } });
    for (let i = 0; i < bytes.length; i++) {
      fresh.write(bytes.subarray(i, i + 1));
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const r = await fresh.next();
    assert.equal(r.id, 77);
    assert.equal(r.ok, true);
    fresh.destroy();
  });

  for (const [name, length] of [['just over 16 MiB', MAX_FRAME + 1], ['4 GiB', 0xffffffff]] as const) {
    test(`a length prefix of ${name} is bad-frame and that connection is closed`, async () => {
      const fresh = await sb.raw();
      assert.equal((await fresh.hello('reader')).ok, true);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(length, 0);
      fresh.write(Buffer.concat([head, Buffer.from('{"kind":"request","id":5,"op":"program.list","args":{}}')]));
      const r = await fresh.next();
      assert.deepEqual([r.id, r.ok, r.error?.code], [0, false, 'bad-frame']);
      assert.match(r.error?.message ?? '', new RegExp(`a frame of ${length} bytes is over the ${MAX_FRAME}-byte limit`));
      await fresh.closed;
      // A second connection is served as usual.
      const other = await sb.raw();
      assert.equal((await other.hello('reader')).ok, true);
      other.destroy();
    });
  }

  test('a truncated frame followed by a hang-up, and a hang-up mid-request, leave the service answering', async () => {
    const a = await sb.raw();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(100, 0);
    a.write(Buffer.concat([head, Buffer.from('{"kind":"requ')]));
    a.destroy();
    const b = await sb.raw();
    assert.equal((await b.hello('admin', readFileSync(`${sb.stateDir}/admin.token`, 'utf8').trim())).ok, true);
    // A program.add whose asker hangs up before the verdict: the service finishes it and drops the reply.
    b.write(frame({ kind: 'request', id: 2, op: 'program.add', args: { object: droppacket.subarray(0, 300).toString('base64') } }));
    b.destroy();
    const c = await sb.raw();
    c.write(Buffer.from([0, 0]));
    c.destroy();
    const status = (await admin.request('service.status', {})) as { programs: number };
    assert.equal(status.programs, 2);
  });

  test('after all of it nothing changed, and the service answers other clients', async () => {
    assert.deepEqual(await snapshot(admin), before0);
    assert.equal(raw.pending, 0, 'no reply came that was not asked for');
    const r = await raw.request('program.list', {});
    assert.equal(r.ok, true);
    const reader = await sb.client('reader');
    assert.equal(((await reader.request('program.list', {})) as { programs: unknown[] }).programs.length, 2);
    const dp = (await admin.request('program.add', { object: droppacket.toString('base64'), pinned: 'none' })) as ProgramInfo;
    assert.equal(dp.name, 'drop_empty_udp');
  });
});
