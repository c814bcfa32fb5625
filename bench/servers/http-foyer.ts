// Foyer serving /plaintext and /json through a plain fetch handler, as an application would.
import { loadFoyer } from '../lib/foyer.ts';
import { jsonBody, PLAINTEXT, port, ready } from './ready.ts';

const { serve } = await loadFoyer();
const server = await serve({
  port,
  host: '127.0.0.1',
  logLevel: 'warn',
  // The access-log scenario runs this server twice, with and without a log file.
  ...(process.env.FOYER_BENCH_ACCESS_LOG ? { accessLog: process.env.FOYER_BENCH_ACCESS_LOG } : {}),
  ...(process.env.FOYER_BENCH_REQUEST_ID === '1' ? { requestId: true } : {}),
  fetch(req) {
    // The path without building a URL object: req.url is absolute, the path starts after the authority.
    const url = req.url;
    const path = url.slice(url.indexOf('/', 8));
    if (path === '/plaintext') return new Response(PLAINTEXT, { headers: { 'content-type': 'text/plain' } });
    if (path === '/json') return Response.json(jsonBody());
    return new Response('not found', { status: 404 });
  },
});
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
