// php-fpm must never outlive Foyer, however Foyer ends (SIGTERM, a crash, `kill -9`). Node cannot
// reach prctl(PR_SET_PDEATHSIG), so a tiny supervisor (plain node, no Foyer code) sits between
// them: it starts php-fpm in a process group of its own, and holds a pipe whose other end only
// Foyer has. When Foyer dies the kernel closes that end, the supervisor reads end-of-file and takes
// php-fpm's whole group down (SIGQUIT, then SIGKILL after a grace period). It also forwards
// SIGQUIT/SIGTERM, ignores the terminal's SIGINT/SIGHUP (Foyer decides), prints php-fpm's pid on
// stdout, and exits with php-fpm's status after killing the group (no orphaned children). When
// Foyer died, it also removes php-fpm's runtime directory (its config, socket and log), which
// Foyer's own stop would have removed: else every kill -9 or OOM kill leaves one in the temp dir.
// A restart after a crash waits out its backoff inside the next supervisor (it starts php-fpm
// after `delay` ms), so that some supervisor holds the lifeline at every moment: Foyer killed
// during the backoff still has its directory removed.
import process from 'node:process';
import type { Buffer } from 'node:buffer';
import { type ChildProcess, spawn } from 'node:child_process';

const SOURCE = `
const { spawn } = require('node:child_process');
const { rmdirSync, unlinkSync } = require('node:fs');
const { join } = require('node:path');
const [dir, files, delay, bin, ...args] = process.argv.slice(1);
// Tests only: a watchdog slow to report (starved of CPU) after it started php-fpm.
const reportDelay = Number(process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS) || 0;
// The runtime directory's known files, then the directory if empty: never a recursive removal.
const removeDir = () => {
  for (const f of files.split('/')) if (f !== '') try { unlinkSync(join(dir, f)); } catch {}
  try { rmdirSync(dir); } catch {}
};
// php-fpm, once started (undefined while the restart backoff runs).
let c;
const group = (sig) => { if (c !== undefined) try { process.kill(-c.pid, sig); } catch {} };
let down = false;
const takeDown = () => {
  if (down) return;
  down = true;
  if (c === undefined) process.exit(1);
  group('SIGQUIT');
  setTimeout(() => { group('SIGKILL'); process.exit(1); }, 3000).unref();
};
const start = () => {
  c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  c.on('error', () => process.exit(127));
  const report = () => process.stdout.write(c.pid + '\\n');
  c.on('spawn', () => { if (reportDelay > 0) setTimeout(report, reportDelay); else report(); });
  c.on('exit', (code, sig) => { group('SIGKILL'); process.exit(code ?? 128); });
};
if (Number(delay) > 0) setTimeout(start, Number(delay)); else start();
process.on('exit', () => { if (down && dir !== '') removeDir(); });
process.stdin.on('end', takeDown);
process.stdin.on('error', takeDown);
// Foyer's stop is a 'q' on the lifeline, not a signal: php-fpm finishes gracefully, and during the
// backoff there is nothing to stop (Foyer's stop removes the directory itself).
process.stdin.on('data', (d) => {
  if (!d.includes(113)) return;
  if (c === undefined) process.exit(0);
  c.kill('SIGQUIT');
});
process.stdin.resume();
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
// Signals are forwarded to php-fpm. During the backoff they change nothing: sent to the whole
// group (Ctrl-\\, a service manager), they end Foyer too, whose end (EOF) then removes the directory.
process.on('SIGQUIT', () => { if (c !== undefined) c.kill('SIGQUIT'); });
process.on('SIGTERM', () => {
  if (c === undefined) return;
  c.kill('SIGTERM');
  setTimeout(() => group('SIGKILL'), 3000).unref();
});
`;

export interface Watched {
  /** The supervisor; stop php-fpm with stopWatched(), signal it (SIGTERM, SIGKILL) to insist, never php-fpm directly. */
  proc: ChildProcess;
  /** php-fpm's pid, once started. */
  pid: Promise<number | undefined>;
}

/** php-fpm's runtime directory and the names of the files in it, which the watchdog removes if Foyer dies first. */
export interface RuntimeDir {
  dir: string;
  files: string[];
}

/**
 * Starts `binary args` under the watchdog, after `delayMs` (a restart's backoff); php-fpm's stderr
 * arrives on `proc.stderr`.
 */
export function spawnWatched(binary: string, args: string[], runtime?: RuntimeDir, delayMs = 0): Watched {
  const files = runtime?.files.filter((f) => f !== '' && !f.includes('/')) ?? [];
  const argv = [runtime?.dir ?? '', files.join('/'), String(Math.max(0, Math.floor(delayMs))), binary, ...args];
  const proc = spawn(process.execPath, ['-e', SOURCE, ...argv], {
    // stdin: the lifeline (written only by stopWatched); stdout: php-fpm's pid; stderr: php-fpm's stderr.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  // A write to a watchdog that just died fails (EPIPE): its 'exit' tells the rest.
  proc.stdin?.on('error', () => {});
  const pid = new Promise<number | undefined>((resolve) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      const n = Number.parseInt(out, 10);
      if (out.includes('\n') && Number.isInteger(n)) resolve(n);
    });
    proc.once('exit', () => resolve(undefined));
  });
  return { proc, pid };
}

/**
 * Stops php-fpm gracefully (SIGQUIT: children finish their request), or the watchdog at once while
 * a restart's backoff runs. Told over the lifeline rather than by a signal: the watchdog may not
 * have its handlers yet (a default SIGQUIT would dump core), and it must tell Foyer's stop from a
 * signal sent to the whole group.
 */
export function stopWatched(proc: ChildProcess): void {
  if (proc.stdin?.writable === true) proc.stdin.write('q');
}
