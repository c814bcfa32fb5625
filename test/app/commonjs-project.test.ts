// A project made by `npm init` is CommonJS: its app.ts and foyer.config.ts import 'foyer' and are
// compiled to CommonJS by tsx. Built Foyer (as installed from the registry) must serve them, with
// one copy of itself in the process. The package is built into a temp folder for this test.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
/** Every entry package.json exports, with one function each must have. */
const entries: [string, string][] = [
  ['foyer', 'serve'],
  ['foyer/php', 'fastcgi'],
  ['foyer/static', 'staticFiles'],
  ['foyer/testing', 'request'],
];
let dir: string;
let child: ChildProcess | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'foyer-cjs-'));
  const pkg = join(dir, 'foyer-pkg');
  mkdirSync(pkg);
  execFileSync(process.execPath, [
    join(repo, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(repo, 'tsconfig.build.json'),
    '--outDir',
    join(pkg, 'dist'),
  ]);
  cpSync(join(repo, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  const project = join(dir, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(project, 'node_modules', 'foyer'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', version: '1.0.0', main: 'index.js' }));
  writeFileSync(
    join(project, 'app.ts'),
    "import { App, json } from 'foyer';\nexport default new App().get('/', () => json({ ok: true }));\n",
  );
  writeFileSync(
    join(project, 'foyer.config.ts'),
    "import { defineConfig } from 'foyer';\nexport default defineConfig({ app: 'app.ts', port: 0 });\n",
  );
  writeFileSync(join(project, 'use.cjs'), "const foyer = require('foyer');\nconsole.log(typeof foyer.serve);\n");
  const names = JSON.stringify(entries);
  writeFileSync(
    join(project, 'entries.cjs'),
    `const out = {};\nfor (const [entry, name] of ${names}) out[entry] = typeof require(entry)[name];\nconsole.log(JSON.stringify(out));\n`,
  );
  writeFileSync(
    join(project, 'entries.mjs'),
    `const out = {};\nfor (const [entry, name] of ${names}) out[entry] = typeof (await import(entry))[name];\nconsole.log(JSON.stringify(out));\n`,
  );
  // Types: each entry's declarations resolve from a CommonJS project (tsc, NodeNext). The
  // expect-error lines fail the check if an entry's types were missing (everything `any`).
  writeFileSync(
    join(project, 'types.ts'),
    [
      "import { serve, type Handler } from 'foyer';",
      "import { fastcgi, parseUpstream, type FastCgiOptions } from 'foyer/php';",
      "import { staticFiles, nodeFs, type StaticFs } from 'foyer/static';",
      "import { createContext, request } from 'foyer/testing';",
      "const handler: Handler = () => new Response('ok');",
      "const options: FastCgiOptions = { upstream: parseUpstream('127.0.0.1:9000'), root: '.' };",
      'const fs: StaticFs = nodeFs;',
      "export const used = [serve, fastcgi, options, staticFiles, fs, createContext().remoteAddress, request(handler, '/')];",
      '// @ts-expect-error serve() takes options',
      'serve(1);',
      '// @ts-expect-error fastcgi() takes options',
      'fastcgi();',
      '// @ts-expect-error staticFiles() takes a root',
      'staticFiles(1);',
      '// @ts-expect-error request() takes an app',
      "request('/');",
      '',
    ].join('\n'),
  );
});

after(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('require("foyer") works from CommonJS', () => {
  const out = execFileSync(process.execPath, ['use.cjs'], { cwd: join(dir, 'project') }).toString();
  assert.equal(out.trim(), 'function');
});

test('every entry loads with require() and import() from a CommonJS project', () => {
  const cwd = join(dir, 'project');
  const expected = Object.fromEntries(entries.map(([entry]) => [entry, 'function']));
  for (const script of ['entries.cjs', 'entries.mjs']) {
    const out = execFileSync(process.execPath, [script], { cwd }).toString();
    assert.deepEqual(JSON.parse(out), expected, script);
  }
});

test('every entry has its types for a CommonJS TypeScript project', () => {
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
  args.push('--skipLibCheck', '--types', 'node', '--typeRoots', join(repo, 'node_modules/@types'), 'types.ts');
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd: join(dir, 'project') });
  } catch (err) {
    assert.fail(String((err as { stdout?: Buffer }).stdout ?? err));
  }
});

test('foyer serve runs a CommonJS project whose config and app import foyer', async () => {
  const cli = join(dir, 'foyer-pkg', 'dist', 'cli.js');
  child = spawn(process.execPath, [cli, 'serve', '--log-level', 'silent'], {
    cwd: join(dir, 'project'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (out += c));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${out}`)), 20_000);
    child!.stdout?.on('data', () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child!.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const res = await fetch(`${origin}/`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  child.kill('SIGTERM');
  await once(child, 'exit');
  child = undefined;
});
