// What the datapath's wire tests share: whether this machine can run them, running a script in a
// test host's namespace, and the UDP echo server they talk to.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { checkTestHostPrerequisites } from '../../src/net/netns.js';

/**
 * Why the wire tests of `file` cannot run here (said on stderr), or false. They need root and
 * iproute2, and ethtool, which turns off the checksum offloads that would leave partial UDP
 * checksums in the frames the datapath forwards (completing them is the datapath's job still to do).
 */
export async function wireSkipReason(file: string): Promise<string | false> {
  const ethtool = spawnSync('ethtool', ['--version']).status === 0;
  const skip = await checkTestHostPrerequisites().then(
    () => (ethtool ? (false as const) : 'SKIPPED (needs ethtool, which .ci/run installs)'),
    (e: Error) => `SKIPPED (needs root and iproute2): ${e.message}`,
  );
  if (skip !== false) process.stderr.write(`${file}: ${skip}\n`);
  return skip;
}

/** `node -e SCRIPT [ARG]` in network namespace `ns`. */
export function inNamespace(ns: string, script: string, arg?: string): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...(arg === undefined ? [] : [arg])], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a script in `ns` to its end; resolves with what it printed. */
export async function outputInNamespace(ns: string, script: string, arg: string): Promise<string> {
  const child = inNamespace(ns, script, arg);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return out;
}

/**
 * A UDP echo server on ADDRESS:PORT in `ns`; `heard` gets each datagram's length as it arrives.
 * Resolves once it is listening.
 */
export async function startEchoServer(ns: string, address: string, port: number): Promise<{ child: ChildProcess; heard: number[] }> {
  const child = inNamespace(ns, `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => { process.stdout.write(m.length + '\\n'); s.send(m, r.port, r.address); });
s.bind(${port}, '${address}', () => process.stdout.write('ready\\n'));`);
  const heard: number[] = [];
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) {
        if (l === 'ready') resolve();
        else heard.push(Number(l));
      }
    });
    child.once('exit', (code) => reject(new Error(`the echo server exited (${code})`)));
  });
  return { child, heard };
}
