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
});

after(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('require("foyer") works from CommonJS', () => {
  const out = execFileSync(process.execPath, ['use.cjs'], { cwd: join(dir, 'project') }).toString();
  assert.equal(out.trim(), 'function');
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
