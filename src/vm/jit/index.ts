export * from './engine.js';
export * from './jit-program.js';
export { compileModule, JitUnsupported, type CompileStats } from './compiler.js';
