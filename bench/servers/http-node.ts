// node:http with Content-Length set (no chunked encoding), the baseline every Node server builds on.
import { createServer } from 'node:http';
import { plainHandler } from './http-node-handler.ts';
import { port, ready } from './ready.ts';

const server = createServer(plainHandler);
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  ready(typeof addr === 'object' && addr ? addr.port : port);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
