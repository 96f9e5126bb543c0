// What the compiled module and its JS host agree on: the names and signatures of the imports,
// the fault codes the module reports, and the layout of the per-program region of linear memory.
//
// Region (allocated once per JitProgram, like the interpreter's stack):
//   [0, 4096)                 MAX_CALL_DEPTH stack frames of 512 bytes; r10 at depth d is
//                             base + (d + 1) * 512, exactly as in the interpreter
//   4096 + depth * 48         helper-call slot of frame `depth`: r0 (result, or callx id), r1-r5

import { MAX_CALL_DEPTH, STACK_SIZE } from '../interpreter.js';

export const STACK_BYTES = MAX_CALL_DEPTH * STACK_SIZE;
export const SLOTS = STACK_BYTES;
export const SLOT_BYTES = 48;
export const REGION_BYTES = SLOTS + MAX_CALL_DEPTH * SLOT_BYTES;

/** Faults the module reports through the `fault` import (memory faults have their own import). */
export const enum FaultCode {
  CallDepth = 0,
  InstructionLimit = 1,
  BadJump = 2,
  NoPacket = 3,
}

/** Import names (module "env"). */
export const IMPORT = {
  helper: 'helper', // (pc: i32, depth: i32) -> ()            plain helper call; r0 in the slot
  dispatch: 'dispatch', // (pc: i32, depth: i32) -> i32       callx / bpf_tail_call: 1 = unwind
  fault: 'fault', // (code: i32, pc: i32) -> ()               throws BpfRuntimeError
  memoryFault: 'memfault', // (pc: i32, base: i64) -> ()      throws BpfRuntimeError
  memory: 'memory',
  base: 'base', // i32: address of the region
  fuel: 'fuel', // mutable i64: budget left (shared by the instances of one JitProgram)
  limit: 'limit', // i64: the budget at the start of a run
  cpu: 'cpu', // i32: the CPU the instance runs as (per-CPU maps, bpf_get_smp_processor_id)
} as const;

/** Export names. */
/** (fresh, r1…r5 as int32, fromSlot, packet address, packet length: i32) -> i32 (r0 low half; all of r0 in slot 0) */
export const ENTRY = 'entry';
export const callbackExport = (slot: number): string => `cb${slot}`; // (depth: i32) -> i64
