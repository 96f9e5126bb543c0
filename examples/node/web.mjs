// A small Node web service for "Policing a Node app" (README): an HTTP server on 127.0.0.1:8080
// and, once a second, what such a service does: it calls itself over HTTP (fetch), sends mail
// through a local SMTP relay (127.0.0.1:2525, over plain net), and tries to open its admin
// listener on port 80. It prints one line per round. Nothing here knows about eBPF: run it as
//   EBPF_TS_HOST_NAME=web node --import ebpf-ts/register examples/node/web.mjs
import http from 'node:http';
import net from 'node:net';

const server = http.createServer((req, res) => res.end('ok')).listen(8080, '127.0.0.1');
const outcome = (p) => p.then((v) => v, (e) => e.code ?? e.cause?.code ?? e.message);

const fetchSelf = () => outcome(fetch('http://127.0.0.1:8080/').then((r) => `HTTP ${r.status}`));
const smtp = () => outcome(new Promise((resolve, reject) => {
  const s = net.connect(2525, '127.0.0.1', () => { s.destroy(); resolve('connected'); }).on('error', reject);
}));
const admin = () => outcome(new Promise((resolve, reject) => {
  const a = net.createServer().on('error', reject).listen(80, '127.0.0.1', () => a.close(() => resolve('listening')));
}));

let round = 0;
const tick = async () => {
  const [self, mail, listen] = await Promise.all([fetchSelf(), smtp(), admin()]);
  console.log(`round ${++round}: fetch self ${self}; smtp 127.0.0.1:2525 ${mail}; listen :80 ${listen}`);
};
server.on('listening', () => {
  void tick();
  setInterval(tick, 1000);
});
