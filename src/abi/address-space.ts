// Where objects may lie in an execution context's linear memory (DESIGN.md, "Memory model"): the
// one statement of it that the engines' memory (src/vm/memory.ts) keeps and the verifier relies
// on. Pointers are 32-bit offsets into the memory.

/** Bytes at the start of memory that belong to no object: accesses there are null dereferences. */
export const NULL_GUARD = 4096;

/**
 * Every object ends below this address: an address up to TOP_MARGIN bytes past the end of any
 * object is still a 32-bit address, so a 32-bit move of such a pointer keeps it.
 */
export const TOP_MARGIN = 2 ** 16;
export const ADDRESS_LIMIT = 2 ** 32 - TOP_MARGIN;
