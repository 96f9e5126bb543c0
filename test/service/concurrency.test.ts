// Many clients at once: 50 connections, each making 1,000 mixed requests (program.list, map.lookup,
// map.update, map.dump) with no error; each client counts its own key of a hash map up, reads its
// writes back at once, and at the end every key holds exactly its client's count: no update lost,
// reordered or applied to another key. And concurrent updates of a pinned map: each is saved before
// its reply (saves shared between clients), so the state file holds every acknowledged count.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceClient } from '../../src/service/client.js';
import type { MapInfo, ProgramInfo } from '../../src/service/protocol.js';
import { example, hexU64, Sandbox, u32hex, u64hex } from './support.js';

const CLIENTS = 50;
const REQUESTS = 1000;

describe('concurrent clients', () => {
  let sb: Sandbox;
  let hashMap: number;
  let pinnedMap: number;
  let arrayMap: number;

  before(async () => {
    sb = new Sandbox();
    await sb.startDaemon(['--checkpoint-ms', '60000']);
    const admin = await sb.client('admin');
    const hashCounter = readFileSync(example('hash_counter.o')).toString('base64');
    const hc = (await admin.request('program.add', { object: hashCounter, pinned: 'none' })) as ProgramInfo;
    const pinned = (await admin.request('program.add', { object: hashCounter, pinPath: 'hc', pinned: 'all' })) as ProgramInfo;
    const dp = (await admin.request('program.add', { object: readFileSync(example('droppacket.o')).toString('base64'), pinned: 'none' })) as ProgramInfo;
    hashMap = hc.maps[0];
    pinnedMap = pinned.maps[0];
    arrayMap = dp.maps[0];
    await admin.request('map.update', { map: arrayMap, key: u32hex(0), value: u64hex(12345) });
  });
  after(async () => {
    await sb.cleanup();
  });

  test(`${CLIENTS} clients making ${REQUESTS} mixed requests each lose no update and see no error`, async () => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => sb.client('admin')));
    const counts = new Array<number>(CLIENTS).fill(0);
    const tally = { 'program.list': 0, 'map.lookup': 0, 'map.update': 0, 'map.dump': 0 };

    async function work(c: ServiceClient, i: number): Promise<void> {
      const key = u32hex(1000 + i);
      for (let n = 0; n < REQUESTS; n++) {
        // Half updates; the others in turn. Each client begins with an update, then goes on from
        // its own point of the cycle so that all kinds of request are in flight at once.
        const step = n === 0 ? 0 : (n + i) % 8;
        if (step < 4) {
          counts[i]++;
          const r = await c.request('map.update', { map: hashMap, key, value: u64hex(counts[i]) });
          assert.deepEqual(r, { updated: true });
          tally['map.update']++;
        } else if (step === 4) {
          // Read-your-writes.
          const r = (await c.request('map.lookup', { map: hashMap, key })) as { value: string };
          assert.equal(hexU64(r.value), BigInt(counts[i]), `client ${i} read back its key`);
          tally['map.lookup']++;
        } else if (step === 6) {
          // The array map nobody writes.
          const r = (await c.request('map.lookup', { map: arrayMap, key: u32hex(0) })) as { value: string };
          assert.equal(hexU64(r.value), 12345n);
          tally['map.lookup']++;
        } else if (step === 5) {
          const r = (await c.request('program.list', {})) as { programs: ProgramInfo[] };
          assert.equal(r.programs.length, 3);
          tally['program.list']++;
        } else {
          const r = (await c.request('map.dump', { map: hashMap })) as { map: MapInfo; entries: [string, string][] };
          const mine = r.entries.find(([k]) => k === key);
          assert.equal(mine && hexU64(mine[1]), BigInt(counts[i]), `client ${i} found its key in the dump`);
          assert.ok(r.entries.length <= CLIENTS);
          tally['map.dump']++;
        }
      }
    }

    await Promise.all(clients.map((c, i) => work(c, i)));
    assert.equal(Object.values(tally).reduce((a, b) => a + b, 0), CLIENTS * REQUESTS);
    for (const v of Object.values(tally)) assert.ok(v > CLIENTS * 10, JSON.stringify(tally));

    const reader = await sb.client('reader');
    const dump = (await reader.request('map.dump', { map: hashMap })) as { entries: [string, string][] };
    const final = new Map(dump.entries.map(([k, v]) => [k, hexU64(v)]));
    assert.equal(final.size, CLIENTS);
    for (let i = 0; i < CLIENTS; i++) assert.equal(final.get(u32hex(1000 + i)), BigInt(counts[i]), `client ${i}'s key`);
    assert.equal(hexU64(((await reader.request('map.lookup', { map: arrayMap, key: u32hex(0) })) as { value: string }).value), 12345n);

    for (const c of clients) c.close();
  });

  test('concurrent updates of a pinned map are each saved before their reply', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => sb.client('admin')));
    const expected = new Map<string, bigint>();
    await Promise.all(clients.map(async (c, i) => {
      for (let n = 1; n <= 40; n++) await c.request('map.update', { map: 'hc/packets_by_source', key: u32hex(i), value: u64hex(n) });
      expected.set(u32hex(i), 40n);
      // Read before any checkpoint could run (every 60 s here): what is on disk is what was acknowledged.
      const state = JSON.parse(readFileSync(join(sb.stateDir, 'state.json'), 'utf8')) as { objects: { maps: { id: number; entries: [string, string][] }[] }[] };
      const saved = state.objects.flatMap((o) => o.maps).find((m) => m.id === pinnedMap);
      const mine = saved?.entries.find(([k]) => k === u32hex(i));
      assert.equal(mine && hexU64(mine[1]), 40n, `client ${i}'s last acknowledged update is saved`);
    }));
    const state = JSON.parse(readFileSync(join(sb.stateDir, 'state.json'), 'utf8')) as { objects: { maps: { id: number; entries: [string, string][] }[] }[] };
    const saved = state.objects.flatMap((o) => o.maps).find((m) => m.id === pinnedMap);
    assert.deepEqual(new Map(saved?.entries.map(([k, v]) => [k, hexU64(v)])), expected);
    for (const c of clients) c.close();
  });
});
