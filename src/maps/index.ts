// eBPF maps with Linux semantics, their data in the execution context's linear memory.
export * from './errors.js';
export * from './spec.js';
export * from './map.js';
export * from './registry.js';
export * from './array.js';
export * from './hash.js';
export * from './hash-function.js';
export * from './lru.js';
export * from './lpm.js';
export * from './queue-stack.js';
export * from './fd-array.js';
export * from './prog-array.js';
export * from './map-in-map.js';
export * from './ringbuf.js';
export * from './perf.js';
export * from './devmap.js';
