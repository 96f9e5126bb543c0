// Where the service listens and keeps its state: `--endpoint` / EBPF_TS_ENDPOINT and
// `--state-dir` / EBPF_TS_STATE_DIR, else per-platform defaults. A Unix domain socket under the
// runtime directory on Linux and macOS; a named pipe on Windows.
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

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
