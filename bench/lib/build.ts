// Compiles Foyer once per bench run, as `npm run build` does, into a cache folder inside
// node_modules (so that the output resolves the same dependencies and is never committed).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './child-server.ts';

export const buildDir = join(repoRoot, 'node_modules/.cache/foyer-bench/dist');
/** The bench's own server entries (peers, ceiling, engine-alone), compiled (see buildBenchServers). */
export const serversDir = join(repoRoot, 'node_modules/.cache/foyer-bench/servers');

/** Returns the path of the compiled index.js. */
export async function buildFoyer(): Promise<string> {
  rmSync(buildDir, { recursive: true, force: true });
  await tsc(['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', buildDir, '--declaration', 'false']);
  return join(buildDir, 'index.js');
}

/**
 * Compiles bench/servers/*.ts to plain JavaScript, so every server (every peer, the ceiling, the
 * engine alone) runs under plain `node`, as the CLI does. Under a tsx loader a process ran 1-10%
 * more instructions per request even after loading (callgrind, three pairs: a node:net server and
 * node:http), and only the peers paid it. Relative `.ts` imports become `.js` (the tsconfig's
 * rewriteRelativeImportExtensions); other files beside the entries (fixtures, .mjs apps) are linked.
 * Returns the folder that mirrors the repository root.
 */
export async function buildBenchServers(): Promise<string> {
  rmSync(serversDir, { recursive: true, force: true });
  const config = join(repoRoot, 'node_modules/.cache/foyer-bench/tsconfig.servers.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(repoRoot, 'tsconfig.json'),
      compilerOptions: { rootDir: repoRoot, outDir: serversDir, declaration: false, sourceMap: false },
      include: [join(repoRoot, 'bench/servers/*.ts')],
    }),
  );
  // Types are checked by `npm run lint`; here only the emit matters.
  await tsc(['-p', config, '--noCheck']);
  symlinkSync(join(repoRoot, 'bench/fixtures'), join(serversDir, 'bench/fixtures'));
  for (const name of readdirSync(join(repoRoot, 'bench/servers'))) {
    if (!name.endsWith('.ts'))
      symlinkSync(join(repoRoot, 'bench/servers', name), join(serversDir, 'bench/servers', name));
  }
  return serversDir;
}

function tsc(options: string[]): Promise<void> {
  const bin = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
  const args = [bin, ...options];
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc failed (${code}):\n${out}`))));
  });
}
