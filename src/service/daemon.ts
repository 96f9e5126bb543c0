#!/usr/bin/env node
// The ebpfsvc process: `ebpf service start` runs this in the foreground or spawns it detached.
// Arguments: --endpoint PATH --state-dir DIR [--foreground] [--checkpoint-ms N]
// [--verifier-memory-mb N] [--verifier-seconds N]. Prints one line "ready PID ENDPOINT" on stdout
// once it listens (the starter waits for it), or "error: ..." on stderr and exits 1.
import { parseArgs } from 'node:util';
import { loadExtensionsFromEnvironment } from '../extension/environment.js';
import { locations } from './endpoint.js';
import { ServiceError } from './protocol.js';
import { Service } from './service.js';

const numberOf = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new ServiceError('invalid', `--${name} takes a positive number; got '${text}'`);
  return n;
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      'state-dir': { type: 'string' },
      foreground: { type: 'boolean', default: false },
      'checkpoint-ms': { type: 'string' },
      'verifier-memory-mb': { type: 'string' },
      'verifier-seconds': { type: 'string' },
    },
    strict: true,
  });
  const where = locations({ endpoint: values.endpoint, stateDir: values['state-dir'] });
  // The program types, helpers and map types extensions add (EBPF_TS_EXTENSIONS), here as in the CLI.
  await loadExtensionsFromEnvironment();
  const service = await Service.start({
    ...where,
    foreground: values.foreground,
    checkpointMs: numberOf('checkpoint-ms', values['checkpoint-ms']),
    verifierLimits: { memoryMb: numberOf('verifier-memory-mb', values['verifier-memory-mb']), wallSeconds: numberOf('verifier-seconds', values['verifier-seconds']) },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void service.stop());
  process.stdout.write(`ready ${process.pid} ${service.endpoint}\n`);
  await service.stopped;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
