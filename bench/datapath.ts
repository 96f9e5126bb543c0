// Frames per second through the L2 datapath (a benchmark, not a test; Linux, as root): the test
// hosts' client and server namespaces bridged by the datapath in this thread, droppacket attached
// to the client side, and a flood injected into the client's veth end by a worker thread through
// an AF_PACKET TX ring (faster than any socket flooder, so the datapath is what is measured).
// For each frame size and mix: frames the flooder sent, frames the datapath handled per second,
// how many it dropped and passed, and the loss (sent but never handled: the RX ring was full).
//   node dist/bench/datapath.js [--seconds N]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Table from 'cli-table3';
import { openObject } from '../src/elf/index.js';
import { Datapath } from '../src/net/datapath.js';
import { buildUdpFrame } from '../src/net/frames.js';
import { checkTestHostPrerequisites, interfaceMac, testHostsUp } from '../src/net/netns.js';
import { ExecutionContext } from '../src/runtime/context.js';
import { loadObject } from '../src/runtime/load.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 3;

const FLOODER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { inNetns } = await import(workerData.enterNetns);
  const { openPacketSocket } = await import(workerData.afPacket);
  const socket = inNetns(workerData.namespace, () => openPacketSocket('eth0', { ringFrames: 4096, qdiscBypass: true }));
  const frames = workerData.frames.map((f) => new Uint8Array(f));
  const end = Date.now() + workerData.seconds * 1000;
  let sent = 0;
  let next = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 256; i++) {
      if (!socket.queue(frames[next % frames.length])) break;
      next++;
      sent++;
    }
    socket.flush();
  }
  socket.close();
  parentPort.postMessage(sent);
})();`;

try {
  await checkTestHostPrerequisites();
} catch (e) {
  process.stderr.write(`bench/datapath: ${(e as Error).message}\n`);
  process.exit(1);
}
const hosts = await testHostsUp({ prefix: 'ebtbn-', removeOnExit: true });
const datapath = new Datapath({ socket: { ringFrames: 4096 } });
datapath.addInterface(hosts.client.rootInterface);
datapath.addInterface(hosts.server.rootInterface);
datapath.bridge(hosts.client.rootInterface, hosts.server.rootInterface);
const object = loadObject(openObject(new Uint8Array(readFileSync(join(ROOT, 'examples', 'droppacket.o'))), { path: 'droppacket.o' }), new ExecutionContext());
datapath.attach(hosts.client.rootInterface, object.program('drop_empty_udp'));

const source = { address: '10.77.0.1', port: 40000 };
const destination = { address: '10.77.0.2', port: 53 };
const macs = { sourceMac: interfaceMac('eth0', hosts.client.namespace), destinationMac: interfaceMac('eth0', hosts.server.namespace) };
const frameOf = (payload: number): ArrayBuffer => buildUdpFrame({ source, destination, payload: new Uint8Array(payload), ...macs }).slice().buffer;

const cases = [
  { name: '64-byte frames, all dropped (the flood)', frames: [frameOf(0)] },
  { name: '64-byte frames, half passed', frames: [frameOf(0), frameOf(4)] },
  { name: '1514-byte frames, all passed', frames: [frameOf(1472)] },
];

const table = new Table({ head: ['case', 'sent/s', 'handled/s', 'dropped/s', 'passed/s', 'loss'], style: { head: [], border: [] } });
const side = hosts.client.rootInterface;
for (const c of cases) {
  const before = datapath.counters(side);
  datapath.start(5);
  const worker = new Worker(FLOODER, {
    eval: true,
    workerData: {
      seconds: SECONDS, namespace: hosts.client.namespace, frames: c.frames,
      enterNetns: new URL('../src/net/enter-netns.js', import.meta.url).href, afPacket: new URL('../src/net/af-packet.js', import.meta.url).href,
    },
  });
  const started = performance.now();
  const sent = await new Promise<number>((r, reject) => worker.once('message', r).once('error', reject));
  // What is still in the ring is handled before the figures are read.
  await new Promise((r) => setTimeout(r, 200));
  await datapath.stop();
  const seconds = (performance.now() - started) / 1000;
  const after = datapath.counters(side);
  const handled = after.received - before.received;
  const rate = (n: number): string => Math.round(n / seconds).toLocaleString('en-US');
  table.push([c.name, rate(sent), rate(handled), rate(after.dropped - before.dropped), rate(after.passed - before.passed), `${((Math.max(0, sent - handled) / Math.max(sent, 1)) * 100).toFixed(1)}%`]);
}
await datapath.close();
await hosts.close();
process.stdout.write(`datapath: droppacket on one interface, one worker (this thread), ${SECONDS} s per case (Node ${process.version})\n${table.toString()}\n`);
