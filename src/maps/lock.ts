// The lock of a map: one u32 word in the map's block in linear memory, so every thread that has
// the memory (main thread, worker threads running programs, user code in workers) takes the same
// lock. The word is also a sequence counter, which makes it a seqlock:
//
//   even  free; the value counts completed critical sections x 2
//   odd   held
//
// Writers take it with a compare-exchange from an even value to the next odd one and release it
// with an add, so the word moves on by two per critical section. Lock-free readers (hash and
// LPM lookups) read the word before and after their walk: an odd or changed value means a writer
// ran meanwhile and the reader looks again under the lock. Critical sections are short (a chain
// relink, a few copies): a waiter spins, backs off, and only sleeps (Atomics.wait with a short
// timeout, so no notify is ever needed on release) when the holder seems descheduled.
//
// Cost: a compare-exchange and an add, each a call into V8's Atomics builtins (about 10 ns apiece
// on the machines we measured); validated lock-free reads pay two Atomics.load. Maps pay neither
// until their memory has been shared with another thread (LinearMemory.markShared, which
// shareMaps calls): until then no other thread can reach them.

/** Spins before a waiter starts sleeping between attempts. */
const SPINS = 2000;
/** Milliseconds a waiter sleeps between attempts once spinning did not help. */
const NAP_MS = 0.2;

let canWait: boolean | undefined;

function nap(i32: Int32Array, index: number, value: number): void {
  if (canWait === undefined) {
    // Browsers' main threads refuse Atomics.wait; there we keep spinning.
    try {
      Atomics.wait(i32, index, value, 0);
      canWait = true;
    } catch {
      canWait = false;
    }
  }
  if (canWait) Atomics.wait(i32, index, value, NAP_MS);
}

/** Takes the lock at word `index` of `i32` (an Int32Array over linear memory). */
export function lockWord(i32: Int32Array, index: number): void {
  // A plain read is enough to guess the value: the compare-exchange checks it atomically.
  const seen = i32[index];
  if ((seen & 1) === 0 && Atomics.compareExchange(i32, index, seen, seen + 1) === seen) return;
  lockContended(i32, index);
}

function lockContended(i32: Int32Array, index: number): void {
  for (let attempt = 0; ; attempt++) {
    const seen = Atomics.load(i32, index);
    if ((seen & 1) === 0) {
      if (Atomics.compareExchange(i32, index, seen, seen + 1) === seen) return;
    } else if (attempt > SPINS) {
      nap(i32, index, seen);
    }
  }
}

/** Takes the lock only if it is free right now; returns whether it did. */
export function tryLockWord(i32: Int32Array, index: number): boolean {
  const seen = i32[index];
  return (seen & 1) === 0 && Atomics.compareExchange(i32, index, seen, seen + 1) === seen;
}

/** Releases a lock taken with lockWord or tryLockWord. */
export function unlockWord(i32: Int32Array, index: number): void {
  Atomics.add(i32, index, 1);
}

/** The lock word's value for a lock-free reader: odd when a writer holds it. */
export function sequence(i32: Int32Array, index: number): number {
  return Atomics.load(i32, index);
}
