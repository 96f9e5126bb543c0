// Map lookups compiled into the module, over the maps' layout in linear memory (src/maps), so the
// hot path of bpf_map_lookup_elem never crosses into JavaScript (DESIGN.md, "Where the time goes").
// The JavaScript implementation stays the reference: whenever the wasm walk cannot be sure (a miss
// while other threads may be changing the map, or a chain longer than the map can hold), it answers
// "ask the helper" and the call goes through the import as before.
import { HashEntry, HashLayout, LruLinks, LruList, MapHeader, MapType } from '../../maps/index.js';
import { THREADS_FLAG_ADDRESS } from '../memory.js';
import { AtomicRmw, Load, Op, Store, ValType, type FunctionBuilder, type ModuleBuilder } from './wasm-builder.js';

/** What hash_lookup returns when the caller must take the helper call instead. */
export const ASK_HELPER = -1;

const C1 = 0xcc9e2d51 | 0;
const C2 = 0x1b873593 | 0;

/** Map types whose lookups hash_lookup answers: the chained tables of src/maps/hash.ts. */
export const INLINE_HASH_TYPES: readonly number[] = [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH];

/** The value of an entry in use (src/maps/hash.ts). */
const IN_USE = 1;

/**
 * hash_lookup(map: i32, key: i32, cpu: i32) -> i32: the value address of `key` in the HASH,
 * PERCPU_HASH, LRU_HASH or LRU_PERCPU_HASH map at `map` (CPU `cpu`'s copy for per-CPU maps), 0
 * when it is not there, or ASK_HELPER. Same hash (MurmurHash3 x86_32, the map's seed), same
 * buckets and chains as src/maps/hash.ts, and the same side effect: a hit in an LRU map marks the
 * entry most recently used, as HashMap.lookupFromProgram does (under a try-lock when threads may
 * share the map; when the lock is busy the mark is skipped, recency being a hint).
 */
export function emitHashLookup(m: ModuleBuilder): void {
  const f = m.function([ValType.I32, ValType.I32, ValType.I32], [ValType.I32]);
  const MAP = 0;
  const KEY = 1;
  const CPU = 2;
  const len = f.local(ValType.I32);
  const h = f.local(ValType.I32);
  const at = f.local(ValType.I32);
  const end = f.local(ValType.I32);
  const k = f.local(ValType.I32);
  const entry = f.local(ValType.I32);
  const left = f.local(ValType.I32);
  const j = f.local(ValType.I32);
  const keyAt = f.local(ValType.I32);

  const mixK = (): void => {
    // k = rotl(k * C1, 15) * C2
    f.localGet(k).i32Const(C1).op(Op.i32_mul).i32Const(15).op(Op.i32_rotl).i32Const(C2).op(Op.i32_mul).localSet(k);
  };

  f.localGet(MAP).load(Load.i32_load, MapHeader.KEY_SIZE).localSet(len);
  f.localGet(MAP).load(Load.i32_load, HashLayout.SEED).localSet(h);
  f.localGet(KEY).localSet(at);
  f.localGet(KEY).localGet(len).i32Const(~3).op(Op.i32_and).op(Op.i32_add).localSet(end);
  // Body: four bytes at a time.
  f.block().loop();
  f.localGet(at).localGet(end).op(Op.i32_ge_u).brIf(1);
  f.localGet(at).load(Load.i32_load, 0).localSet(k);
  mixK();
  f.localGet(h).localGet(k).op(Op.i32_xor).i32Const(13).op(Op.i32_rotl).i32Const(5).op(Op.i32_mul).i32Const(0xe6546b64 | 0).op(Op.i32_add).localSet(h);
  f.localGet(at).i32Const(4).op(Op.i32_add).localSet(at);
  f.br(0);
  f.end().end();
  // Tail: the last one to three bytes.
  f.localGet(len).i32Const(3).op(Op.i32_and).if();
  f.localGet(at).load(Load.i32_load8_u, 0).localSet(k);
  f.localGet(len).i32Const(3).op(Op.i32_and).i32Const(1).op(Op.i32_gt_u).if();
  f.localGet(k).localGet(at).load(Load.i32_load8_u, 1).i32Const(8).op(Op.i32_shl).op(Op.i32_or).localSet(k);
  f.end();
  f.localGet(len).i32Const(3).op(Op.i32_and).i32Const(2).op(Op.i32_gt_u).if();
  f.localGet(k).localGet(at).load(Load.i32_load8_u, 2).i32Const(16).op(Op.i32_shl).op(Op.i32_or).localSet(k);
  f.end();
  mixK();
  f.localGet(h).localGet(k).op(Op.i32_xor).localSet(h);
  f.end();
  // Finalisation.
  f.localGet(h).localGet(len).op(Op.i32_xor).localSet(h);
  f.localGet(h).localGet(h).i32Const(16).op(Op.i32_shr_u).op(Op.i32_xor).i32Const(0x85ebca6b | 0).op(Op.i32_mul).localSet(h);
  f.localGet(h).localGet(h).i32Const(13).op(Op.i32_shr_u).op(Op.i32_xor).i32Const(0xc2b2ae35 | 0).op(Op.i32_mul).localSet(h);
  f.localGet(h).localGet(h).i32Const(16).op(Op.i32_shr_u).op(Op.i32_xor).localSet(h);

  // The bucket's chain.
  f.localGet(MAP).load(Load.i32_load, HashLayout.BUCKETS);
  f.localGet(h).localGet(MAP).load(Load.i32_load, HashLayout.BUCKET_COUNT).i32Const(1).op(Op.i32_sub).op(Op.i32_and);
  f.i32Const(2).op(Op.i32_shl).op(Op.i32_add).load(Load.i32_load, 0).localSet(entry);
  f.localGet(MAP).load(Load.i32_load, MapHeader.MAX_ENTRIES).i32Const(1).op(Op.i32_add).localSet(left);
  f.block().loop();
  f.localGet(entry).op(Op.i32_eqz).brIf(1);
  // A chain longer than the map holds is being relinked under us: let the helper decide.
  f.localGet(left).op(Op.i32_eqz).if().i32Const(ASK_HELPER).return().end();
  f.localGet(left).i32Const(1).op(Op.i32_sub).localSet(left);
  f.localGet(entry).load(Load.i32_load, HashEntry.HASH).localGet(h).op(Op.i32_eq).if();
  // Compare the keys byte by byte.
  f.localGet(entry).localGet(MAP).load(Load.i32_load, HashLayout.KEY_OFFSET).op(Op.i32_add).localSet(keyAt);
  f.i32Const(0).localSet(j);
  f.block().loop();
  f.localGet(j).localGet(len).op(Op.i32_ge_u).brIf(1);
  f.localGet(keyAt).localGet(j).op(Op.i32_add).load(Load.i32_load8_u, 0);
  f.localGet(KEY).localGet(j).op(Op.i32_add).load(Load.i32_load8_u, 0);
  f.op(Op.i32_ne).brIf(1);
  f.localGet(j).i32Const(1).op(Op.i32_add).localSet(j);
  f.br(0);
  f.end().end();
  f.localGet(j).localGet(len).op(Op.i32_eq).if();
  emitHit(f, MAP, CPU, entry);
  f.end();
  f.end();
  f.localGet(entry).load(Load.i32_load, HashEntry.NEXT).localSet(entry);
  f.br(0);
  f.end().end();
  // A miss is only certain while no other thread can change the map (src/maps/hash.ts).
  f.i32Const(THREADS_FLAG_ADDRESS).load(Load.i32_load, 0).if().i32Const(ASK_HELPER).return().end();
  f.i32Const(0);
}

/**
 * Code for a hit on `entry` (inside hash_lookup): returns the value address after the per-CPU
 * check and the LRU mark, in the order of HashMap.lookupFromProgram.
 */
function emitHit(f: FunctionBuilder, MAP: number, CPU: number, entry: number): void {
  const type = f.local(ValType.I32);
  const perCpu = f.local(ValType.I32);
  const seen = f.local(ValType.I32);
  const locked = f.local(ValType.I32);
  const touch = f.local(ValType.I32);
  f.localGet(MAP).load(Load.i32_load, MapHeader.TYPE).localSet(type);
  f.localGet(type).i32Const(MapType.PERCPU_HASH).op(Op.i32_eq);
  f.localGet(type).i32Const(MapType.LRU_PERCPU_HASH).op(Op.i32_eq).op(Op.i32_or).localTee(perCpu).if();
  // A CPU the map has no copy for: null, and no mark (as the helper).
  f.localGet(CPU).localGet(MAP).load(Load.i32_load, HashLayout.COPIES).op(Op.i32_ge_u).if().i32Const(0).return().end();
  f.end();
  f.localGet(type).i32Const(MapType.LRU_HASH).op(Op.i32_eq);
  f.localGet(type).i32Const(MapType.LRU_PERCPU_HASH).op(Op.i32_eq).op(Op.i32_or).if();
  f.i32Const(0).localSet(locked);
  f.i32Const(THREADS_FLAG_ADDRESS).load(Load.i32_load, 0).if();
  // Shared: mark only if the lock is free right now and the entry is still in the map.
  f.i32Const(0).localSet(touch);
  f.localGet(MAP).load(Load.i32_load, HashLayout.LOCK).localTee(seen).i32Const(1).op(Op.i32_and).op(Op.i32_eqz).if();
  f.localGet(MAP).localGet(seen).localGet(seen).i32Const(1).op(Op.i32_add).atomic(AtomicRmw.i32_atomic_rmw_cmpxchg, HashLayout.LOCK);
  f.localGet(seen).op(Op.i32_eq).localTee(locked).if();
  f.localGet(entry).load(Load.i32_load, HashEntry.STATE).i32Const(IN_USE).op(Op.i32_eq).localSet(touch);
  f.end();
  f.end();
  f.else();
  f.i32Const(1).localSet(touch);
  f.end();
  f.localGet(touch).if();
  emitLruTouch(f, MAP, entry);
  f.end();
  f.localGet(locked).if();
  f.localGet(MAP).i32Const(1).atomic(AtomicRmw.i32_atomic_rmw_add, HashLayout.LOCK).op(Op.drop);
  f.end();
  f.end();
  // entry + value offset (+ cpu * value stride for per-CPU maps)
  f.localGet(entry).localGet(MAP).load(Load.i32_load, HashLayout.VALUE_OFFSET).op(Op.i32_add);
  f.localGet(CPU).localGet(MAP).load(Load.i32_load, HashLayout.VALUE_STRIDE).op(Op.i32_mul).localGet(perCpu).op(Op.i32_mul).op(Op.i32_add);
  f.return();
}

/** lruTouch of src/maps/lru.ts: unlink `entry` from its list and push it at the MRU end. */
function emitLruTouch(f: FunctionBuilder, MAP: number, entry: number): void {
  const list = f.local(ValType.I32);
  const prev = f.local(ValType.I32);
  const next = f.local(ValType.I32);
  f.localGet(MAP).load(Load.i32_load, HashLayout.LISTS);
  f.localGet(entry).load(Load.i32_load, HashEntry.LIST).i32Const(LruList.SIZE).op(Op.i32_mul).op(Op.i32_add).localSet(list);
  f.localGet(list).load(Load.i32_load, LruList.MRU).localGet(entry).op(Op.i32_ne).if();
  // Unlink (the entry is not the MRU, so it has a neighbour towards the MRU end).
  f.localGet(entry).load(Load.i32_load, LruLinks.PREV).localSet(prev);
  f.localGet(entry).load(Load.i32_load, LruLinks.NEXT).localSet(next);
  f.localGet(prev).if();
  f.localGet(prev).localGet(next).store(Store.i32_store, LruLinks.NEXT);
  f.else();
  f.localGet(list).localGet(next).store(Store.i32_store, LruList.MRU);
  f.end();
  f.localGet(next).if();
  f.localGet(next).localGet(prev).store(Store.i32_store, LruLinks.PREV);
  f.else();
  f.localGet(list).localGet(prev).store(Store.i32_store, LruList.LRU);
  f.end();
  // Push at the MRU end.
  f.localGet(list).load(Load.i32_load, LruList.MRU).localSet(next);
  f.localGet(entry).i32Const(0).store(Store.i32_store, LruLinks.PREV);
  f.localGet(entry).localGet(next).store(Store.i32_store, LruLinks.NEXT);
  f.localGet(next).if();
  f.localGet(next).localGet(entry).store(Store.i32_store, LruLinks.PREV);
  f.else();
  f.localGet(list).localGet(entry).store(Store.i32_store, LruList.LRU);
  f.end();
  f.localGet(list).localGet(entry).store(Store.i32_store, LruList.MRU);
  f.end();
}
