export * from './opcodes.js';
export * from './table.js';
export * from './instruction.js';
export * from './errors.js';
export * from './decode.js';
export * from './encode.js';
export * from './disassemble.js';
export * from './assemble.js';
