// ebpf-ts/extension: the public, stable surface through which a third party adds program types,
// helpers and map types (docs/extensions.md). ebpf-ts' own are registered through the same
// registerExtension call; nothing here is private to them.
//
//   import { registerExtension, commonHelperRules, contextOf } from 'ebpf-ts/extension';
//   registerExtension({ name: 'my-hooks', programTypes: [...], helpers: [...], mapTypes: [...] });
//
// A registration covers every object opened and every execution context created afterwards, in
// this process (worker threads and the service's processes load their own: see the doc).
export {
  registerExtension, hasExtension, ExtensionError, EXTENSION_MAP_TYPE_BASE,
  type Extension, type ProgramTypeDefinition, type HelperDefinition, type MapTypeDefinition, type MapConstructor, type SectionRule,
} from './registry.js';

// Describing a program type: its context, the verifier's rules, how a test run lays it out.
export { contextOf } from '../program-types/base-rules.js';
export { commonHelperRules } from '../program-types/rules.js';
export { ProgramTypeError, type ProgramType, type TestRunInput, type PreparedRun } from '../program-types/types.js';
export type { ProgramTypeRules, HelperRule, ContextField, ContextFieldKind, ArgKind, RetKind } from '../verifier/program-type.js';
export type { ContextLayout, StructLayout } from '../abi/types.js';
export type { Abi } from '../elf/spec.js';

// Writing helpers: what they get (the host, their arguments) and how they touch program memory.
export type { HelperHost } from '../helpers/host.js';
export { HelperFault } from '../helpers/implementation.js';
export type { HelperArguments, HelperFunction, HelperPrototype } from '../vm/helpers.js';
export { checkRange, readBytes, readCString, writeBytes } from '../helpers/memory-access.js';
export type { LinearMemory } from '../vm/memory.js';

// Map types: the base class and the built-in layouts an extension may build on.
export { BpfMap, ArrayMap, HashMap, MapError, type MapSpec } from '../maps/index.js';
export type { MapRegistry } from '../maps/registry.js';
