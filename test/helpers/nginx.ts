// A private nginx for tests that compare Foyer with it: its own prefix, conf, pid and logs under
// a temp folder, listening on a free 127.0.0.1 port, stopped (SIGQUIT) and removed by `stop()`.
// Workers run as the user running the tests, so they read what the tests made.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';
/** Pass as `{ skip }` to tests that need nginx. */
export const skipWithoutNginx = existsSync(NGINX)
  ? false
  : `nginx is not installed at ${NGINX} (apt-get install nginx-light)`;

export interface RunningNginx {
  port: number;
  /** The prefix folder: nginx.conf, logs, temp paths. */
  dir: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function untilAccepting(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not start (exit ${child.exitCode})`);
}

/**
 * Starts nginx with `http(port, dir)` inside its `http { … }` block (a `server { listen
 * 127.0.0.1:port; … }` among it). `files` are written into the prefix first (included configs).
 */
export async function startNginx(
  http: (port: number, dir: string) => string,
  files: Record<string, string> = {},
): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-nginx-'));
  mkdirSync(join(dir, 'logs'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  // As root, nginx would switch its workers to `nobody`, who cannot read a test's temp folders.
  const user = userInfo().uid === 0 ? 'user root;\n' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http(port, dir)}
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGQUIT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await untilAccepting(port, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, dir, stop };
}
