// A flood of zero-length UDP datagrams at a target rate, run as a child process
// (`node flooder.js PORT RATE`). Reports how many it sent, once a second, over IPC.
import { createSocket } from 'node:dgram';

const [portText, rateText] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText);
if (!Number.isInteger(port) || !(rate > 0)) {
  process.stderr.write('usage: flooder PORT RATE\n');
  process.exit(2);
}
const socket = createSocket('udp4');
const empty = Buffer.alloc(0);
let sent = 0;
let reported = 0;
socket.on('error', () => undefined); // ECONNREFUSED after the server closes: keep quiet
socket.connect(port, '127.0.0.1', () => {
  const start = performance.now();
  const burst = (): void => {
    const allowed = Math.min(1024, Math.floor(((performance.now() - start) / 1000) * rate) - sent);
    for (let i = 0; i < allowed; i++) socket.send(empty);
    if (allowed > 0) sent += allowed;
    setImmediate(burst);
  };
  burst();
  setInterval(() => {
    process.send?.({ sent: sent - reported });
    reported = sent;
  }, 1000).unref();
});
process.on('disconnect', () => process.exit(0));
