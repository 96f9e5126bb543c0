// How the one-shot commands (`ebpf run`, `ebpf bench`) load an object: all of it, as libbpf's
// bpf_object__load does, so prog-array slots the object fills with its other programs, and the tail
// calls through them, work; the program asked for is then run. `--only` narrows the load to that
// program (its prog-array slots naming others stay empty, and the others need not verify).
import type { ObjectSpec, ProgramSpec } from '../elf/index.js';
import { LoadError, loadObject, VerificationError, type EngineName, type ExecutionContext, type LoadedObject } from '../runtime/index.js';

export interface WholeObjectOptions {
  /** Load only the program asked for. */
  readonly only?: boolean;
  /** Program type of the program asked for (`--type`); the others keep their sections'. */
  readonly type?: string;
  readonly engine?: EngineName;
  readonly allowPointerLeaks?: boolean;
}

/**
 * Loads `spec` into `context` for a run of `program`. The program asked for, refused, keeps the
 * verifier's full report; another program of the object refused is one line naming it and the way
 * out (--only), as are the other load errors that name another program.
 */
export function loadForRun(spec: ObjectSpec, program: ProgramSpec, context: ExecutionContext, options: WholeObjectOptions): LoadedObject {
  const only = options.only === true;
  try {
    return loadObject(spec, context, {
      programs: only ? [program.name] : undefined,
      unselectedSlots: only ? 'leave-empty' : 'error',
      programTypes: options.type === undefined ? undefined : { [program.name]: options.type },
      engine: options.engine,
      allowPointerLeaks: options.allowPointerLeaks === true,
    });
  } catch (e) {
    const hint = `the whole object is loaded, as libbpf does; --only loads ${program.name} alone`;
    if (e instanceof VerificationError && e.program !== program.name) {
      const other = spec.programs.find((p) => p.name === e.program);
      const first = e.report.ok ? undefined : e.report.errors[0];
      const why = first === undefined ? 'no reason given' : `${first.code} at pc ${first.pc}: ${first.message.split('\n')[0]}`;
      throw new LoadError(`program ${e.program}${other === undefined ? '' : ` (section ${other.section})`} of ${spec.path ?? 'the object'} was refused by the verifier (${why}); ${hint}`);
    }
    if (e instanceof LoadError && !(e instanceof VerificationError) && !only) {
      const named = /^program (\S+)/.exec(e.message)?.[1];
      if (named !== undefined && named !== program.name) throw new LoadError(`${e.message.split('\n')[0]}; ${hint}`);
    }
    throw e;
  }
}
