export * from './errors.js';
export * from './helpers.js';
export * from './memory.js';
export * from './program.js';
export * from './interpreter.js';
export * from './jit/index.js';
