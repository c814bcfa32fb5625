// The command line's logs and admin listener, as a real process: the access log file and SIGUSR1,
// the startup summary (JSON when not a terminal, human lines with --log-format pretty), the admin
// listener's /health, and one-line errors (admin port in use, an unreadable TLS key, bad values).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sleep } from '../helpers/loopback-server.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const site = fileURLToPath(new URL('../app/fixtures/cli/public/', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'foyer-cli-observe-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  origin: string;
  stderr: () => string;
}

async function startCli(args: string[]): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'serve', site, '--port', '0', '--no-config', ...args],
    {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${stderr}`)), 20_000);
    child.stdout!.on('data', (c) => {
      stdout += c;
      const m = /^foyer listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m !== null && /foyer ready/.test(stderr)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', () => {
      const m = /^foyer listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m !== null && /foyer ready/.test(stderr)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return { child, origin, stderr: () => stderr };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

test('--access-log writes a line per request; SIGUSR1 reopens it; the summary names it (JSON off a terminal)', async () => {
  const path = join(dir, 'access.log');
  const { child, origin, stderr } = await startCli(['--access-log', path, '--admin', '127.0.0.1:0']);
  try {
    const summary = JSON.parse(
      stderr()
        .split('\n')
        .find((l) => l.includes('foyer ready'))!,
    ) as Record<string, string>;
    assert.equal(summary.accessLog, `${path} (combined)`);
    assert.match(summary.admin!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${summary.admin}/health`)).status, 200);
    const res = await fetch(`${origin}/hello.txt`);
    // Combined lines carry no request id, so no header promises one by default (json lines do).
    assert.equal(res.headers.get('x-request-id'), null);
    await sleep(400);
    renameSync(path, `${path}.1`);
    child.kill('SIGUSR1');
    await sleep(300);
    await fetch(`${origin}/missing`);
  } finally {
    await stop(child);
  }
  assert.match(
    readFileSync(`${path}.1`, 'utf8'),
    /^127\.0\.0\.1 - - \[.+\] "GET \/hello\.txt HTTP\/1\.1" 200 \d+ "-" "[^"]*"\n$/,
  );
  assert.match(
    readFileSync(path, 'utf8'),
    /^127\.0\.0\.1 - - \[.+\] "GET \/missing HTTP\/1\.1" 404 \d+ "-" "[^"]*"\n$/,
  );
});

test('--log-format pretty prints human lines: time, level, message, fields', async () => {
  const { child, stderr } = await startCli(['--log-format', 'pretty', '--no-access-log']);
  await stop(child);
  const ready = stderr()
    .split('\n')
    .find((l) => l.includes('foyer ready'))!;
  assert.match(
    ready,
    /^\d\d:\d\d:\d\d INFO {2}foyer ready on http:\/\/127\.0\.0\.1:\d+ root=\S+ workers=1 accessLog=off$/,
  );
  assert.ok(!stderr().includes('{"level"'));
});

/** Run as root (CI), the server first warns that it runs as root without --user: that line is expected. */
function withoutRootWarning(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.includes('running as root without --user'))
    .join('\n');
}

test('an admin address in use is one line naming it, exit 1, no stack', async () => {
  const busy = net.createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const port = (busy.address() as net.AddressInfo).port;
  try {
    const r = await runToExit(['serve', site, '--port', '0', '--no-config', '--admin', `127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    const err = withoutRootWarning(r.stderr);
    assert.equal(err.trim().split('\n').length, 1, r.stderr);
    assert.match(err, new RegExp(`^foyer: cannot listen: .*127\\.0\\.0\\.1:${port}\\n$`));
  } finally {
    busy.close();
  }
});

test('an invalid TLS key is one line naming the files, exit 2, no stack', async () => {
  const cert = join(dir, 'bad-cert.pem');
  const key = join(dir, 'bad-key.pem');
  writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
  writeFileSync(key, 'garbage');
  const r = await runToExit(['serve', site, '--port', '0', '--no-config', '--tls-cert', cert, '--tls-key', key]);
  assert.equal(r.code, 2);
  const err = withoutRootWarning(r.stderr);
  assert.equal(err.trim().split('\n').length, 1, r.stderr);
  assert.match(err, /^foyer: cannot use TLS certificate .*bad-cert\.pem with key .*bad-key\.pem/);
});

test('bad values for the new flags are named', async () => {
  const admin = await runToExit(['serve', '--no-config', '--admin', 'nowhere']);
  assert.equal(admin.code, 2);
  assert.match(admin.stderr, /--admin: expected HOST:PORT/);
  const format = await runToExit(['serve', '--no-config', '--access-log-format', 'apache']);
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--access-log-format: expected one of "combined", "common", "json"/);
  const both = await runToExit(['serve', '--no-config', '--access-log', 'x.log', '--no-access-log']);
  assert.equal(both.code, 2);
});
