// node:http with Content-Length set (no chunked encoding), the baseline every Node server builds on.
import { createServer } from 'node:http';
import { jsonBody, PLAINTEXT, port, ready } from './ready.ts';

const plain = Buffer.from(PLAINTEXT);
const server = createServer((req, res) => {
  if (req.url === '/plaintext') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': plain.length });
    res.end(plain);
  } else if (req.url === '/json') {
    const body = JSON.stringify(jsonBody());
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  }
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  ready(typeof addr === 'object' && addr ? addr.port : port);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
