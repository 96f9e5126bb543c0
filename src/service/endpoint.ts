// Where the service listens and keeps its state: `--endpoint` / EBPF_TS_ENDPOINT and
// `--state-dir` / EBPF_TS_STATE_DIR, else per-platform defaults. A Unix domain socket under the
// runtime directory on Linux and macOS; a named pipe on Windows.
import { homedir, tmpdir } from 'node:os';
import { lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Locations {
  readonly endpoint: string;
  readonly stateDir: string;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export function defaultEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32') return '\\\\.\\pipe\\ebpf-ts-ebpfsvc';
  if (isRoot()) return '/run/ebpf-ts/ebpfsvc.sock';
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime !== '') return join(runtime, 'ebpf-ts', 'ebpfsvc.sock');
  return join(tmpdir(), `ebpf-ts-${process.getuid?.() ?? 'user'}`, 'ebpfsvc.sock');
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32') return join(env.ProgramData ?? 'C:\\ProgramData', 'ebpf-ts');
  if (isRoot()) return '/var/lib/ebpf-ts';
  const state = env.XDG_STATE_HOME;
  return join(state !== undefined && state !== '' ? state : join(homedir(), '.local', 'state'), 'ebpf-ts');
}

/** The endpoint and state directory: explicit options first, then the environment, then defaults. */
export function locations(options: { endpoint?: string; stateDir?: string } = {}, env: NodeJS.ProcessEnv = process.env): Locations {
  const pick = (given: string | undefined, variable: string | undefined, fallback: () => string): string =>
    given !== undefined && given !== '' ? given : variable !== undefined && variable !== '' ? variable : fallback();
  return {
    endpoint: pick(options.endpoint, env.EBPF_TS_ENDPOINT, () => defaultEndpoint(env)),
    stateDir: pick(options.stateDir, env.EBPF_TS_STATE_DIR, () => defaultStateDir(env)),
  };
}

/**
 * Whether the folder of a Unix-socket endpoint can be trusted with the admin token: a real
 * directory (no link) owned by this user or root, that no one else may write in (so no one else
 * can have put a socket of theirs there). Undefined when it can; else the problem, in words.
 */
export function endpointFolderProblem(endpoint: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const folder = dirname(endpoint);
  let st;
  try {
    st = lstatSync(folder);
  } catch (e) {
    return `its folder ${folder} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (!st.isDirectory()) return `its folder ${folder} is not a directory`;
  const me = process.getuid?.() ?? 0;
  if (st.uid !== me && st.uid !== 0) return `its folder ${folder} belongs to user ${st.uid}, not to this user (${me}) or root`;
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `its folder ${folder} may be written by other users (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** As endpointFolderProblem, and the socket itself must belong to this user or root (a client's check). */
export function endpointProblem(endpoint: string): string | undefined {
  const folder = endpointFolderProblem(endpoint);
  if (folder !== undefined || process.platform === 'win32') return folder;
  try {
    const st = lstatSync(endpoint);
    const me = process.getuid?.() ?? 0;
    if (st.uid !== me && st.uid !== 0) return `the socket belongs to user ${st.uid}, not to this user (${me}) or root`;
  } catch {
    // No socket: the connection fails anyway, with its own message.
  }
  return undefined;
}
