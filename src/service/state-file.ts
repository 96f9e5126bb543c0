// What survives a restart (docs/service-protocol.md, "Durability"): the objects that hold a pin, their programs' pins and
// attach points (or that they are attached to every host), their maps' pins and contents, and the id counters. Written atomically: a
// temporary file, fsync, rename over state.json, fsync of the directory, so a kill -9 at any
// moment leaves either the old file or the new one. Object files are kept by content hash.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { attachPointSchema, describeIssue } from './protocol.js';

const pins = z.array(z.string());
const savedObject = z.strictObject({
  id: z.number().int(),
  path: z.string().optional(),
  file: z.string().regex(/^objects\/[0-9a-f]{64}\.o$/),
  section: z.string(),
  type: z.string(),
  execution: z.enum(['jit', 'interpret']),
  // wildcard: attached to every hook host (absent in files written before it existed: false).
  programs: z.array(z.strictObject({ id: z.number().int(), name: z.string(), pins, attachPoint: attachPointSchema.nullable(), wildcard: z.boolean().optional() })),
  maps: z.array(z.strictObject({ id: z.number().int(), name: z.string(), pins, entries: z.array(z.tuple([z.string(), z.string()])) })),
});
export const stateSchema = z.strictObject({
  version: z.literal(1),
  next: z.strictObject({ object: z.number().int(), program: z.number().int(), map: z.number().int(), link: z.number().int() }),
  objects: z.array(savedObject),
});
export type SavedState = z.infer<typeof stateSchema>;
export type SavedObject = z.infer<typeof savedObject>;

export const STATE_FILE = 'state.json';

function syncDirectory(dir: string): void {
  // Windows cannot open a directory for fsync; its rename is durable enough there.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `bytes` to `file` so that a crash leaves the old contents or the new, never a mix. */
export function writeAtomically(file: string, bytes: Uint8Array | string, dir: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  syncDirectory(dir);
}

/** Stores an object file under its hash (once); returns its name relative to the state dir. */
export function saveObjectFile(stateDir: string, bytes: Uint8Array): string {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const name = `objects/${hash}.o`;
  const dir = join(stateDir, 'objects');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, name);
  if (!existsSync(file)) writeAtomically(file, bytes, dir);
  return name;
}

export function saveState(stateDir: string, state: SavedState): void {
  writeAtomically(join(stateDir, STATE_FILE), JSON.stringify(state), stateDir);
}

/** The saved state, or undefined when there is none; a corrupt file is an error that names it. */
export function loadState(stateDir: string): SavedState | undefined {
  const file = join(stateDir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not JSON (${e instanceof Error ? e.message : String(e)}); move it aside to start without the saved pins`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not a state file of this version (${describeIssue(parsed.error)}); move it aside to start without the saved pins`);
  return parsed.data;
}

export function readObjectFile(stateDir: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(stateDir, name)));
}
