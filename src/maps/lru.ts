// Free-entry queues of hash maps, and recency lists of LRU hash maps kept in linear memory as
// doubly linked lists of entries.
// A list record (16 bytes, see hash.ts) holds the list's free-entry queue and both ends of its
// recency order; each LRU entry carries its two links. Eviction takes the least recently used
// entry of the list the new element is allocated from: the one shared list, or with
// NO_COMMON_LRU the current CPU's.

export const LruList = {
  /** Head of the free-entry queue (entries linked through their `next` field): taken next. */
  FREE: 0,
  /** Most recently used entry, 0 when the list is empty. */
  MRU: 4,
  /** Least recently used entry: the next victim. */
  LRU: 8,
  /** Tail of the free-entry queue: freed entries are appended here. */
  FREE_TAIL: 12,
  SIZE: 16,
} as const;

/** Free entries link through the entry's first word (the chain link while in use). */
const FREE_NEXT = 0;

/** Takes the entry at the head of the list's free queue; 0 when it is empty. */
export function freeQueueTake(view: DataView, list: number): number {
  const entry = view.getUint32(list + LruList.FREE, true);
  if (entry === 0) return 0;
  const next = view.getUint32(entry + FREE_NEXT, true);
  view.setUint32(list + LruList.FREE, next, true);
  if (next === 0) view.setUint32(list + LruList.FREE_TAIL, 0, true);
  return entry;
}

/** Appends a freed entry to the list's free queue: it is handed out after every other free one. */
export function freeQueueAppend(view: DataView, list: number, entry: number): void {
  view.setUint32(entry + FREE_NEXT, 0, true);
  const tail = view.getUint32(list + LruList.FREE_TAIL, true);
  if (tail === 0) view.setUint32(list + LruList.FREE, entry, true);
  else view.setUint32(tail + FREE_NEXT, entry, true);
  view.setUint32(list + LruList.FREE_TAIL, entry, true);
}

export const LruLinks = {
  /** Neighbour towards the MRU end. */
  PREV: 16,
  /** Neighbour towards the LRU end. */
  NEXT: 20,
} as const;

export function lruPushFront(view: DataView, list: number, entry: number): void {
  const first = view.getUint32(list + LruList.MRU, true);
  view.setUint32(entry + LruLinks.PREV, 0, true);
  view.setUint32(entry + LruLinks.NEXT, first, true);
  if (first !== 0) view.setUint32(first + LruLinks.PREV, entry, true);
  else view.setUint32(list + LruList.LRU, entry, true);
  view.setUint32(list + LruList.MRU, entry, true);
}

export function lruUnlink(view: DataView, list: number, entry: number): void {
  const prev = view.getUint32(entry + LruLinks.PREV, true);
  const next = view.getUint32(entry + LruLinks.NEXT, true);
  if (prev !== 0) view.setUint32(prev + LruLinks.NEXT, next, true);
  else view.setUint32(list + LruList.MRU, next, true);
  if (next !== 0) view.setUint32(next + LruLinks.PREV, prev, true);
  else view.setUint32(list + LruList.LRU, prev, true);
  view.setUint32(entry + LruLinks.PREV, 0, true);
  view.setUint32(entry + LruLinks.NEXT, 0, true);
}

/** Marks `entry` as just used. */
export function lruTouch(view: DataView, list: number, entry: number): void {
  if (view.getUint32(list + LruList.MRU, true) === entry) return;
  lruUnlink(view, list, entry);
  lruPushFront(view, list, entry);
}

/** The entry eviction would take, 0 when the list holds none. */
export function lruOldest(view: DataView, list: number): number {
  return view.getUint32(list + LruList.LRU, true);
}
