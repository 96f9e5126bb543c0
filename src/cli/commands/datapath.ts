// `ebpf datapath IF_A IF_B`: the L2 datapath as a hook host of the service (issue 14, first
// slice). It bridges the two interfaces (what one passes goes out of the other) and offers each as
// an `xdp` attach point named after it, so `ebpf add program droppacket.o interface=IF_B` puts the
// program on the wire, run here on every frame with no IPC per frame, and `ebpf delete program N`
// takes it off. It runs until SIGINT or SIGTERM (or the service goes away); `--stats` prints each
// interface's counters every second.
import { Datapath, DatapathError } from '../../net/datapath.js';
import { NetUnavailableError, SyscallError } from '../../net/libc.js';
import { connectHookHost } from '../../service/host-client.js';
import { locations } from '../../service/endpoint.js';
import type { Out, ServiceCommandOptions } from './platform.js';

export interface DatapathCommandOptions extends ServiceCommandOptions {
  stats?: boolean;
}

export async function datapathCommand(a: string, b: string, options: DatapathCommandOptions, out: Out): Promise<number> {
  const datapath = new Datapath();
  try {
    datapath.addInterface(a);
    datapath.addInterface(b);
    datapath.bridge(a, b);
  } catch (e) {
    await datapath.close();
    if (e instanceof SyscallError || e instanceof NetUnavailableError || e instanceof DatapathError) {
      process.stderr.write(`ebpf datapath: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  let host;
  try {
    host = await connectHookHost({
      ...locations(options),
      client: 'datapath',
      providers: [a, b].map((name) => ({
        point: { type: 'xdp', name },
        attach: (program) => {
          datapath.attach(name, program);
          return { detach: () => void datapath.detach(name) };
        },
      })),
    });
  } catch (e) {
    await datapath.close();
    throw e;
  }
  datapath.start();
  out(`datapath ${a} <-> ${b} (pid ${process.pid}): a hook host of the service at ${host.client.endpoint} (xdp points ${a}, ${b})\n`);
  const timer = options.stats === true
    ? setInterval(() => {
      for (const i of datapath.interfaces()) out(`${JSON.stringify({ interface: i.name, program: i.program ?? null, ...i.counters })}\n`);
    }, 1000)
    : undefined;
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    host.client.connection.onClose(() => resolve());
  });
  if (timer !== undefined) clearInterval(timer);
  host.close();
  await datapath.close();
  return 0;
}
