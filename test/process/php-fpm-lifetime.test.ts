// `--php spawn`: one php-fpm for the server, supervised by the primary, that never outlives Foyer:
// not after a reload, a graceful stop, or kill -9 of the process that started it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipWithoutPhpFpm } from '../fastcgi/helpers.ts';
import { alive, descendants, getText, type Running, startFoyer, waitFor } from './helpers.ts';

const docroot = fileURLToPath(new URL('../fixtures/php/docroot', import.meta.url));

function phpFpmOf(foyer: Running): number[] {
  return descendants(foyer.pid)
    .filter((p) => p.comm.startsWith('php-fpm'))
    .map((p) => p.pid);
}

async function allGone(pids: number[]): Promise<void> {
  await waitFor('every php-fpm process to exit', () => (pids.some(alive) ? undefined : true), 15_000);
}

/** The directory of php-fpm's config, socket and log, named in its master's process title. */
function runtimeDirOf(foyer: Running): string {
  for (const { pid } of descendants(foyer.pid)) {
    const m = /(\/[^\s\0()]+)\/php-fpm\.conf/.exec(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
    if (m !== null) return m[1]!;
  }
  throw new Error('no php-fpm master among the descendants');
}

async function removed(dir: string): Promise<void> {
  await waitFor(`${dir} to be removed`, () => (existsSync(dir) ? undefined : true), 15_000);
}

test('kill -9 of a single-process Foyer takes its php-fpm down', { skip: skipWithoutPhpFpm }, async () => {
  const foyer = await startFoyer([docroot, '--php', 'spawn', '--port', '0']);
  try {
    assert.equal((await getText(`${foyer.origin}/hello.php`)).body, 'Hello, World!');
    const php = phpFpmOf(foyer);
    assert.ok(php.length >= 2, 'a master and its children');
    const dir = runtimeDirOf(foyer);
    assert.ok(existsSync(dir));
    await foyer.stop('SIGKILL');
    await allGone(php);
    await removed(dir);
  } finally {
    await foyer.stop('SIGKILL');
  }
});

test('with workers, php-fpm survives a reload, serves workers running as another user, and stops with Foyer', {
  skip: skipWithoutPhpFpm || (process.getuid?.() !== 0 ? 'needs root' : false),
}, async () => {
  const foyer = await startFoyer([docroot, '--php', 'spawn', '--port', '0', '--workers', '2', '--user', 'nobody']);
  try {
    assert.equal((await getText(`${foyer.origin}/hello.php`)).body, 'Hello, World!');
    const php = phpFpmOf(foyer);
    // pm = static: a master and 2 connections × 2 workers × 2 (old and new overlap in a reload).
    assert.equal(php.length, 1 + 8);
    foyer.child.kill('SIGHUP');
    await waitFor('the reload', () => (/reload done/.test(foyer.log()) ? true : undefined));
    assert.deepEqual(phpFpmOf(foyer).sort(), php.sort(), 'the same php-fpm after a reload');
    assert.equal((await getText(`${foyer.origin}/hello.php`)).body, 'Hello, World!');
    const dir = runtimeDirOf(foyer);
    // The workers reach the socket through the directory, but it stays root's: its owner could
    // swap it for a symlink, and root's removal of its files would follow it.
    const st = statSync(dir);
    assert.equal(st.uid, 0);
    assert.equal(st.mode & 0o777, 0o711);
    assert.equal(await foyer.stop('SIGTERM'), 0);
    await allGone(php);
    await removed(dir);
  } finally {
    await foyer.stop('SIGKILL');
  }
});

test('kill -9 of the primary takes php-fpm and the workers down', { skip: skipWithoutPhpFpm }, async () => {
  const foyer = await startFoyer([docroot, '--php', 'spawn', '--port', '0', '--workers', '2']);
  try {
    assert.equal((await getText(`${foyer.origin}/hello.php`)).body, 'Hello, World!');
    const all = descendants(foyer.pid).map((p) => p.pid);
    assert.ok(phpFpmOf(foyer).length > 0);
    const dir = runtimeDirOf(foyer);
    await foyer.stop('SIGKILL');
    await allGone(all);
    await removed(dir);
  } finally {
    await foyer.stop('SIGKILL');
  }
});

/** Processes whose command line names `dir` (php-fpm's master names its config there, a watchdog its directory). */
function naming(dir: string, comm: RegExp): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!comm.test(readFileSync(`/proc/${name}/comm`, 'latin1'))) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(dir)) found.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Whether `pid` has a handler for signal `n` (the SigCgt mask of /proc/PID/status); false once it is gone. */
function catches(pid: number, n: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? '0';
    return (BigInt(`0x${mask}`) & (1n << BigInt(n - 1))) !== 0n;
  } catch {
    return false;
  }
}

/** Seconds since boot: now, or when `pid` started (/proc/PID/stat field 22, in USER_HZ = 100 ticks). */
function sinceBoot(pid?: number): number {
  if (pid === undefined) return Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) / 100;
}

test('kill -9 during the restart backoff after php-fpm crashed still removes its runtime directory', {
  skip: skipWithoutPhpFpm,
}, async () => {
  const foyer = await startFoyer([docroot, '--php', 'spawn', '--port', '0']);
  try {
    assert.equal((await getText(`${foyer.origin}/hello.php`)).body, 'Hello, World!');
    const dir = runtimeDirOf(foyer);
    const php = phpFpmOf(foyer);
    const master = php.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('php-fpm.conf'));
    assert.ok(master !== undefined, 'the php-fpm master');
    process.kill(master, 'SIGKILL');
    // The restart waits 500 ms first, inside the next watchdog: Foyer dies in that wait, when no
    // php-fpm runs. A signal to that watchdog first must not cost the lifeline.
    await waitFor('the restart to be scheduled', () =>
      /php-fpm exited; restarting/.test(foyer.log()) ? true : undefined,
    );
    // (once it handles SIGQUIT: a process that has not yet set its handlers dies of any signal)
    for (const pid of naming(dir, /^node/)) {
      await waitFor('the watchdog to handle SIGQUIT', () => (catches(pid, 3) ? true : undefined));
      process.kill(pid, 'SIGQUIT');
    }
    const killedAt = sinceBoot();
    await foyer.stop('SIGKILL');
    await allGone(php);
    // Removed, and no php-fpm started for a Foyer that is gone (one started before, when this test
    // was too slow for the backoff, is the watchdog's to take down), watched until past the backoff.
    const watchUntil = Date.now() + 2_000;
    await waitFor(
      'the directory removed, past the backoff',
      () => {
        for (const pid of naming(dir, /^php-fpm/)) {
          let started: number;
          try {
            started = sinceBoot(pid);
          } catch {
            continue; // exited meanwhile
          }
          assert.ok(started <= killedAt + 0.05, `php-fpm ${pid} started after Foyer died`);
        }
        return existsSync(dir) || Date.now() < watchUntil ? undefined : true;
      },
      15_000,
    );
  } finally {
    await foyer.stop('SIGKILL');
  }
});
