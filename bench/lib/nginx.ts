// nginx as a bench peer: one worker (or `workers`), no access log, every temp path in a private prefix,
// listening on 127.0.0.1 only; the scenario supplies what goes inside `http { … }` besides that.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, processServer, which } from './child-server.ts';
import type { RunningServer } from './types.ts';

export const nginxPath = which('nginx');

/**
 * Starts nginx. `http(port, prefix)` returns the scenario's directives for the http block (its
 * `server { listen 127.0.0.1:port; … }` among them). `workers`: worker_processes (default 1).
 */
export async function startNginx(http: (port: number, prefix: string) => string, workers = 1): Promise<RunningServer> {
  if (nginxPath === undefined) throw new Error('nginx is not installed');
  const port = await freePort();
  const prefix = mkdtempSync(join(tmpdir(), 'foyer-bench-nginx-'));
  mkdirSync(join(prefix, 'logs'));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${http(port, prefix)}
}
`,
  );
  return processServer(nginxPath, ['-p', prefix, '-c', conf], {
    port,
    cleanup: () => rmSync(prefix, { recursive: true, force: true }),
  });
}
