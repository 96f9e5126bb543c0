// Whole-graph checks run once after parsing: every referenced type id exists, references have the
// kind the format requires, and no type contains itself by value. After this, the accessors
// can follow references without range checks, and only depth limits stand between them and
// pathological (but acyclic) chains.
import { BtfError, BtfKind, describe, kindName, type BtfType } from './types.js';

interface Reference {
  id: number;
  what: string;
  /** False for pointer targets: a pointer may point back at its container. */
  byValue: boolean;
}

function references(t: BtfType): Reference[] {
  switch (t.kind) {
    case BtfKind.PTR:
      return [{ id: t.type ?? 0, what: 'pointer target', byValue: false }];
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
    case BtfKind.FUNC:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return [{ id: t.type ?? 0, what: 'type', byValue: true }];
    case BtfKind.ARRAY:
      return [
        { id: t.array?.elemType ?? 0, what: 'element type', byValue: true },
        { id: t.array?.indexType ?? 0, what: 'index type', byValue: true },
      ];
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      return (t.members ?? []).map((m, i) => ({ id: m.type, what: `member ${i}${m.name === '' ? '' : ` (${m.name})`}`, byValue: true }));
    case BtfKind.FUNC_PROTO:
      return [
        { id: t.type ?? 0, what: 'return type', byValue: true },
        ...(t.params ?? []).map((p, i) => ({ id: p.type, what: `parameter ${i}`, byValue: true })),
      ];
    case BtfKind.DATASEC:
      return (t.vars ?? []).map((v, i) => ({ id: v.type, what: `variable ${i}`, byValue: true }));
    default:
      return [];
  }
}

export function validateTypes(types: readonly BtfType[]): void {
  const edges: number[][] = [];
  for (const t of types) {
    const refs = references(t);
    for (const r of refs) {
      if (r.id >= types.length) {
        throw new BtfError(`${describe(t)}: ${r.what} refers to type ${r.id}, which does not exist (${types.length} types)`);
      }
    }
    edges.push(refs.filter((r) => r.byValue).map((r) => r.id));
  }
  for (const t of types) checkKinds(t, types);
  findValueCycle(types, edges);
}

function checkKinds(t: BtfType, types: readonly BtfType[]): void {
  const target = types[t.type ?? 0];
  if (t.kind === BtfKind.FUNC && target.kind !== BtfKind.FUNC_PROTO) {
    throw new BtfError(`${describe(t)}: refers to ${describe(target)}, expected a FUNC_PROTO`);
  }
  if (t.kind === BtfKind.DATASEC) {
    for (const v of t.vars ?? []) {
      const k = types[v.type].kind;
      // Extern functions (.ksyms) appear in a DATASEC as FUNC entries.
      if (k !== BtfKind.VAR && k !== BtfKind.FUNC) throw new BtfError(`${describe(t)}: variable entry refers to ${describe(types[v.type])}, expected a VAR`);
    }
  }
  if (t.kind === BtfKind.DECL_TAG && t.componentIdx !== undefined && t.componentIdx >= 0) {
    const count = target.kind === BtfKind.FUNC ? types[target.type ?? 0].params?.length ?? 0 : target.members?.length;
    if (count === undefined || t.componentIdx >= count) {
      throw new BtfError(`${describe(t)}: component ${t.componentIdx} does not exist in ${describe(target)} (kind ${kindName(target.kind)})`);
    }
  }
}

/** Iterative depth-first search, so a chain of a million typedefs cannot overflow the stack. */
function findValueCycle(types: readonly BtfType[], edges: readonly number[][]): void {
  const state = new Uint8Array(types.length); // 0 unvisited, 1 on the current path, 2 done
  const path: number[] = [];
  const next: number[] = [];
  for (let root = 1; root < types.length; root++) {
    if (state[root] !== 0) continue;
    path.push(root);
    next.push(0);
    state[root] = 1;
    while (path.length > 0) {
      const top = path.length - 1;
      const id = path[top];
      const out = edges[id];
      if (next[top] === out.length) {
        state[id] = 2;
        path.pop();
        next.pop();
        continue;
      }
      const to = out[next[top]++];
      if (state[to] === 1) {
        const cycle = path.slice(path.indexOf(to)).concat(to);
        throw new BtfError(`${describe(types[to])} refers back to itself without a pointer: ${cycle.map((c) => `${c} (${kindName(types[c].kind)})`).join(' -> ')}`);
      }
      if (state[to] === 0) {
        state[to] = 1;
        path.push(to);
        next.push(0);
      }
    }
  }
}
