// The app's logic on node:http: the URL parsed with `new URL` as the fetch app does, Content-Length set.
import { createServer } from 'node:http';
import { answer } from '../fixtures/app/app.mjs';
import { port, ready } from './ready.ts';

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  const found = answer(url.pathname);
  if (found === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': 9 });
    res.end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': found.type, 'content-length': Buffer.byteLength(found.body) });
  res.end(found.body);
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  ready(typeof addr === 'object' && addr ? addr.port : port);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
