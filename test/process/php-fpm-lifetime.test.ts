// `--php spawn`: one php-fpm for the server, supervised by the primary, that never outlives Foyer:
// not after a reload, a graceful stop, or kill -9 of the process that started it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
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
    // The restart waits 500 ms first: Foyer dies in that wait, when no php-fpm runs.
    await waitFor('the restart to be scheduled', () =>
      /php-fpm exited; restarting/.test(foyer.log()) ? true : undefined,
    );
    await foyer.stop('SIGKILL');
    await allGone(php);
    await removed(dir);
  } finally {
    await foyer.stop('SIGKILL');
  }
});
