// The verifier process: forked by verifier-process.ts for exactly one request, then gone. It opens
// the object as well as verifying it: objects come from users, and the ELF and BTF parsers meet
// hostile bytes first, so a parser bug that crashes, loops or eats memory takes down this process,
// under its limits, and never the service.
//
// Replies with one IPC message (a verdict, or { error } for a failure the loader names) and exits
// 0. Anything else that goes wrong is an exit with a non-zero code and the reason on stderr; the
// parent turns that into a refusal.
import { ElfError, ObjectError, openObject } from '../elf/index.js';
import { loadExtensionsFromEnvironment } from '../extension/environment.js';
import { ExtensionError } from '../extension/registry.js';
import { builtinProgramTypes, ProgramTypeError } from '../program-types/index.js';
import { LoadError } from '../runtime/errors.js';
import { LOAD_VERIFIER_OPTIONS, rulesFor, verifyProgram } from '../runtime/verify.js';
import { formatReport, type VerificationReport } from '../verifier/index.js';
// The CLI's program selection (function or section name, with "did you mean"), so both agree.
import { selectProgram } from '../cli/object-file.js';
import { UsageError } from '../cli/errors.js';
import type { VerifyRequest } from './verifier-process.js';

export interface ChildVerdict {
  readonly ok: boolean;
  readonly program: string;
  readonly section: string;
  readonly type: string;
  readonly report: VerificationReport;
  readonly text: string;
  /** Time in this process to open the object, select the program and verify it. */
  readonly ms: number;
}

export type ChildReply = ChildVerdict | { readonly error: string };

/** Failures the loader describes itself: the object or the request is at fault, not this process. */
const NAMED_ERRORS = [ElfError, ObjectError, LoadError, ProgramTypeError, UsageError, ExtensionError];

/** Exit codes of failures with no verdict (the parent reports them as a crash). */
const EXIT_NO_IPC = 2;
const EXIT_UNEXPECTED = 70;
const EXIT_SEND_FAILED = 71;

function checkRequest(r: unknown): VerifyRequest {
  const req = r as Partial<VerifyRequest> | null;
  const optional = (v: unknown): boolean => v === undefined || typeof v === 'string';
  if (typeof req !== 'object' || req === null || !(req.object instanceof Uint8Array) || !optional(req.program) || !optional(req.path) || !optional(req.programType)) {
    throw new LoadError('malformed verify request: it needs the object bytes');
  }
  if (req.abi !== undefined && req.abi !== 'linux' && req.abi !== 'efw') throw new LoadError(`malformed verify request: unknown ABI '${String(req.abi)}' (linux or efw)`);
  return req as VerifyRequest;
}

function handle(request: VerifyRequest): ChildVerdict {
  const started = performance.now();
  const spec = openObject(request.object, { path: request.path, abi: request.abi });
  const program = selectProgram(spec, request.program);
  const type = builtinProgramTypes().get(request.programType ?? program.type);
  const rules = rulesFor(program, spec, type);
  if (rules === undefined) throw new LoadError(`program ${program.name}: the verifier has no rules for program type ${type.name} (${spec.abi} ABI), so it cannot be loaded`);
  const report = verifyProgram(spec, program, rules, { ...LOAD_VERIFIER_OPTIONS, allowPointerLeaks: request.allowPointerLeaks === true });
  // Invariants are only recorded with `verbose`; dropped anyway, the service has no use for them.
  const { invariants: _invariants, ...plain } = report;
  return { ok: report.ok, program: program.name, section: program.section, type: type.name, report: plain as VerificationReport, text: formatReport(report), ms: performance.now() - started };
}

function fail(code: number, text: string): never {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  process.exit(code);
}

const send = process.send?.bind(process);
if (send === undefined) fail(EXIT_NO_IPC, 'verifier-child: no IPC channel; this module is forked by verifier-process.js');

// Extensions (EBPF_TS_EXTENSIONS) load while the request is on its way; it waits for them.
const extensions = loadExtensionsFromEnvironment().then(() => undefined, (e: unknown) => e);

process.once('message', async (message: unknown) => {
  const failed = await extensions;
  let reply: ChildReply;
  try {
    if (failed !== undefined) throw failed;
    reply = handle(checkRequest(message));
  } catch (e) {
    if (!NAMED_ERRORS.some((t) => e instanceof t)) {
      // The stack for whoever reads the log; the last line is what the parent quotes.
      const error = e instanceof Error ? e : new Error(String(e));
      fail(EXIT_UNEXPECTED, `${error.stack ?? error.message}\nverifier-child: unexpected ${error.name}: ${error.message.split('\n')[0]}`);
    }
    reply = { error: (e as Error).message };
  }
  send(reply, (err: Error | null) => {
    if (err) fail(EXIT_SEND_FAILED, `verifier-child: cannot send the verdict: ${err.message}`);
    // Closing the channel leaves nothing for the event loop: the process exits 0.
    process.disconnect();
  });
});

// The parent went away before asking (or after we answered): nothing is left to do.
process.once('disconnect', () => process.exit(0));
