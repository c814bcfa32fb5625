// The access-log formats field by field against nginx's own, for the same raw requests: our own
// nginx (Debian's nginx-light) with its own prefix, conf and log under a temp folder, answering
// `return 200 "hello"`, and Foyer answering the same. Requests are a table of nasty inputs plus
// fast-check's: quotes, backslashes, tabs, UTF-8 and other high bytes in Referer and User-Agent,
// every RFC 3986 character in the target, HEAD and HTTP/1.0.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Server } from '../../src/server.ts';
import { exchange } from '../helpers/raw-client.ts';
import { start } from '../helpers/loopback-server.ts';
import { type RunningNginx, skipWithoutNginx, startNginx } from '../helpers/nginx.ts';

let dir: string;
let nginx: RunningNginx | undefined;
let foyer: Server;

async function startNginxFor(format: string): Promise<number> {
  nginx = await startNginx(
    (port) => `  log_format common '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent';
  access_log ${dir}/nginx-${format}.log ${format};
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "hello"; }
  }`,
  );
  return nginx.port;
}

async function stopNginx(): Promise<void> {
  await nginx?.stop();
  nginx = undefined;
}

/** Sends each request to nginx and to Foyer; returns both logs' lines without the time field. */
async function bothLogs(format: 'combined' | 'common', requests: Buffer[]): Promise<[string[], string[]]> {
  const path = join(dir, `foyer-${format}-${Date.now()}.log`);
  foyer = await start(() => new Response('hello'), { accessLog: { path, format } });
  const nginxPort = await startNginxFor(format);
  try {
    for (const raw of requests) {
      await exchange(nginxPort, raw, { quietMs: 30 });
      await exchange(foyer.address.port, raw, { quietMs: 30 });
    }
  } finally {
    await foyer.close();
    await stopNginx();
  }
  const strip = (l: string) => l.replace(/\[[^\]]+\]/, '[time]');
  const read = (p: string) => readFileSync(p, 'latin1').split('\n').filter(Boolean).map(strip);
  const nginxLines = read(join(dir, `nginx-${format}.log`));
  rmSync(join(dir, `nginx-${format}.log`));
  return [nginxLines, read(path)];
}

const get = (target: string, fields: string, version = '1.1') =>
  Buffer.concat([
    Buffer.from(`GET ${target} HTTP/${version}\r\nHost: x\r\n`, 'latin1'),
    Buffer.from(fields, 'latin1'),
    Buffer.from('\r\n'),
  ]);

const NASTY: Buffer[] = [
  get('/', ''),
  get('/a/b?x=1&y=%22q%22', 'Referer: http://example.com/"quoted"\r\nUser-Agent: Mozilla/5.0 (X11; "Linux")\r\n'),
  get('/', 'User-Agent: back\\slash \\x22 not an escape\r\n'),
  get('/', 'User-Agent: tab\tinside\r\nReferer: -\r\n'),
  get('/', `User-Agent: ${Buffer.from('café ☕ 日本', 'utf8').toString('latin1')}\r\n`),
  get('/', 'User-Agent: \x80\xff\xfe high bytes\r\n'),
  get('/', 'Referer: \r\n'),
  get("/~user/!$&'()*+,;=:@", ''),
  get('/q?%00%ff', 'User-Agent: a\r\n', '1.0'),
  Buffer.from('HEAD /head HTTP/1.1\r\nHost: x\r\nUser-Agent: h\r\n\r\n'),
  Buffer.from('POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'),
];

describe('access log formats against nginx', { skip: skipWithoutNginx }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'foyer-nginx-log-'));
    mkdirSync(join(dir, 'logs'));
  });
  after(async () => {
    await stopNginx();
    rmSync(dir, { recursive: true, force: true });
  });

  test('combined: every field as nginx writes it, for a table of nasty requests', async () => {
    const [want, got] = await bothLogs('combined', NASTY);
    assert.equal(want.length, NASTY.length);
    assert.deepEqual(got, want);
  });

  test('common: every field as nginx writes it', async () => {
    const [want, got] = await bothLogs('common', NASTY.slice(0, 4));
    assert.equal(want.length, 4);
    assert.deepEqual(got, want);
  });

  test('combined: generated Referer, User-Agent and targets escape as nginx escapes them', async () => {
    // Field values both servers accept: VCHAR, obs-text, and SP/HTAB between them (RFC 9110 §5.5).
    const vbyte = fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }));
    const value = fc
      .tuple(vbyte, fc.array(fc.oneof(vbyte, fc.constantFrom(0x20, 0x09)), { maxLength: 30 }), vbyte)
      .map(([a, mid, b]) => Buffer.from([a, ...mid, b]).toString('latin1'));
    const pchar = fc.constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@/".split(''), '%20', '%22', '%C3%A9', '?');
    const target = fc.array(pchar, { maxLength: 20 }).map((p) => `/${p.join('')}`);
    const requests = fc.sample(
      fc.tuple(target, value, value).map(([t, ref, ua]) => get(t, `Referer: ${ref}\r\nUser-Agent: ${ua}\r\n`)),
      { numRuns: 60, seed: 20261130 },
    );
    const [want, got] = await bothLogs('combined', requests);
    assert.equal(want.length, requests.length);
    for (let i = 0; i < want.length; i++)
      assert.equal(got[i], want[i], `request ${JSON.stringify(requests[i]!.toString('latin1'))}`);
  });
});
