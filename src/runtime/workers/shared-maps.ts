// Sharing an execution context's maps with other threads. The maps' whole state is in the
// context's shared linear memory; another thread needs that memory, an allocation arena of its
// own in it (for its interpreter stacks, test-run buffers and user-space scratch: each thread's
// bump allocator only touches its own arena, so allocation needs no lock), and the map
// descriptors to rebuild the map objects over the same blocks (MapRegistry.attach).
//
//   main thread:  const init = shareMaps(context.maps);      // post `init` to a worker
//   worker:       const { memory, maps } = attachMaps(init);  // the same maps, same ids
//
// Arenas are carved out of the owning thread's allocator (memory.alloc) and stay allocated until
// releaseShare() gives the last one back.

import { MapRegistry, type MapDescriptor } from '../../maps/index.js';
import { LinearMemory, PAGE_SIZE } from '../../vm/memory.js';

/** Everything a thread needs to attach to the maps; structured-clonable (postMessage). */
export interface SharedMapsInit {
  /** The context's WebAssembly.Memory (shared: posting it shares it, it is not copied). */
  readonly memory: WebAssembly.Memory;
  readonly maximumPages: number;
  /** The receiving thread's allocation range. */
  readonly arena: { readonly start: number; readonly end: number };
  readonly cpus: number;
  readonly perfBufferSize: number;
  readonly maps: readonly MapDescriptor[];
}

/** Default arena: stacks (4 KiB), a test run's packet and context, per-map scratch. */
export const DEFAULT_ARENA_BYTES = 1 << 20;

/** Carves an arena out of `registry`'s memory and describes its maps, for one other thread. */
export function shareMaps(registry: MapRegistry, arenaBytes = DEFAULT_ARENA_BYTES): SharedMapsInit {
  const memory = registry.memory;
  if (!memory.shared) throw new TypeError('the maps live in an unshared linear memory: create the context with memory { shared: true } (the default) to use them from other threads');
  if (!(Number.isInteger(arenaBytes) && arenaBytes >= 8192)) throw new RangeError(`invalid arena size ${arenaBytes}`);
  const start = memory.alloc(arenaBytes, 16);
  // From now on the maps take their locks (before the other thread can exist).
  memory.markShared();
  return {
    memory: memory.memory,
    maximumPages: memory.maximumBytes / PAGE_SIZE,
    arena: { start, end: start + arenaBytes },
    cpus: registry.cpus,
    perfBufferSize: registry.perfBufferSize,
    maps: registry.descriptors(),
  };
}

/** Gives arenas back when they are the last allocations (otherwise they stay, harmlessly). */
export function releaseShares(memory: LinearMemory, shares: readonly SharedMapsInit[]): void {
  if (shares.length === 0) return;
  const start = Math.min(...shares.map((s) => s.arena.start));
  const end = Math.max(...shares.map((s) => s.arena.end));
  if (memory.mark() === end) memory.release(start);
}

/** In the receiving thread: its view of the memory (allocating in its arena) and the same maps. */
export function attachMaps(init: SharedMapsInit, options: { programExists?: (id: number) => boolean } = {}): { memory: LinearMemory; maps: MapRegistry } {
  const memory = new LinearMemory({ memory: init.memory, maximumPages: init.maximumPages, arena: init.arena });
  const maps = MapRegistry.attach(memory, init.maps, { cpus: init.cpus, perfBufferSize: init.perfBufferSize, programExists: options.programExists });
  return { memory, maps };
}
