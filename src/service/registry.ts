// The service's registry: objects, programs, maps, links and pins, with numeric ids that are
// never reused while the service's state lives (as Linux and ebpf-for-windows give them), and
// the hook hosts that the objects live in. Plain records; service.ts owns the rules.
import type { MapSpec } from '../maps/index.js';
import type { AttachPoint } from './protocol.js';

/** A host the service can place objects in: its own context, or an application's. */
export interface HostHandle {
  readonly id: number;
  readonly name: string;
  readonly local: boolean;
  /** The name the host gave (its client name), which `name` numbers. */
  readonly label: string;
  readonly pid?: number;
  readonly points: readonly AttachPoint[];
  call(op: string, args: unknown): Promise<unknown>;
}

export interface ObjectRecord {
  readonly id: number;
  readonly path: string | undefined;
  readonly bytes: Uint8Array;
  readonly section: string;
  readonly type: string;
  readonly execution: 'jit' | 'interpret';
  /** Where the object is loaded; for an object attached to every host, its template (the service's own context). */
  host: HostHandle | undefined;
  /**
   * The per-host copies of an object whose program is attached to every host (docs/service-protocol.md,
   * "Attaching to every host"), by host id: each loaded with the same ids, its maps its own. Empty otherwise.
   */
  readonly instances: Map<number, HostHandle>;
  readonly programs: number[];
  readonly maps: number[];
}

export interface ProgramRecord {
  readonly id: number;
  readonly object: number;
  readonly name: string;
  readonly section: string;
  readonly type: string;
  readonly execution: 'jit' | 'interpret';
  readonly pins: Set<string>;
  /** Where the program should be attached: kept while its host is away, for when it comes back. */
  attachPoint: AttachPoint | undefined;
  /** Attached to every fitting point of every hook host, present and future (its links are in Registry.links). */
  wildcard: boolean;
  /** The attach type its section names (connect4, recv_accept6 …), where it names one. */
  readonly attach?: string;
  readonly instructions: number;
  readonly verifiedMs: number;
}

/** A map's definition as the object declares it, with the service's id and pins. */
export interface MapRecord extends Pick<MapSpec, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'> {
  readonly id: number;
  readonly object: number;
  readonly innerMapId: number;
  readonly pins: Set<string>;
}

export interface LinkRecord {
  readonly id: number;
  readonly program: number;
  readonly point: AttachPoint;
  readonly host: number;
}

export interface PinRecord {
  readonly kind: 'program' | 'map';
  readonly id: number;
}

export interface Counters {
  object: number;
  program: number;
  map: number;
  link: number;
}

export class Registry {
  readonly objects = new Map<number, ObjectRecord>();
  readonly programs = new Map<number, ProgramRecord>();
  readonly maps = new Map<number, MapRecord>();
  readonly links = new Map<number, LinkRecord>();
  readonly pins = new Map<string, PinRecord>();
  next: Counters = { object: 1, program: 1, map: 1, link: 1 };

  allocate(kind: keyof Counters): number {
    return this.next[kind]++;
  }

  /** Makes sure ids restored from a state file are not handed out again. */
  reserve(kind: keyof Counters, id: number): void {
    if (id >= this.next[kind]) this.next[kind] = id + 1;
  }

  /** A program's links, in the order they were made: one, or (attached to every host) one per host and point. */
  linksOf(program: number): LinkRecord[] {
    return [...this.links.values()].filter((l) => l.program === program);
  }

  /** The pins of an object's programs and maps: an object with none ends with the service. */
  hasPins(object: ObjectRecord): boolean {
    return object.programs.some((id) => (this.programs.get(id)?.pins.size ?? 0) > 0) || object.maps.some((id) => (this.maps.get(id)?.pins.size ?? 0) > 0);
  }
}
