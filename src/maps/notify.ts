// Wakes consumers waiting for records (ring buffer, perf buffers). Async iterators wait here when
// nothing is ready; producers wake every waiter, which then look again.
//
// Producers may run in other threads (worker threads running programs on the same memory), so
// besides the in-thread waiters a Waiters object can own a notify word in linear memory: a
// producer in any thread bumps it and calls Atomics.notify; a consumer waiting in any thread
// waits on it with Atomics.waitAsync (where the host has it). A consumer reads the word before
// it looks for records, so a bump between its look and its wait is never missed. The word after
// it counts sleeping consumers, so producers only pay for Atomics.notify when someone sleeps.

import type { LinearMemory } from '../vm/memory.js';

/** A consumer re-checks at least this often even without a wake-up (hosts without waitAsync). */
const POLL_MS = 50;

type WaitAsync = (i32: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };

const waitAsync: WaitAsync | undefined = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class Waiters {
  private pending: (() => void)[] = [];

  /** `shared`: the address of two u32 words in `memory` (4-byte aligned): notify count, sleepers. */
  constructor(private readonly shared?: { readonly memory: LinearMemory; readonly address: number }) {}

  /** The notify word's value now; pass it to wait() to sleep only if nothing was produced since. */
  ticket(): number {
    const shared = this.shared;
    return shared === undefined ? 0 : Atomics.load(shared.memory.int32, shared.address >> 2);
  }

  /** Resolves at the next wake() in any thread, or when `signal` aborts. */
  wait(signal?: AbortSignal, ticket = this.ticket()): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let sleeping = false;
      const done = () => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        if (sleeping && this.shared !== undefined) Atomics.sub(this.shared.memory.int32, (this.shared.address >> 2) + 1, 1);
        const at = this.pending.indexOf(done);
        if (at >= 0) this.pending.splice(at, 1);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.pending.push(done);
      signal?.addEventListener('abort', done, { once: true });
      const shared = this.shared;
      if (shared === undefined) return;
      const index = shared.address >> 2;
      if (waitAsync !== undefined) {
        sleeping = true;
        Atomics.add(shared.memory.int32, index + 1, 1);
        const result = waitAsync(shared.memory.int32, index, ticket, POLL_MS);
        if (typeof result.value === 'string') done();
        else void result.value.then(done);
      } else {
        timer = setTimeout(done, POLL_MS);
      }
    });
  }

  wake(): void {
    const shared = this.shared;
    if (shared !== undefined) {
      const i32 = shared.memory.int32;
      Atomics.add(i32, shared.address >> 2, 1);
      if (Atomics.load(i32, (shared.address >> 2) + 1) > 0) Atomics.notify(i32, shared.address >> 2);
    }
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    for (const done of pending) done();
  }
}

/**
 * An async iterator over records: `take` returns the next ready record or undefined; when none is
 * ready it waits on `waiters`. Ends when `signal` aborts or the consumer breaks out of the loop.
 */
export function recordIterator<T>(take: () => T | undefined, waiters: Waiters, signal?: AbortSignal): AsyncIterableIterator<T> {
  let finished = false;
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      while (!finished && !signal?.aborted) {
        const ticket = waiters.ticket();
        const record = take();
        if (record !== undefined) return { value: record, done: false };
        await waiters.wait(signal, ticket);
      }
      finished = true;
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<T>> {
      finished = true;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
