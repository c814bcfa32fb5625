// `foyer serve --app workers-app.mjs [args…]` as a bench server: runs the CLI (compiled when the
// harness built Foyer, else the sources through tsx), and prints BENCH_READY once the CLI's ready
// line appears. Extra arguments (e.g. --workers 2) are passed on; FOYER_BENCH_CLI overrides the CLI
// (to measure another checkout). The primary and its workers share this process group, so the
// harness's CPU figure covers all of them.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const built = process.env.FOYER_BENCH_INDEX;
const cli =
  process.env.FOYER_BENCH_CLI ??
  (built ? join(dirname(built), 'cli.js') : fileURLToPath(new URL('../../src/cli.ts', import.meta.url)));
const app = fileURLToPath(new URL('./workers-app.mjs', import.meta.url));
const args = ['serve', '--no-config', '--no-compress', '--app', app, '--port', '0', '--log-level', 'warn'];
const child = spawn(
  process.execPath,
  [...(cli.endsWith('.ts') ? ['--import', 'tsx'] : []), cli, ...args, ...process.argv.slice(2)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let out = '';
child.stdout.on('data', (d: Buffer) => {
  out += d.toString();
  const m = /foyer listening on (http:\/\/\S+)\n/.exec(out);
  if (m) {
    process.stdout.write(`BENCH_READY ${m[1]}\n`);
    out = '';
  }
});
child.on('exit', (code) => process.exit(code ?? 1));
process.on('SIGTERM', () => child.kill('SIGTERM'));
