// Multi-core execution: a program running in several worker threads on the same maps.
export * from './pool.js';
export * from './shared-maps.js';
export { WorkerRuntime } from './worker-runtime.js';
export type { ProgramImage, WorkerInit } from './protocol.js';
