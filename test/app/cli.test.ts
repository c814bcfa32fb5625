// The `foyer` command line, run as a real process (src/cli.ts through tsx).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SERVE_OPTIONS } from '../../src/config/flags.ts';
import { SERVE_HELP } from '../../src/config/help.ts';
import { readyLine } from '../helpers/ready-line.ts';
import { makeTestCertificate, NO_OPENSSL } from '../helpers/test-certificate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/cli/', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function start(args: string[], cwd = fixtures): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs to completion (bounded); returns exit code and output. */
async function run(args: string[], cwd = fixtures): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args, cwd);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c) => (stdout += c));
  child.stderr?.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Starts a server and resolves with its origin once the ready line appears. */
async function serveUntilReady(
  args: string[],
  cwd = fixtures,
  logLevel = 'silent',
): Promise<{ child: ChildProcess; origin: string; lines: () => string[]; output: () => string }> {
  const child = start(['serve', '--port', '0', '--log-level', logLevel, ...args], cwd);
  const ready = await readyLine(child, 30_000);
  return {
    child,
    origin: ready.origin,
    lines: () => ready.stdout().split('\n').filter(Boolean),
    output: () => ready.stdout() + ready.stderr(),
  };
}

/** A client that asks for compression, as browsers and fetch() do: the app's responses go through it. */
function get(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'gzip, deflate, br');
  return fetch(url, { ...init, headers });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}

test('foyer --help and foyer serve --help exit 0 and document every flag', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /foyer serve \[root\]/);
  const serve = await run(['serve', '--help']);
  assert.equal(serve.code, 0);
  assert.equal(serve.stdout, SERVE_HELP);
  for (const name of Object.keys(SERVE_OPTIONS)) assert.match(SERVE_HELP, new RegExp(`--${name}\\b`), name);
});

test('an unknown flag exits 2 with the flag named and a suggestion', async () => {
  const r = await run(['serve', '--prot', '80']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --prot \(did you mean --port\?\)/);
  assert.equal(r.stdout, '');
});

test('a bad flag value exits 2 naming the flag and what was expected', async () => {
  const port = await run(['serve', '--port', '70000']);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port expects an integer from 0 to 65535/);
  const level = await run(['serve', '--log-level', 'loud']);
  assert.equal(level.code, 2);
  assert.match(level.stderr, /--log-level: expected one of "fatal".*got "loud"/);
  const size = await run(['serve', '--max-body-size', 'lots']);
  assert.equal(size.code, 2);
  assert.match(size.stderr, /--max-body-size expects a size/);
});

test('no command at all prints the help on stderr and exits 2', async () => {
  const r = await run([]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage:\n {2}foyer serve/);
  assert.equal(r.stdout, '');
});

test('an unknown command exits 2', async () => {
  const r = await run(['sevre']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "sevre" \(did you mean "serve"\?\)/);
});

test('an invalid config file exits 2 listing each path and expectation', async () => {
  const r = await run(['serve', '--config', 'bad.config.json']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /port: expected an integer from 0 to 65535, got 99999/);
  assert.match(r.stderr, /hots: unknown key \(did you mean "host"\?\)/);
  assert.match(r.stderr, /limits\.maxBodySize: expected an integer ≥ 0, got "1mb"/);
  assert.match(r.stderr, /tls\.key: required/);
});

test('a static root that does not exist exits 2 naming it', async () => {
  const r = await run(['serve', 'no-such-dir', '--no-config']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /static root does not exist: .*no-such-dir/);
});

test('--php without a document root exits 2', async () => {
  const r = await run(['serve', '--no-config', '--php', '127.0.0.1:9']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /php needs a document root/);
});

test('an app file that cannot be read exits 2', async () => {
  const r = await run(['serve', '--no-config', '--app', 'missing.ts']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--app: cannot read missing\.ts/);
});

test('serve prints one ready line, runs the app, then static files, then 404, and stops on SIGTERM', async () => {
  const { child, origin, lines } = await serveUntilReady(['public', '--no-config', '--app', 'app.ts']);
  try {
    const api = await get(`${origin}/api/ping`);
    assert.deepEqual(await api.json(), { pong: true });
    assert.equal(api.headers.get('x-app'), 'foyer');
    const file = await get(`${origin}/hello.txt`);
    assert.equal(await file.text(), 'hello from disk\n');
    // The app's middleware wraps the static files too: the app comes first.
    assert.equal(file.headers.get('x-app'), 'foyer');
    const missing = await get(`${origin}/nope`);
    assert.equal(missing.status, 404);
    await missing.text();
    // A method no layer takes on a file is 405 with Allow, not a 404 that denies the file exists.
    const post = await fetch(`${origin}/hello.txt`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.text();
  } finally {
    assert.equal(await stop(child), 0);
  }
  assert.equal(lines().length, 1);
});

test('a bare fetch handler comes before static files, and its 404 lets them answer', async () => {
  const { child, origin } = await serveUntilReady(['public', '--no-config', '--app', 'plain-app.mjs']);
  try {
    assert.equal(await (await get(`${origin}/plain`)).text(), 'plain handler');
    assert.equal(await (await get(`${origin}/hello.txt`)).text(), 'hello from disk\n');
    const miss = await get(`${origin}/neither`);
    assert.equal(miss.status, 404);
    assert.equal(await miss.text(), 'app says no');
  } finally {
    await stop(child);
  }
});

test('an unmodified Hono app keeps its statuses and headers through compression, and HEAD never claims an empty body', async () => {
  const { child, origin } = await serveUntilReady(['--no-config', '--app', 'hono-app.ts']);
  try {
    for (const code of [200, 201, 404, 418, 500]) {
      const r = await get(`${origin}/status/${code}`, { headers: { origin: 'http://example.com' } });
      assert.equal(r.status, code);
      assert.equal(r.headers.get('x-after'), 'yes');
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.ok(r.headers.get('content-encoding'), 'compressed');
      assert.equal(await r.text(), `status ${code} `.repeat(100));
    }
    const json = await get(`${origin}/json`);
    assert.deepEqual(await json.json(), { hello: 'world' });
    const head = await get(`${origin}/json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.ok(
      head.headers.get('content-length') === null || head.headers.get('content-length') === '17',
      `HEAD says content-length: ${head.headers.get('content-length')}`,
    );
  } finally {
    await stop(child);
  }
});

test('foyer.config.ts is found in the working directory and flags override it', async () => {
  // The config says port 1 and root "public"; --port 0 (added by serveUntilReady) must win.
  const { child, origin } = await serveUntilReady([]);
  try {
    assert.notEqual(new URL(origin).port, '1');
    assert.equal(await (await get(`${origin}/hello.txt`)).text(), 'hello from disk\n');
  } finally {
    await stop(child);
  }
});

test('the CLI runs from the repository root with a relative root and app', async () => {
  const { child, origin } = await serveUntilReady(
    ['test/app/fixtures/cli/public', '--app', 'test/app/fixtures/cli/app.ts', '--no-config'],
    root,
  );
  try {
    assert.equal((await get(`${origin}/hello.txt`)).status, 200);
  } finally {
    await stop(child);
  }
});

test('--tls-cert and --tls-key serve HTTPS', async (t) => {
  const tls = makeTestCertificate();
  if (tls === undefined) return t.skip(NO_OPENSSL);
  try {
    const { child, origin } = await serveUntilReady([
      'public',
      '--no-config',
      '--tls-cert',
      tls.certFile,
      '--tls-key',
      tls.keyFile,
    ]);
    try {
      assert.match(origin, /^https:/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = https.get(
          `${origin}/hello.txt`,
          { ca: tls.cert, servername: 'localhost', timeout: 5000 },
          (res) => {
            let data = '';
            res.on('data', (c) => (data += c));
            res.on('end', () => resolve(data));
          },
        );
        req.on('error', reject);
      });
      assert.equal(body, 'hello from disk\n');
    } finally {
      await stop(child);
    }
  } finally {
    tls.remove();
  }
});

test('a TLS key file that cannot be read exits 2', async () => {
  const r = await run(['serve', '--no-config', '--tls-cert', 'nope.pem', '--tls-key', 'nope.key']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read TLS certificate file nope\.pem/);
});

test('swapped --tls-cert and --tls-key exit 2 with one line naming the files', async (t) => {
  const tls = makeTestCertificate();
  if (tls === undefined) return t.skip(NO_OPENSSL);
  try {
    const r = await run(['serve', 'public', '--no-config', '--tls-cert', tls.keyFile, '--tls-key', tls.certFile]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /swapped/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack');
  } finally {
    tls.remove();
  }
});

test('a throw in a timer or an unhandled rejection in app code is logged and serving goes on', async () => {
  const { child, origin, output } = await serveUntilReady(['--no-config', '--app', 'crashy.ts'], fixtures, 'info');
  try {
    assert.equal(await (await fetch(`${origin}/throw-later`)).text(), 'ok /throw-later');
    assert.equal(await (await fetch(`${origin}/reject`)).text(), 'ok /reject');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(child.exitCode, null, 'the server is still running');
    assert.equal(await (await fetch(`${origin}/after`)).text(), 'ok /after');
    const logged = output();
    assert.match(logged, /thrown in a timer/);
    assert.match(logged, /nobody handles this/);
  } finally {
    await stop(child);
  }
});

test('SIGTERM lets an in-flight request finish before the process exits 0', async () => {
  const { child, origin } = await serveUntilReady(['public', '--no-config', '--app', 'app.ts']);
  const pending = get(`${origin}/slow`);
  // The request is in flight (the handler waits 300 ms) when the signal arrives.
  await new Promise((r) => setTimeout(r, 100));
  const code = stop(child);
  const res = await pending;
  assert.deepEqual(await res.json(), { slow: true });
  assert.equal(await code, 0);
});

test('--php spawn starts a private php-fpm, runs PHP through it, and stops it on SIGTERM', async (t) => {
  const { findPhpFpm } = await import('../../src/handlers/fastcgi/index.ts');
  if (findPhpFpm() === undefined) return t.skip('php-fpm is not installed (apt-get install php-fpm)');
  const dir = mkdtempSync(join(tmpdir(), 'foyer-cli-php-'));
  const { chmodSync, writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'index.php'), '<?php echo "php says ", 6 * 7, " on ", $_SERVER["REQUEST_URI"];');
  chmodSync(dir, 0o755); // readable by the php-fpm user when the tests run as root
  chmodSync(join(dir, 'index.php'), 0o644);
  const { child, origin } = await serveUntilReady([dir, '--php', 'spawn']);
  let masters: number[] = [];
  try {
    const res = await get(`${origin}/pretty/url?x=1`);
    assert.equal(await res.text(), 'php says 42 on /pretty/url?x=1');
    // php-fpm's master is a child of the foyer process.
    masters = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)])
      .toString()
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
    assert.ok(masters.length > 0, 'foyer started php-fpm');
  } finally {
    assert.equal(await stop(child), 0);
    rmSync(dir, { recursive: true, force: true });
  }
  const alive = masters.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, [], 'php-fpm stopped with foyer');
});
