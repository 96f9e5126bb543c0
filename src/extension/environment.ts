// Extensions named in the environment: EBPF_TS_EXTENSIONS lists modules (paths, separated as
// PATH is: ':' here, ';' on Windows) that every ebpf-ts process imports before it works: the CLI,
// the service, its verifier processes and the hook hosts of `--import ebpf-ts/register`. A
// registration lives in one process, so each of them must make it; the environment carries the
// list to all of them. A module registers when imported, or exports a default function that does.
import { delimiter, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExtensionError } from './registry.js';

const loaded = new Set<string>();

/** Imports the modules EBPF_TS_EXTENSIONS names (each once per process). Throws ExtensionError naming the one that failed. */
export async function loadExtensionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const list = (env.EBPF_TS_EXTENSIONS ?? '').split(delimiter).map((p) => p.trim()).filter((p) => p !== '');
  for (const path of list) {
    const file = resolve(path);
    if (loaded.has(file)) continue;
    try {
      const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
      if (typeof module.default === 'function') await (module.default as () => unknown)();
    } catch (e) {
      throw new ExtensionError(`cannot load extension ${path} (EBPF_TS_EXTENSIONS): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    loaded.add(file);
  }
  return [...loaded];
}
