export * from './context.js';
export * from './program.js';
export * from './load.js';
export * from './typed-map.js';
export * from './verify.js';
