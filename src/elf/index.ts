export * from './reader.js';
export * from './writer.js';
export * from './program-code.js';
