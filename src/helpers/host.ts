// What helper implementations may touch: the execution context's memory and maps, a trace sink,
// a clock and a random source. One host per execution context; helpers are closures over it.
import type { LinearMemory } from '../vm/memory.js';
import type { BpfMap, MapRegistry } from '../maps/index.js';

export interface TraceRecord {
  /** Nanoseconds on the host clock. */
  readonly time: bigint;
  readonly cpu: number;
  readonly text: string;
}

export interface HelperHost {
  readonly memory: LinearMemory;
  readonly maps: MapRegistry;
  /** bpf_trace_printk / bpf_printk output. */
  trace(record: TraceRecord): void;
  /** Monotonic nanoseconds (bpf_ktime_get_ns). */
  now(): bigint;
  /** A uniformly random u32 (bpf_get_prandom_u32). */
  random(): number;
  /** (tgid << 32) | pid of the "current task": this process. */
  readonly pidTgid: bigint;
  /** A value-sized buffer reserved for `map` when it was loaded (lookup-and-delete copies there). */
  scratchFor(map: BpfMap): number | undefined;
  /**
   * The socket the event being run is about, set by a socket hook before each run: its cookie
   * (bpf_get_socket_cookie, and ebpf-for-windows' bpf_sock_ops_get_flow_id) and the id of its
   * owning process (pid << 32 | pid, for the sock_addr helper that asks). 0 outside socket hooks.
   */
  readonly socket: SocketOfEvent;
  /**
   * Where bpf_redirect / bpf_redirect_map sent the frame of the run in progress: an ifindex, 0
   * for none. Whoever runs an XDP program clears it before the run and reads it after an
   * XDP_REDIRECT.
   */
  readonly redirect: { ifindex: number };
}

export interface SocketOfEvent {
  cookie: bigint;
  pidTgid: bigint;
}

/** Monotonic nanoseconds, wherever this runs (Node or a browser). */
export function monotonicNanoseconds(): bigint {
  if (typeof process !== 'undefined' && typeof process.hrtime?.bigint === 'function') return process.hrtime.bigint();
  return BigInt(Math.round(performance.now() * 1e6));
}

/** xorshift128+-free, tiny and seedable: tests get repeatable "random" numbers. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}
