// The node:http request handler every node:http bench server shares (one process or under cluster):
// Content-Length set, no chunked encoding.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody, PLAINTEXT } from './ready.ts';

const plain = Buffer.from(PLAINTEXT);

export function plainHandler(req: IncomingMessage, res: ServerResponse): void {
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
}
