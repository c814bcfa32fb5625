// Fixtures for the static handler tests, made at test time in a temp dir: hostile names (spaces,
// unicode, %, #, ?), symlinks in and out of the root, and a sibling directory sharing the root's prefix.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { StaticOptions } from '../../src/handlers/static/index.ts';
import { staticFiles } from '../../src/handlers/static/index.ts';
import { createContext } from '../../src/testing.ts';
import type { Next } from '../../src/types.ts';

export interface Tree {
  base: string;
  root: string;
  bigBin: Buffer;
  bigText: string;
  css: string;
  cleanup(): void;
}

export const HOSTILE_NAMES = ['with space.txt', 'ünïcödé.txt', '100%.txt', 'hash#tag.txt', 'what?.txt', 'quote\'".txt'];

export function makeTree(): Tree {
  const base = mkdtempSync(join(tmpdir(), 'foyer-static-'));
  const root = join(base, 'pub');
  const w = (rel: string, data: string | Buffer) => writeFileSync(join(root, rel), data);
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'docs'));
  mkdirSync(join(root, '.well-known'));
  mkdirSync(join(root, '.git'));
  mkdirSync(join(base, 'pub-secret'));
  writeFileSync(join(base, 'pub-secret', 'key.txt'), 'sibling secret\n');
  writeFileSync(join(base, 'outside.txt'), 'outside secret\n');
  w('a.txt', 'hello\n');
  w('index.html', '<!doctype html><title>home</title><h1>home</h1>\n');
  w('docs/index.html', '<h1>docs</h1>\n');
  w('sub/page.html', '<p>page</p>\n');
  w('sub/deeper/note.md', '# note\n');
  w('.env', 'SECRET=1\n');
  w('.git/config', '[core]\n');
  w('.well-known/security.txt', 'Contact: mailto:security@example.invalid\n');
  for (const n of HOSTILE_NAMES) w(n, `content of ${n}\n`);
  const bigBin = randomBytes(300 * 1024);
  w('big.bin', bigBin);
  const bigText = 'All work and no play makes Jack a dull boy.\n'.repeat(5000);
  w('big.txt', bigText);
  const css = 'body { color: red; }\n'.repeat(100);
  w('style.css', css);
  const js = 'console.log("precompressed");\n'.repeat(50);
  w('app.js', js);
  w('app.js.br', brotliCompressSync(js));
  w('app.js.gz', gzipSync(js));
  w('photo.png', randomBytes(2048));
  w('README.md', '# readme\n');
  w('file.txt', 'file\n');
  w('fold.txt', 'fold\n');
  w('script.php', '<?php echo 1;');
  symlinkSync(join(base, 'outside.txt'), join(root, 'link-out.txt'));
  symlinkSync(join(base, 'pub-secret'), join(root, 'dir-link-out'));
  symlinkSync(join(root, 'a.txt'), join(root, 'link-in.txt'));
  symlinkSync('loop', join(root, 'loop'));
  return { base, root, bigBin, bigText, css, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export type Mw = ReturnType<typeof staticFiles>;

export function handler(root: string, options: StaticOptions = {}): Mw {
  return staticFiles(root, options);
}

export interface Got {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Calls the middleware in-process, as the last handler (no next) unless `next` is given. */
export async function get(
  mw: Mw,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  next?: Next,
): Promise<Got> {
  const res = await mw(new Request(`http://x${path}`, { method, headers }), createContext(), next as Next);
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

/**
 * Path traversal attempts: [target as sent, acceptable statuses]. The engine may refuse some
 * targets itself (400); whatever answers, no secret may leak.
 */
export const TRAVERSAL_BATTERY: Array<[string, number[]]> = [
  ['/../outside.txt', [400]],
  ['/../../../../etc/passwd', [400]],
  ['/%2e%2e/outside.txt', [400]],
  ['/%2E%2E/%2E%2E/etc/passwd', [400]],
  ['/.%2e/outside.txt', [400]],
  ['/%252e%252e/outside.txt', [404]],
  ['/..%2foutside.txt', [400]],
  ['/..%2Foutside.txt', [400]],
  ['/sub/..%2f..%2foutside.txt', [400]],
  ['/..%5coutside.txt', [400]],
  ['/%5c..%5coutside.txt', [400]],
  ['/..\\outside.txt', [400]],
  ['//../outside.txt', [400, 404]], // the empty segment absorbs the `..`: /outside.txt, inside the root
  ['//outside.txt', [308]], // a second name of /outside.txt: redirected to it
  ['/sub/../../outside.txt', [400]],
  ['/./../outside.txt', [400]],
  ['/a.txt%00.html', [400]],
  ['/a.txt%00', [400]],
  ['/%c0%ae%c0%ae/outside.txt', [400]],
  ['/%c0%af', [400]],
  ['/%e0%80%ae%e0%80%ae/outside.txt', [400]],
  ['/link-out.txt', [403]],
  ['/loop', [404]],
  ['/loop/x', [404]],
  ['/dir-link-out/key.txt', [403]],
  ['/../pub-secret/key.txt', [400]],
  ['/%2e%2e/pub-secret/key.txt', [400]],
  ['/.env', [403]],
  ['/%2eenv', [308, 403]], // 308 to /.env (an escaped `.` is a second name), which is 403
  ['/sub/%2e%2e/.env', [308, 403]], // 308 to /.env in-process; over the wire req.url is /.env already
  ['http://127.0.0.1/../outside.txt', [400]],
];

/**
 * Calls the middleware with a request whose `url` keeps the target exactly as given: `new Request`
 * would normalise `..` and `%2e%2e` away before the handler saw them.
 */
export async function getRaw(mw: Mw, target: string): Promise<Got> {
  const url = target.startsWith('/') ? `http://x${target}` : target;
  const req = { method: 'GET', url, headers: new Headers() } as unknown as Request;
  const res = await mw(req, createContext());
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
