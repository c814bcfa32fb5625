// node client.mjs PORT WARM N DEPTH VALGRIND_PID [PATH]: the load for steady.sh. Four connections send GET PATH
// (default /plaintext), DEPTH requests per batch (pipelined when DEPTH > 1), the next batch once every response of
// the last one is in. The same four connections carry WARM requests uninstrumented, then callgrind is switched on
// for the next N: new connections in the measured phase would make V8 deoptimise and recompile connection code
// inside the window, and TurboFan's work would swamp the request path's own instructions.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';

const [port, warm, total, depth, vpid] = process.argv.slice(2, 7).map(Number);
const path = process.argv[7] ?? '/plaintext';
const batch = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: cg\r\n\r\n`.repeat(depth));
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
  const socket = connect(port, '127.0.0.1');
  let pending = 0;
  let tail = '';
  const c = {
    socket,
    send() {
      if (sent >= limit) return phaseDone();
      sent += depth;
      pending += depth;
      socket.write(batch);
    },
  };
  conns.push(c);
  socket.on('connect', () => c.send());
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
