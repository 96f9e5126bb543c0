// `ebpf service start|stop|status`: run the service (in the foreground, or as a detached daemon
// whose start this command waits for), ask it to stop, or show what it holds.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceClient, ServiceUnavailableError } from '../../service/client.js';
import { locations } from '../../service/endpoint.js';
import { ServiceError } from '../../service/protocol.js';
import { Service } from '../../service/service.js';
import type { Out, ServiceCommandOptions } from './platform.js';

const DAEMON = fileURLToPath(new URL('../../service/daemon.js', import.meta.url));
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

export interface StartOptions extends ServiceCommandOptions {
  foreground?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function answers(endpoint: string, stateDir: string): Promise<ServiceClient | undefined> {
  try {
    return await ServiceClient.connect({ endpoint, stateDir, role: 'reader', timeoutMs: 5000 });
  } catch (e) {
    // Nothing listens, or a service that is stopping closed the connection before its hello.
    if (e instanceof ServiceUnavailableError || (e instanceof ServiceError && e.code === 'host')) return undefined;
    throw e;
  }
}

export async function serviceStartCommand(options: StartOptions, out: Out): Promise<number> {
  const where = locations(options);
  if (options.foreground === true) {
    const service = await Service.start({ ...where, foreground: true });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void service.stop());
    out(`ebpfsvc ${process.pid} listening on ${service.endpoint} (state in ${where.stateDir}); Ctrl-C stops it\n`);
    await service.stopped;
    return 0;
  }
  const running = await answers(where.endpoint, where.stateDir);
  if (running !== undefined) {
    running.close();
    process.stderr.write(`ebpf: a service (pid ${running.servicePid}) is already running at ${where.endpoint}\n`);
    return 1;
  }
  mkdirSync(where.stateDir, { recursive: true, mode: 0o700 });
  const outputFile = join(where.stateDir, 'service.out');
  const fd = openSync(outputFile, 'w', 0o600);
  const child = spawn(process.execPath, [DAEMON, '--endpoint', where.endpoint, '--state-dir', where.stateDir], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const why = readFileSync(outputFile, 'utf8').split('\n').find((l) => l.startsWith('error: ')) ?? `the service exited with code ${exited}`;
      process.stderr.write(`ebpf: the service did not start: ${why.replace(/^error: /, '')}\n`);
      return 1;
    }
    const client = await answers(where.endpoint, where.stateDir);
    if (client !== undefined) {
      client.close();
      out(`ebpfsvc started (pid ${child.pid}) on ${where.endpoint}; state in ${where.stateDir}\n`);
      return 0;
    }
    await sleep(50);
  }
  process.stderr.write(`ebpf: the service did not answer within ${START_TIMEOUT_MS / 1000} s; see ${outputFile}\n`);
  return 1;
}

export async function serviceStopCommand(options: ServiceCommandOptions, out: Out): Promise<number> {
  const where = locations(options);
  const client = await ServiceClient.connect({ ...where, client: 'ebpf' });
  const pid = client.servicePid;
  await client.request('service.stop', {});
  client.close();
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const still = await answers(where.endpoint, where.stateDir);
    if (still === undefined) {
      out(`ebpfsvc (pid ${pid}) stopped\n`);
      return 0;
    }
    still.close();
    await sleep(50);
  }
  process.stderr.write(`ebpf: the service (pid ${pid}) still answers after ${STOP_TIMEOUT_MS / 1000} s\n`);
  return 1;
}

interface Status {
  pid: number;
  version: number;
  endpoint: string;
  stateDir: string;
  uptimeSeconds: number;
  programs: number;
  maps: number;
  links: number;
  pins: number;
  clients: number;
  hosts: { id: number; name: string; points: { type: string; name: string }[] }[];
}

export async function serviceStatusCommand(options: ServiceCommandOptions, out: Out): Promise<number> {
  const where = locations(options);
  const client = await ServiceClient.connect({ ...where, role: 'reader', client: 'ebpf' });
  try {
    const s = (await client.request('service.status', {})) as Status;
    if (options.json === true) {
      out(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    out(`ebpfsvc running: pid ${s.pid}, protocol ${s.version}, up ${s.uptimeSeconds} s\n`);
    out(`  endpoint  ${s.endpoint}\n  state     ${s.stateDir}\n`);
    out(`  ${s.programs} programs, ${s.maps} maps, ${s.links} links, ${s.pins} pins, ${s.clients} clients\n`);
    for (const h of s.hosts) out(`  hook host ${h.name}: ${h.points.length === 0 ? 'no attach points' : h.points.map((p) => `${p.name} (${p.type})`).join(', ')}\n`);
    return 0;
  } finally {
    client.close();
  }
}
