// The access flags through the real `foyer` process: startup errors name what is wrong, and one
// client decision reaches address rules, rate limits, Basic auth and PHP.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipWithoutPhpFpm } from '../fastcgi/helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'foyer-cli-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let haveHtpasswd = true;
try {
  execFileSync('htpasswd', ['-nbB', 'x', 'y'], { stdio: 'ignore' });
} catch {
  haveHtpasswd = false;
}
const skipHtpasswd = haveHtpasswd ? false : 'htpasswd not installed (apt-get install apache2-utils)';

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--no-config', ...args], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = start(args);
  let stderr = '';
  child.stderr?.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

async function serveUntilReady(args: string[]): Promise<{ child: ChildProcess; origin: string }> {
  const child = start(['--port', '0', '--log-level', 'silent', ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (c) => (stderr += c));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${stderr}`)), 30_000);
    child.stdout?.on('data', (c) => {
      stdout += c;
      const m = /foyer listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return { child, origin };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = once(child, 'exit');
  child.kill('SIGTERM');
  await gone;
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('access flags', () => {
  test('bad access settings stop the server with exit code 2 and a message naming them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--allow', '10.0.0.0/33'], /10\.0\.0\.0\/33/],
      [['--trust-proxy', 'nonsense'], /nonsense/],
      [['--rate-limit', '10r/h'], /--rate-limit/],
      [['--rate-burst', '5'], /--rate-limit/],
      [['--realm', 'x'], /--basic-auth/],
      [['--basic-auth', join(dir, 'missing')], /cannot read/],
      [['--forwarded-header', 'x-real-ip'], /--forwarded-header/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message, args.join(' '));
    }
  });

  test('an htpasswd file with a plaintext password stops the server, naming the line', {
    skip: skipHtpasswd,
  }, async () => {
    const f = join(dir, 'weak');
    execFileSync('htpasswd', ['-cbB', f, 'good', 'x'], { stdio: 'ignore' });
    execFileSync('htpasswd', ['-bp', f, 'weak', 'hunter2'], { stdio: 'ignore' });
    const { code, stderr } = await run(['--basic-auth', f]);
    assert.equal(code, 2);
    assert.match(stderr, /weak:2: plaintext/);
    assert.doesNotMatch(stderr, /hunter2/);
  });

  test('behind a trusted proxy, rules, limits and auth all see the forwarded client', {
    skip: skipHtpasswd,
  }, async () => {
    const f = join(dir, 'users');
    execFileSync('htpasswd', ['-cbB', f, 'ann', 'pw'], { stdio: 'ignore' });
    const root = join(dir, 'www');
    execFileSync('mkdir', ['-p', root]);
    writeFileSync(join(root, 'index.html'), 'hi');
    const { child, origin } = await serveUntilReady([
      root,
      '--trust-proxy',
      'loopback',
      '--deny',
      '203.0.113.0/24',
      '--rate-limit',
      '1r/m',
      '--rate-burst',
      '1',
      '--basic-auth',
      f,
    ]);
    try {
      const from = (ip: string, auth = basic('ann', 'pw')) =>
        fetch(origin, { headers: { 'x-forwarded-for': ip, authorization: auth } }).then((r) => r.status);
      // The client's own forged entry on the left is not believed: the proxy's view is.
      assert.equal(await from('198.51.100.1, 203.0.113.9'), 403);
      assert.equal(await from('203.0.113.9, 198.51.100.1'), 200);
      assert.equal(await from('198.51.100.1'), 200);
      assert.equal(await from('198.51.100.1'), 429);
      assert.equal(await from('198.51.100.2', basic('ann', 'wrong')), 401);
    } finally {
      await stop(child);
    }
  });

  test('PHP sees the forwarded client, https, and the Basic auth user', {
    skip: skipHtpasswd || skipWithoutPhpFpm,
  }, async () => {
    const f = join(dir, 'php-users');
    execFileSync('htpasswd', ['-cbm', f, 'bo', 'pw'], { stdio: 'ignore' });
    const root = join(dir, 'php');
    execFileSync('mkdir', ['-p', root]);
    // Under root, the spawned php-fpm runs PHP as www-data: it must be able to read the script.
    chmodSync(dir, 0o755);
    writeFileSync(
      join(root, 'who.php'),
      '<?php echo json_encode([$_SERVER["REMOTE_ADDR"], $_SERVER["REMOTE_USER"] ?? null, $_SERVER["AUTH_TYPE"] ?? null, $_SERVER["HTTPS"] ?? null, $_SERVER["REMOTE_PORT"] ?? null]);',
    );
    const { child, origin } = await serveUntilReady([
      root,
      '--php',
      'spawn',
      '--trust-proxy',
      '127.0.0.1',
      '--basic-auth',
      f,
    ]);
    try {
      const res = await fetch(`${origin}/who.php`, {
        headers: { 'x-forwarded-for': '192.0.2.44', 'x-forwarded-proto': 'https', authorization: basic('bo', 'pw') },
      });
      // REMOTE_PORT: unknown (empty, as nginx's $remote_port) when the hop named none, never the proxy's.
      assert.deepEqual(await res.json(), ['192.0.2.44', 'bo', 'Basic', 'on', '']);
      const ported = await fetch(`${origin}/who.php`, {
        headers: { 'x-forwarded-for': '192.0.2.44:5555', authorization: basic('bo', 'pw') },
      });
      assert.deepEqual(await ported.json(), ['192.0.2.44', 'bo', 'Basic', null, '5555']);
      // The peer itself: its own port.
      const direct = (await (
        await fetch(`${origin}/who.php`, { headers: { authorization: basic('bo', 'pw') } })
      ).json()) as string[];
      assert.equal(direct[0], '127.0.0.1');
      assert.match(direct[4] ?? '', /^[1-9]\d*$/);
    } finally {
      await stop(child);
    }
  });
});
