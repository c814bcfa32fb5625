// PHP through php-fpm: hello.php and a 64 KiB response through Foyer's FastCGI gateway, nginx
// (fastcgi_pass to an upstream with keepalive) and Caddy (php_fastcgi) when installed. Each front
// gets its OWN php-fpm pool, identically configured (pm = static, same children, 127.0.0.1 TCP):
// kept-alive connections of one front would pin the children of a shared pool and starve the next.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPhpFpm, type PhpFpmProcess, spawnPhpFpm } from '../../src/handlers/fastcgi/php-fpm.ts';
import { freePort, nodeServer, processServer, which } from '../lib/child-server.ts';
import { nginxPath, startNginx } from '../lib/nginx.ts';
import type { BenchServer, RunningServer, Scenario } from '../lib/types.ts';

const CHILDREN = Number(process.env.BENCH_PHP_CHILDREN ?? 4);

const root = mkdtempSync(join(tmpdir(), 'foyer-bench-php-'));
chmodSync(root, 0o755); // nginx's workers run unprivileged when started as root
writeFileSync(join(root, 'hello.php'), '<?php echo "Hello, World!";\n', { mode: 0o644 });
writeFileSync(join(root, '64k.php'), "<?php echo str_repeat('x', 65536);\n", { mode: 0o644 });
process.once('exit', () => rmSync(root, { recursive: true, force: true }));

const phpFpm = findPhpFpm();
const caddyPath = which('caddy');

/** Starts a php-fpm pool, then the front; stop() ends both. */
async function withPool(front: (fpm: PhpFpmProcess) => Promise<RunningServer>): Promise<RunningServer> {
  const fpm = await spawnPhpFpm({ children: CHILDREN, listen: 'tcp', supervise: false });
  try {
    const running = await front(fpm);
    return {
      url: running.url,
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

const foyer: BenchServer = {
  label: 'foyer',
  start: () =>
    withPool((fpm) =>
      nodeServer(new URL('../servers/php-foyer.ts', import.meta.url), {
        env: { PHP_ROOT: root, PHP_UPSTREAM: fpm.upstream, PHP_CONNECTIONS: String(CHILDREN) },
      }),
    ),
};

const nginx: BenchServer = {
  label: 'nginx',
  start: () =>
    withPool((fpm) =>
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
    ),
};

const caddy: BenchServer = {
  label: 'caddy',
  start: () =>
    withPool(async (fpm) => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-caddy-php-'));
      const conf = join(dir, 'Caddyfile');
      writeFileSync(
        conf,
        `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  root * ${root}
  php_fastcgi ${fpm.upstream}
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

const servers: BenchServer[] = [foyer];
if (nginxPath) servers.push(nginx);
if (caddyPath) servers.push(caddy);
const targets = [
  { peer: 'nginx', min: 0.8 },
  { peer: 'caddy', min: 3 },
].filter((t) => servers.some((s) => s.label === t.peer));
const skip = phpFpm === undefined ? 'php-fpm not installed (apt-get install php-fpm)' : undefined;

export const scenarios: Scenario[] = [
  {
    name: 'php-hello',
    description: `GET /hello.php through php-fpm (pm=static, ${CHILDREN} children per front), keep-alive`,
    path: '/hello.php',
    servers,
    targets,
    ...(skip ? { skip } : {}),
  },
  {
    name: 'php-64k',
    description: `GET /64k.php (64 KiB response) through php-fpm (pm=static, ${CHILDREN} children per front), keep-alive`,
    path: '/64k.php',
    servers,
    targets,
    ...(skip ? { skip } : {}),
  },
];
