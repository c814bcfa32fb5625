// sirv on node:http serving $STATIC_ROOT, in its production mode (bench/scenarios/static.ts).
import { createServer } from 'node:http';
import sirv from 'sirv';
import { port, ready } from './ready.ts';

const assets = sirv(process.env.STATIC_ROOT!, { dev: false, etag: true });
const server = createServer((req, res) =>
  assets(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }),
);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  ready(typeof addr === 'object' && addr ? addr.port : port);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
