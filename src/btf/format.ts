// C declarations from BTF types. A declaration is built inside out, as C's declarator syntax
// demands: a pointer prefixes `*` to the declarator, an array or function suffixes `[n]` or
// `(params)` and needs parentheses around a pointer declarator (`int (*rows)[3]`).
import type { Btf } from './btf.js';
import { BtfError, BtfKind, describe, MAX_DEPTH, type BtfMember, type BtfType } from './types.js';

export interface FormatOptions {
  /** Print the members of a struct or union, or the enumerators of an enum (and the contents of a DATASEC). */
  expand?: boolean;
}

/** Anonymous nested types and function pointer parameters multiply; past this the output is refused. */
const MAX_OUTPUT = 1 << 20;
/**
 * Characters of member and parameter text produced in one call, counted as they are built, so
 * that a wide and deep hostile type fails fast instead of first building every piece.
 */
const MAX_WORK = 4 * MAX_OUTPUT;

/** Which struct, union and enum bodies to print: `all` for the type asked about, `anon` for nameless nested ones. */
type Bodies = 'all' | 'anon' | 'none';

const LINKAGE = ['static ', '', 'extern '];

function join(base: string, declarator: string): string {
  if (declarator === '') return base;
  return declarator.startsWith('[') ? base + declarator : `${base} ${declarator}`;
}

function checked(s: string): string {
  if (s.length > MAX_OUTPUT) throw new BtfError(`format: the declaration is too large to print (limit ${MAX_OUTPUT} characters)`);
  return s;
}

class Formatter {
  private work = 0;

  constructor(private readonly btf: Btf) {}

  private charge(s: string): string {
    this.work += s.length;
    if (this.work > MAX_WORK) throw new BtfError(`format: the declaration is too large to print (limit ${MAX_OUTPUT} characters)`);
    return s;
  }

  /** `id` declared as `declarator` (a name with `*`, `[n]` and `(...)` around it, or empty). */
  declare(id: number, declarator: string, bodies: Bodies, depth: number): string {
    const t = this.btf.type(id);
    if (depth > MAX_DEPTH) throw new BtfError(`format: ${describe(t)} is nested more than ${MAX_DEPTH} levels deep`);
    const inner = (next: number, d: string, b: Bodies): string => this.declare(next, d, b, depth + 1);
    switch (t.kind) {
      case BtfKind.VOID:
        return join('void', declarator);
      case BtfKind.INT:
      case BtfKind.FLOAT:
      case BtfKind.TYPEDEF:
        return join(t.name === '' ? `<unnamed ${describe(t)}>` : t.name, declarator);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FWD:
        return join(this.tagged(t, bodies, depth), declarator);
      case BtfKind.PTR:
        return inner(t.type ?? 0, `*${declarator}`, 'none');
      case BtfKind.CONST:
      case BtfKind.VOLATILE:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG: {
        const q = this.qualifier(t);
        // A qualified pointer is written after the `*` (`char *const p`); anything else before the type.
        if (this.qualifiesPointer(t)) return inner(t.type ?? 0, declarator === '' ? q : `${q} ${declarator}`, bodies);
        return `${q} ${inner(t.type ?? 0, declarator, bodies)}`;
      }
      case BtfKind.ARRAY: {
        const d = declarator.startsWith('*') ? `(${declarator})` : declarator;
        return inner(t.array?.elemType ?? 0, `${d}[${t.array?.nelems ?? 0}]`, bodies);
      }
      case BtfKind.FUNC_PROTO: {
        const d = declarator.startsWith('*') ? `(${declarator})` : declarator;
        return inner(t.type ?? 0, `${d}(${this.params(t, depth)})`, 'none');
      }
      case BtfKind.FUNC:
        return LINKAGE[t.linkage ?? 1] + inner(t.type ?? 0, join(t.name, declarator), 'none');
      case BtfKind.VAR:
        return LINKAGE[t.linkage ?? 1] + inner(t.type ?? 0, join(t.name, declarator), bodies === 'all' ? 'anon' : bodies);
      case BtfKind.DATASEC: {
        const head = `SEC("${t.name}")`;
        if (bodies !== 'all') return head;
        const vars = (t.vars ?? []).map((v) => this.charge(`${inner(v.type, '', 'anon')};`));
        return checked(vars.length === 0 ? `${head} {}` : `${head} { ${vars.join(' ')} }`);
      }
      case BtfKind.DECL_TAG:
        return `${this.tagTarget(t, depth)} __attribute__((btf_decl_tag("${t.name}")))`;
      default:
        throw new BtfError(`format: ${describe(t)} has an unknown kind`);
    }
  }

  /** `struct name`, `enum name`, or with a body `struct name { ... }`. */
  private tagged(t: BtfType, bodies: Bodies, depth: number): string {
    const keyword = t.kind === BtfKind.UNION || (t.kind === BtfKind.FWD && t.fwdUnion === true) ? 'union' : t.kind === BtfKind.STRUCT || t.kind === BtfKind.FWD ? 'struct' : 'enum';
    const head = t.name === '' ? keyword : `${keyword} ${t.name}`;
    const withBody = t.kind !== BtfKind.FWD && (bodies === 'all' || (bodies === 'anon' && t.name === ''));
    if (!withBody) return t.name === '' ? `${keyword} {...}` : head;
    const items =
      t.enumValues !== undefined
        ? t.enumValues.map((e) => this.charge(`${e.name} = ${e.value}`)).join(', ')
        : (t.members ?? []).map((m) => `${this.member(m, depth)};`).join(' ');
    return checked(items === '' ? `${head} {}` : `${head} { ${items} }`);
  }

  private member(m: BtfMember, depth: number): string {
    const decl = this.declare(m.type, m.name, 'anon', depth + 1);
    return this.charge(m.bitfieldSize > 0 ? `${decl}: ${m.bitfieldSize}` : decl);
  }

  private params(t: BtfType, depth: number): string {
    const params = t.params ?? [];
    if (params.length === 0) return 'void';
    const last = params.length - 1;
    return checked(
      params
        .map((p, i) => (i === last && p.type === 0 && p.name === '' ? '...' : this.charge(this.declare(p.type, p.name, 'none', depth + 1))))
        .join(', '),
    );
  }

  private qualifier(t: BtfType): string {
    switch (t.kind) {
      case BtfKind.CONST:
        return 'const';
      case BtfKind.VOLATILE:
        return 'volatile';
      case BtfKind.RESTRICT:
        return 'restrict';
      default:
        return `__attribute__((btf_type_tag("${t.name}")))`;
    }
  }

  /** Whether the chain of qualifiers starting at `t` ends at a pointer. */
  private qualifiesPointer(t: BtfType): boolean {
    let next = this.btf.type(t.type ?? 0);
    for (let hops = 0; hops < MAX_DEPTH; hops++) {
      if (next.kind === BtfKind.PTR) return true;
      if (next.kind !== BtfKind.CONST && next.kind !== BtfKind.VOLATILE && next.kind !== BtfKind.RESTRICT && next.kind !== BtfKind.TYPE_TAG) return false;
      next = this.btf.type(next.type ?? 0);
    }
    throw new BtfError(`format: ${describe(t)} has more than ${MAX_DEPTH} qualifiers in a row`);
  }

  /** What a decl tag is attached to: `struct s`, `struct s.member`, `func`, `func.param`. */
  private tagTarget(t: BtfType, depth: number): string {
    const target = this.btf.type(t.type ?? 0);
    const base =
      target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION ? this.tagged(target, 'none', depth) : target.name === '' ? describe(target) : target.name;
    const idx = t.componentIdx ?? -1;
    if (idx < 0) return base;
    const component = target.kind === BtfKind.FUNC ? this.btf.type(target.type ?? 0).params?.[idx] : target.members?.[idx];
    return `${base}.${component?.name || idx}`;
  }
}

export function formatType(btf: Btf, id: number, options: FormatOptions): string {
  const t = btf.type(id);
  const formatter = new Formatter(btf);
  if (options.expand === true && t.kind === BtfKind.TYPEDEF) {
    return checked(`typedef ${formatter.declare(t.type ?? 0, t.name, 'anon', 1)}`);
  }
  return checked(formatter.declare(id, '', options.expand === true ? 'all' : 'none', 0));
}
