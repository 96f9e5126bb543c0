// The datapath as a hook host of a real service, driven from the CLI, on the wire between the
// client and server test hosts (as root): `ebpf datapath A B` offers both interfaces as xdp
// attach points; `ebpf add program droppacket.o interface=B-side` drops the empty datagrams
// before the server's kernel sees them while the others go through; `ebpf delete program N`
// brings them back; the same program without its bounds check is refused, naming the check.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { testHostsDown, testHostsUp, type TestHosts } from '../../src/net/netns.js';
import { CLI, example, loadedId, Sandbox, type Child } from '../service/support.js';
import { outputInNamespace, startEchoServer, wireSkipReason } from './wire.js';

const prefix = `ebtds${process.pid.toString(36)}-`;
const skip = await wireSkipReason('test/net/datapath-service.test.ts');

const sb = new Sandbox();
let hosts: TestHosts | undefined;
let datapath: Child | undefined;
let server: ChildProcess | undefined;
let heard: number[] = [];

/** The client: sends datagrams of these lengths to 10.77.0.2:53 and prints the lengths of the replies within 1.2 s. */
const CLIENT = `
const payloads = JSON.parse(process.argv[1]);
const s = require('node:dgram').createSocket('udp4');
const replies = [];
s.on('message', (m) => replies.push(m.length));
s.bind(0, '10.77.0.1', () => {
  for (const p of payloads) s.send(Buffer.alloc(p), 53, '10.77.0.2');
  setTimeout(() => { process.stdout.write(JSON.stringify(replies)); s.close(); }, 1200);
});`;

async function ask(...lengths: number[]): Promise<number[]> {
  return (JSON.parse((await outputInNamespace(`${prefix}client`, CLIENT, JSON.stringify(lengths))) || '[]') as number[]).sort((x, y) => x - y);
}

before(async () => {
  if (skip !== false) return;
  hosts = await testHostsUp({ prefix, removeOnExit: true });
  await sb.startDaemon();
  datapath = sb.spawnNode([CLI, 'datapath', hosts.client.rootInterface, hosts.server.rootInterface]);
  await datapath.nextLine((l) => l.includes('a hook host of the service'), 20_000);
  const echo = await startEchoServer(`${prefix}server`, '10.77.0.2', 53);
  server = echo.child;
  heard = echo.heard;
});

after(async () => {
  server?.kill();
  await sb.cleanup();
  await hosts?.close();
  if (skip === false) await testHostsDown({ prefix });
});

test('the datapath offers its interfaces; droppacket added from the CLI drops empty datagrams on the wire, deleted it lets them through', { skip }, async () => {
  const cli0 = `${prefix}cli0`;
  assert.match(await sb.cliOk('show', 'attachpoints'), new RegExp(`xdp\\s+${cli0}\\s+datapath#\\d+`));
  heard.length = 0;
  assert.deepEqual(await ask(0, 4), [0, 4], 'unprotected: both answered');
  assert.deepEqual([...heard].sort(), [0, 4]);

  const added = await sb.cliOk('add', 'program', example('droppacket.o'), `interface=${cli0}`, 'pinned=all');
  const id = loadedId(added);
  heard.length = 0;
  assert.deepEqual(await ask(0, 4, 0, 0), [4], 'protected: the empty ones never reach the server');
  assert.deepEqual(heard, [4]);
  const dump = JSON.parse(await sb.cliOk('map', 'dump', 'drop_empty_udp/dropped_packet_map', '--json')) as { entries: { valueNumber?: string }[] };
  assert.equal(dump.entries[0].valueNumber, '3');

  await sb.cliOk('delete', 'program', String(id));
  heard.length = 0;
  assert.deepEqual(await ask(0), [0], 'deleted: empty datagrams arrive again');
  assert.deepEqual(heard, [0]);
});

test('the unsafe variant is refused by the verifier, naming the missing check, and nothing is attached', { skip }, async () => {
  const r = await sb.cli(['add', 'program', example('droppacket_unsafe.o'), `interface=${prefix}cli0`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refused by the verifier/);
  assert.match(r.stderr, /droppacket_unsafe\.c:\d+/);
  assert.doesNotMatch(await sb.cliOk('show', 'links'), new RegExp(`${prefix}cli0`));
});
