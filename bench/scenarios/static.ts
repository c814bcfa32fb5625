// Static files: a 1 KiB, a 64 KiB and a 1 MiB file through Foyer's staticFiles, sirv, @fastify/static and
// nginx (when installed: plain config, access log off, one worker). Targets from the static issue.
// The files live in a temp dir made here; every server serves that same dir.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeServer } from '../lib/child-server.ts';
import type { BenchServer, Scenario } from '../lib/types.ts';
import { nginxPath, startNginx } from '../lib/nginx.ts';

const root = mkdtempSync(join(tmpdir(), 'foyer-bench-static-'));
// nginx's worker runs as an unprivileged user when started as root: let it read the files.
chmodSync(root, 0o755);
const line = 'Foyer serves static files; this line is 64 bytes of plain text.\n';
writeFileSync(join(root, '1k.txt'), line.repeat(16), { mode: 0o644 });
writeFileSync(join(root, '64k.txt'), line.repeat(1024), { mode: 0o644 });
writeFileSync(join(root, '1m.txt'), line.repeat(16 * 1024), { mode: 0o644 });
process.once('exit', () => rmSync(root, { recursive: true, force: true }));

const env = { STATIC_ROOT: root };
const entry = (name: string) => new URL(`../servers/${name}.ts`, import.meta.url);

const nginx: BenchServer = {
  label: 'nginx',
  start: () =>
    startNginx(
      (port) => `  types { text/plain txt; text/html html; }
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }`,
    ),
};

const servers: BenchServer[] = [
  { label: 'foyer', start: () => nodeServer(entry('static-foyer'), { env }) },
  { label: 'sirv', start: () => nodeServer(entry('static-sirv'), { env }) },
  { label: '@fastify/static', start: () => nodeServer(entry('static-fastify'), { env }) },
  ...(nginxPath ? [nginx] : []),
];

const targets = [
  { peer: 'sirv', min: 3 },
  { peer: '@fastify/static', min: 3 },
  ...(nginxPath ? [{ peer: 'nginx', min: 0.8 }] : []),
];

export const scenarios: Scenario[] = [
  {
    name: 'static-1k',
    description: `GET /1k.txt (1 KiB), keep-alive${nginxPath ? '' : '; nginx not installed, left out'}`,
    path: '/1k.txt',
    servers,
    targets,
  },
  {
    name: 'static-64k',
    description: 'GET /64k.txt (64 KiB), keep-alive',
    path: '/64k.txt',
    servers,
    targets,
  },
  {
    // Past the memory cache: streamed from disk in 64 KiB reads (nginx uses sendfile).
    name: 'static-1m',
    description: 'GET /1m.txt (1 MiB, streamed), keep-alive',
    path: '/1m.txt',
    servers,
  },
];
