// The public API of ebpf-ts.
export * from './isa/index.js';
export * from './vm/index.js';
export * from './elf/index.js';
export { runSuite, runTest, type SuiteOptions, type SuiteResult, type Outcome } from './conformance/runner.js';
export { parseDataFile, type ConformanceTest } from './conformance/data-file.js';
export { runPlugin } from './conformance/plugin.js';
export { Btf, BtfError, BtfKind, parseBtfExt, type BtfType, type BtfExt, type LineInfo, type FuncInfo, type CoreRelocation } from './btf/index.js';
export * from './abi/index.js';
export * from './maps/index.js';
export * from './helpers/index.js';
export * from './program-types/index.js';
export * from './runtime/index.js';
export * from './net/frames.js';
export * from './service/index.js';
