export * from './reader.js';
export * from './writer.js';
export * from './program-code.js';
export * from './relocations.js';
export * from './errors.js';
export * from './spec.js';
export * from './section-names.js';
export { openObject, type OpenOptions } from './object.js';
