// The public API of ebpf-ts.
export * from './isa/index.js';
export * from './vm/index.js';
export * from './elf/index.js';
export { runSuite, runTest, type SuiteOptions, type SuiteResult, type Outcome } from './conformance/runner.js';
export { parseDataFile, type ConformanceTest } from './conformance/data-file.js';
export { runPlugin } from './conformance/plugin.js';
