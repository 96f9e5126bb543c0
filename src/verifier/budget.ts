// The one budget every pass of the verifier counts against: wall-clock time from the moment
// verify() is called, analysis steps (node visits), and memory growth. Long loops call `tick` (or
// `step` in the fixpoint), which looks at the clock only every few thousand calls, so a check
// costs a counter increment. Running out throws BudgetExceeded, which verify() turns into a
// 'verifier-limit' rejection: never an exception to the caller, never an acceptance.

export const DEFAULT_TIME_LIMIT_MS = 20_000;
export const DEFAULT_MAX_STEPS = 2_000_000;
/** Memory (heap and ArrayBuffers) the analysis may add to what the process used when verify() was called. */
export const DEFAULT_MAX_MEMORY_MB = 1024;

/** Calls of `tick` between two looks at the clock (a power of two). */
const TICKS_PER_CHECK = 4096;
/** Fixpoint steps between two looks at the clock: a step costs microseconds, sometimes much more. */
const STEPS_PER_CHECK = 16;
/** Time between two looks at memory use (reading it costs microseconds). */
const MEMORY_CHECK_MS = 50;

export interface BudgetLimits {
  readonly timeLimitMs?: number;
  readonly maxSteps?: number;
  readonly maxMemoryMb?: number;
}

/** The budget ran out: `message` names which one, in which pass, and where. */
export class BudgetExceeded extends Error {
  constructor(message: string, readonly steps: number) {
    super(message);
    this.name = 'BudgetExceeded';
  }
}

/**
 * Memory in use: the JavaScript heap plus memory outside it (the ArrayBuffers behind each state's
 * stack bytes); undefined where the runtime does not say (no `process`).
 */
function memoryUsed(): number | undefined {
  const p = (globalThis as { process?: { memoryUsage?: () => { heapUsed: number; external: number } } }).process;
  if (p?.memoryUsage === undefined) return undefined;
  const m = p.memoryUsage();
  return m.heapUsed + m.external;
}

export class Budget {
  readonly timeLimitMs: number;
  readonly maxSteps: number;
  readonly maxMemoryMb: number;
  /** Fixpoint steps (node visits) so far. */
  steps = 0;
  private readonly deadline: number;
  /**
   * The lowest memory use seen since verify() began: a collection of garbage the caller left
   * behind lowers it, so growth counts only what the analysis holds.
   */
  private memoryBase: number | undefined;
  private readonly memoryLimit: number;
  private nextMemoryCheck: number;
  private ticks = 0;

  constructor(limits: BudgetLimits = {}, private readonly now: () => number = () => performance.now()) {
    const start = now();
    this.timeLimitMs = limits.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
    this.maxSteps = limits.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxMemoryMb = limits.maxMemoryMb ?? DEFAULT_MAX_MEMORY_MB;
    this.deadline = start + this.timeLimitMs;
    this.memoryBase = memoryUsed();
    this.memoryLimit = this.maxMemoryMb * 1024 * 1024;
    this.nextMemoryCheck = start + MEMORY_CHECK_MS;
  }

  /** One iteration of a long loop in pass `pass`: cheap, looks at the clock now and then. */
  tick(pass: string, pc?: number): void {
    if ((++this.ticks & (TICKS_PER_CHECK - 1)) === 0) this.check(pass, pc);
  }

  /** One fixpoint step at `pc`: counts against maxSteps and looks at the clock every few steps. */
  step(pc: number): void {
    if (++this.steps > this.maxSteps) {
      throw new BudgetExceeded(`the analysis ran past its budget of ${this.maxSteps} states visited (at pc ${pc}); the program is too large or too branchy to verify`, this.steps - 1);
    }
    if (this.steps % STEPS_PER_CHECK === 0) this.check('the fixpoint', pc);
  }

  /** Looks at the clock (and now and then at memory use) now. */
  check(pass: string, pc?: number): void {
    const t = this.now();
    const where = `${pass} after ${this.steps} states visited${pc === undefined ? '' : ` (at pc ${pc})`}`;
    if (t > this.deadline) {
      throw new BudgetExceeded(`the analysis ran past its time budget of ${this.timeLimitMs} ms during ${where}`, this.steps);
    }
    if (t >= this.nextMemoryCheck) {
      this.nextMemoryCheck = t + MEMORY_CHECK_MS;
      const used = memoryUsed();
      if (used !== undefined && this.memoryBase !== undefined && used < this.memoryBase) this.memoryBase = used;
      if (used !== undefined && this.memoryBase !== undefined && used - this.memoryBase > this.memoryLimit) {
        throw new BudgetExceeded(`the analysis ran past its memory budget of ${this.maxMemoryMb} MB during ${where}`, this.steps);
      }
    }
  }
}
