// The physical limit of this machine for the app scenarios: node:net answering every request head
// (up to its blank line) with one canned response of the app's size, no parsing at all. Same reads,
// same writes as any server; what a server spends above it is its own JavaScript.
// With CEILING_PARSES_URL=1 it also does the one piece of the app's work every host of it pays in
// full, whatever the server: `new URL()` of the request's URL (a constant string here, parsed as
// afresh as any). Not a target: it tells how much of a server's distance to the ceiling is the app's.
// With CEILING_ONREAD=1 it reads as Foyer does, into the process's one read buffer (node's `onread`
// mode, src/reception/shared-reads.ts) instead of 'data' events: the limit for a server that reads
// that way. Not a target either: the ceiling is the first one.
// With WORKERS=N it runs as N node:cluster workers sharing the listening socket (SCHED_NONE, as
// `foyer serve --workers` does by default): the limit of a process model for the workers bench,
// where what a second process costs shows without any server's JavaScript in the way.
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { readIntoShared } from '../../src/reception/shared-reads.ts';
import { runPrimary } from './cluster-primary.ts';
import { port, ready } from './ready.ts';

const BODY = 'Hello, World!';
let date = new Date().toUTCString();
setInterval(() => (date = new Date().toUTCString()), 1000).unref();
const reply = () =>
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\ndate: ${date}\r\n\r\n${BODY}`;

const parsesUrl = process.env.CEILING_PARSES_URL === '1';
const onread = process.env.CEILING_ONREAD === '1';
let url = '';
let sink = 0;

const workers = process.env.WORKERS === undefined ? 0 : Number(process.env.WORKERS);
if (workers > 0 && cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  runPrimary(workers);
} else serve();

function serve(): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    // How far into "\r\n\r\n" the previous read ended (a head may be split across reads).
    let matched = 0;
    const onBytes = (chunk: Buffer) => {
      let heads = 0;
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === (matched % 2 === 0 ? 13 : 10)) {
          if (++matched === 4) {
            heads++;
            matched = 0;
          }
        } else matched = b === 13 ? 1 : 0;
      }
      if (parsesUrl) for (let h = 0; h < heads; h++) sink += new URL(url).pathname.length;
      if (heads === 1) socket.write(reply());
      else if (heads > 1) socket.write(reply().repeat(heads));
    };
    if (!onread) socket.on('data', onBytes);
    else if (
      !readIntoShared(socket, (bytes) => {
        onBytes(bytes);
        return true;
      })
    )
      throw new Error('this node cannot read into a buffer of its own');
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    url = `http://127.0.0.1:${bound}/plaintext`;
    if (!cluster.isWorker) ready(bound); // under cluster the primary says so, once every worker listens
  });
  process.once('SIGTERM', () => server.close(() => process.exit(sink < 0 ? 1 : 0)));
}
