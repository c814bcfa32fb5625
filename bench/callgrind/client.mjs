// node client.mjs PORT WARM N DEPTH VALGRIND_PID [PATH]: the load for steady.sh (CG_TLS=1: over TLS). Four connections send GET PATH
// (default /plaintext), DEPTH requests per batch (pipelined when DEPTH > 1), the next batch once every response of
// the last one is in. The same four connections carry WARM requests uninstrumented, then callgrind is switched on
// for the next N: new connections in the measured phase would make V8 deoptimise and recompile connection code
// inside the window, and TurboFan's work would swamp the request path's own instructions.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';

const [port, warm, total, depth, vpid] = process.argv.slice(2, 7).map(Number);
const path = process.argv[7] ?? '/plaintext';
// CG_HEAD=browser: the fields Chromium sends for a navigation (about 700 bytes), for the cost of a
// real client's head; by default the short head of a load tool.
const BROWSER = [
  'Connection: keep-alive',
  'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile: ?0',
  'sec-ch-ua-platform: "Linux"',
  'Upgrade-Insecure-Requests: 1',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'Sec-Fetch-Site: same-origin',
  'Sec-Fetch-Mode: navigate',
  'Sec-Fetch-User: ?1',
  'Sec-Fetch-Dest: document',
  'Referer: http://127.0.0.1/index.html',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Accept-Language: en-US,en;q=0.9',
  'Cookie: theme=dark; session=8f14e45fceea167a5a36dedd4bea2543; _ga=GA1.1.1234567890.1700000000',
];
// CG_HEAD=gzip: wrk's head with the Accept-Encoding of the app-accept-encoding scenario.
const fields =
  process.env.CG_HEAD === 'browser'
    ? BROWSER
    : process.env.CG_HEAD === 'gzip'
      ? ['User-Agent: cg', 'Accept-Encoding: gzip, deflate, br']
      : ['User-Agent: cg'];
// PATH may list several paths, comma-separated: the requests take them in turn, so that no head
// repeats the one before it (a browser's requests on one connection name other resources).
const heads = path
  .split(',')
  .map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`);
const batches = heads.map((_, k) =>
  Buffer.from(Array.from({ length: depth }, (_, j) => heads[(k + j) % heads.length]).join('')),
);
// CG_TLS=1: over TLS (the server runs with --tls-cert and --tls-key; its certificate is not checked).
const secure = process.env.CG_TLS === '1';
const CONNECTIONS = 4;
let measuring = false;
let sent = 0;
let limit = warm;
let idle = 0;
const conns = [];

function phaseDone() {
  if (++idle < CONNECTIONS) return;
  idle = 0;
  if (!measuring) {
    execFileSync('callgrind_control', ['-i', 'on', String(vpid)], { stdio: 'ignore' });
    measuring = true;
    sent = 0;
    limit = total;
    for (const c of conns) c.send();
  } else {
    execFileSync('callgrind_control', ['-i', 'off', String(vpid)], { stdio: 'ignore' });
    for (const c of conns) c.socket.end();
  }
}

for (let i = 0; i < CONNECTIONS; i++) {
  const socket = secure
    ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false })
    : connect(port, '127.0.0.1');
  let pending = 0;
  let tail = '';
  let turn = 0;
  const c = {
    socket,
    send() {
      if (sent >= limit) return phaseDone();
      sent += depth;
      pending += depth;
      socket.write(batches[turn]);
      turn = (turn + depth) % batches.length;
    },
  };
  conns.push(c);
  socket.on(secure ? 'secureConnect' : 'connect', () => c.send());
  // A response is counted at its status line (the bodies here never contain one); a status line
  // split between two reads is found by keeping the end of the last read.
  socket.on('data', (d) => {
    const text = tail + d.toString('latin1');
    let last = -1;
    for (let at = text.indexOf('HTTP/1.1 '); at >= 0; at = text.indexOf('HTTP/1.1 ', at + 9)) {
      pending--;
      last = at;
    }
    tail = text.slice(Math.max(last >= 0 ? last + 9 : 0, text.length - 8));
    if (pending === 0) c.send();
  });
}
