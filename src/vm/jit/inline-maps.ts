// Map lookups compiled into the module, over the maps' layout in linear memory (src/maps), so the
// hot path of bpf_map_lookup_elem never crosses into JavaScript (DESIGN.md, "Where the time goes").
// The JavaScript implementation stays the reference: whenever the wasm walk cannot be sure (a miss
// while other threads may be changing the map, or a chain longer than the map can hold), it answers
// "ask the helper" and the call goes through the import as before.
import { HashEntry, HashLayout, MapHeader } from '../../maps/index.js';
import { THREADS_FLAG_ADDRESS } from '../memory.js';
import { Load, Op, ValType, type ModuleBuilder } from './wasm-builder.js';

/** What hash_lookup returns when the caller must take the helper call instead. */
export const ASK_HELPER = -1;

const C1 = 0xcc9e2d51 | 0;
const C2 = 0x1b873593 | 0;

/**
 * hash_lookup(map: i32, key: i32) -> i32: the value address of `key` in the HASH map at `map`, 0
 * when it is not there, or ASK_HELPER. Same hash (MurmurHash3 x86_32, the map's seed), same buckets
 * and chains as src/maps/hash.ts.
 */
export function emitHashLookup(m: ModuleBuilder): void {
  const f = m.function([ValType.I32, ValType.I32], [ValType.I32]);
  const MAP = 0;
  const KEY = 1;
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
  f.localGet(entry).localGet(MAP).load(Load.i32_load, HashLayout.VALUE_OFFSET).op(Op.i32_add).return();
  f.end();
  f.end();
  f.localGet(entry).load(Load.i32_load, HashEntry.NEXT).localSet(entry);
  f.br(0);
  f.end().end();
  // A miss is only certain while no other thread can change the map (src/maps/hash.ts).
  f.i32Const(THREADS_FLAG_ADDRESS).load(Load.i32_load, 0).if().i32Const(ASK_HELPER).return().end();
  f.i32Const(0);
}
