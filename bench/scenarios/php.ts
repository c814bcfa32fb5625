// PHP through php-fpm: hello.php and a 64 KiB response through Foyer (the `foyer serve ROOT --php
// ADDR` command users run, from the tsc build), nginx (fastcgi_pass to an upstream with keepalive
// and fastcgi_keep_conn on) and Caddy (php_fastcgi) when installed, over TCP and over a unix
// socket. Each front gets its OWN php-fpm pool, identically configured (pm = static, same
// children): kept-alive connections of one front would pin the children of a shared pool and
// starve the next. CPU µs/req is the front's alone (php-fpm runs outside its process group).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPhpFpm, type PhpFpmProcess, spawnPhpFpm } from '../../src/handlers/fastcgi/php-fpm.ts';
import { freePort, processServer, which } from '../lib/child-server.ts';
import { foyerCli } from '../lib/foyer-cli.ts';
import { nginxPath, startNginx } from '../lib/nginx.ts';
import type { BenchServer, RunningServer, Scenario, StartOptions } from '../lib/types.ts';

const CHILDREN = Number(process.env.BENCH_PHP_CHILDREN ?? 4);

const root = mkdtempSync(join(tmpdir(), 'foyer-bench-php-'));
chmodSync(root, 0o755); // nginx's workers run unprivileged when started as root
writeFileSync(join(root, 'hello.php'), '<?php echo "Hello, World!";\n', { mode: 0o644 });
writeFileSync(join(root, '64k.php'), "<?php echo str_repeat('x', 65536);\n", { mode: 0o644 });
process.once('exit', () => rmSync(root, { recursive: true, force: true }));

const phpFpm = findPhpFpm();
const caddyPath = which('caddy');

type Transport = 'tcp' | 'unix';

/** nginx started as root runs its workers as `nobody`: they must be able to open the unix socket. */
function nginxWorkerIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a php-fpm pool, then the front; stop() ends both. */
async function withPool(
  listen: Transport,
  front: (fpm: PhpFpmProcess) => Promise<RunningServer>,
  socketOwner?: { uid: number; gid: number },
): Promise<RunningServer> {
  const fpm = await spawnPhpFpm({
    children: CHILDREN,
    listen,
    supervise: false,
    ...(socketOwner ? { socketOwner } : {}),
  });
  try {
    const running = await front(fpm);
    return {
      url: running.url,
      ...(running.pgid === undefined ? {} : { pgid: running.pgid }),
      async stop() {
        await running.stop();
        await fpm.stop();
      },
    };
  } catch (err) {
    await fpm.stop();
    throw err;
  }
}

function foyer(listen: Transport): BenchServer {
  return {
    label: 'foyer',
    start: (o?: StartOptions) =>
      withPool(listen, (fpm) => foyerCli([root, '--php', fpm.upstream, '--no-access-log'], o)),
  };
}

function nginx(listen: Transport): BenchServer {
  return {
    label: 'nginx',
    start: () =>
      withPool(
        listen,
        (fpm) =>
          startNginx(
            (port) => `  upstream php {
    server ${fpm.upstream};
    keepalive ${CHILDREN};
  }
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      fastcgi_pass php;
      fastcgi_keep_conn on;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
    }
  }`,
          ),
        listen === 'unix' ? nginxWorkerIds() : undefined,
      ),
  };
}

function caddy(listen: Transport): BenchServer {
  return {
    label: 'caddy',
    start: () =>
      withPool(listen, async (fpm) => {
        const port = await freePort();
        const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-caddy-php-'));
        const conf = join(dir, 'Caddyfile');
        // Caddy spells a unix upstream unix//path.
        const upstream = fpm.upstream.startsWith('unix:') ? `unix/${fpm.upstream.slice(5)}` : fpm.upstream;
        writeFileSync(
          conf,
          `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  root * ${root}
  php_fastcgi ${upstream}
}
`,
        );
        return processServer(caddyPath!, ['run', '--config', conf, '--adapter', 'caddyfile'], {
          port,
          env: { XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOME: dir },
          cleanup: () => rmSync(dir, { recursive: true, force: true }),
        });
      }),
  };
}

// FOYER_BENCH_BASELINE_CLI=other/dist/cli.js: another checkout's build beside this one, same run.
const baselineCli = process.env.FOYER_BENCH_BASELINE_CLI;
function foyerBaseline(listen: Transport, cli: string): BenchServer {
  return {
    label: 'foyer baseline',
    start: (o?: StartOptions) =>
      withPool(listen, (fpm) => foyerCli([root, '--php', fpm.upstream, '--no-access-log'], o, cli)),
  };
}

// FOYER_BENCH_PHP_UNBUFFERED=1: Foyer with fastcgi.responseBuffering off as well (what the
// overflow buffer for slow clients costs fast ones).
const unbufferedConfig = process.env.FOYER_BENCH_PHP_UNBUFFERED === '1' ? join(root, 'unbuffered.json') : undefined;
if (unbufferedConfig !== undefined) writeFileSync(unbufferedConfig, '{ "fastcgi": { "responseBuffering": false } }\n');
function foyerUnbuffered(listen: Transport, config: string): BenchServer {
  return {
    label: 'foyer unbuffered',
    start: (o?: StartOptions) =>
      withPool(listen, (fpm) => foyerCli([root, '--php', fpm.upstream, '--no-access-log', '--config', config], o)),
  };
}

function serversOver(listen: Transport): BenchServer[] {
  const list = [foyer(listen)];
  if (baselineCli !== undefined) list.push(foyerBaseline(listen, baselineCli));
  if (unbufferedConfig !== undefined) list.push(foyerUnbuffered(listen, unbufferedConfig));
  if (nginxPath) list.push(nginx(listen));
  if (caddyPath) list.push(caddy(listen));
  return list;
}
const byTransport = { tcp: serversOver('tcp'), unix: serversOver('unix') };
// Issue 13: ≥ 0.9× nginx with upstream keepalive, with a p99 no worse than nginx's.
const targets = [
  { peer: 'nginx', min: 0.9, maxP99Ratio: 1 },
  { peer: 'caddy', min: 3 },
].filter((t) => byTransport.tcp.some((s) => s.label === t.peer));
const skip = phpFpm === undefined ? 'php-fpm not installed (apt-get install php-fpm)' : undefined;

const pages = [
  { name: 'php-hello', path: '/hello.php', what: 'GET /hello.php' },
  { name: 'php-64k', path: '/64k.php', what: 'GET /64k.php (64 KiB response)' },
];
export const scenarios: Scenario[] = pages.flatMap((page) =>
  (['tcp', 'unix'] as const).map((listen) => ({
    name: listen === 'tcp' ? page.name : `${page.name}-unix`,
    description: `${page.what} through php-fpm over ${listen === 'tcp' ? 'TCP' : 'a unix socket'} (pm=static, ${CHILDREN} children per front), keep-alive`,
    path: page.path,
    // More connections than php-fpm children: the front queues, and its p99 shows how fairly.
    connections: 64,
    servers: byTransport[listen],
    targets,
    ...(skip ? { skip } : {}),
  })),
);
