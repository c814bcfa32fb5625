// Runs the `foyer` command as users run it (`foyer serve [root] --app FILE`): the tsc build's
// dist/cli.js (see build.ts), or src/cli.ts through tsx with --source. Ready when it prints its
// `foyer listening on URL` line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildDir } from './build.ts';
import { repoRoot } from './child-server.ts';
import { attach } from './child-server.ts';
import type { RunningServer, StartOptions } from './types.ts';

const READY = 'foyer listening on ';

/** `cliPath`: another checkout's built cli.js (a baseline row) instead of this one's. */
export function foyerCli(args: string[], options: StartOptions = {}, cliPath?: string): Promise<RunningServer> {
  const cli =
    cliPath !== undefined
      ? [cliPath]
      : process.env.FOYER_BENCH_INDEX
        ? [join(buildDir, 'cli.js')]
        : ['--import', 'tsx', 'src/cli.ts'];
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      ...cli,
      'serve',
      ...args,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  return attach(child, 'foyer serve', READY);
}
