// Wakes consumers waiting for records (ring buffer, perf buffers). Async iterators wait here when
// nothing is ready; producers wake every waiter, which then look again.

export class Waiters {
  private pending: (() => void)[] = [];

  /** Resolves at the next wake(), or when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.pending.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
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
        const record = take();
        if (record !== undefined) return { value: record, done: false };
        await waiters.wait(signal);
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
