import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { buildQuery, parseQuery, parseResponse, DnsFormatError } from '../../src/demo/dns.js';
import { startDnsServer } from '../../src/demo/dns-server.js';

test('queries round-trip through the codec', () => {
  const q = parseQuery(buildQuery(0x1234, 'Host1.Demo.ebpf-ts.test'));
  assert.deepEqual([q.id, q.name, q.type, q.class], [0x1234, 'host1.demo.ebpf-ts.test', 1, 1]);
  assert.throws(() => parseQuery(new Uint8Array(5)), DnsFormatError);
  assert.throws(() => parseQuery(Uint8Array.from([0, 1, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1])), /not a query/);
});

test('the demo DNS server answers its zone, NXDOMAIN elsewhere, FORMERR to junk, and counts empty datagrams', async () => {
  const server = await startDnsServer();
  const client = createSocket('udp4');
  client.bind(0, '127.0.0.1');
  await once(client, 'listening');
  const answers: ReturnType<typeof parseResponse>[] = [];
  client.on('message', (m) => answers.push(parseResponse(m)));
  const send = (b: Uint8Array) => client.send(b, server.port, '127.0.0.1');
  send(buildQuery(1, 'abc.demo.ebpf-ts.test'));
  send(buildQuery(2, 'example.org'));
  send(Uint8Array.from([0, 3, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]));
  send(new Uint8Array(0));
  await new Promise((resolve) => setTimeout(resolve, 200));
  answers.sort((a, b) => a.id - b.id);
  assert.deepEqual(answers, [{ id: 1, rcode: 0, address: '192.0.2.4' }, { id: 2, rcode: 3 }, { id: 3, rcode: 1 }]);
  assert.deepEqual({ ...server.stats }, { received: 4, empty: 1, answered: 3, malformed: 1 });
  client.close();
  await server.close();
});
