// `--php spawn`: Foyer's own php-fpm on a private unix socket, supervised.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fastcgi, parseUpstream, spawnPhpFpm } from '../../src/handlers/fastcgi/index.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { call, docroot, phpFpmBinary, skipWithoutPhpFpm, text } from './helpers.ts';

/** Whether hello.php is answered within about five seconds (a php-fpm just started may not be ready). */
async function servesHello(php: ReturnType<typeof fastcgi>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const a = await call(php, '/hello.php');
    if (a.status === 200 && (await text(a)) === 'Hello, World!') return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test('spawns php-fpm on a private socket, restarts it after a crash, stops it', {
  skip: skipWithoutPhpFpm,
}, async () => {
  const fpm = await spawnPhpFpm({ children: 2 });
  const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: fpm.children });
  try {
    const up = parseUpstream(fpm.upstream);
    assert.equal(up.kind, 'unix');
    const sock = (up as { path: string }).path;
    assert.equal(statSync(dirname(sock)).mode & 0o777, 0o700, 'socket directory is private');
    assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');

    const first = fpm.pid!;
    process.kill(first, 'SIGKILL');
    let restarted = false;
    for (let i = 0; i < 100 && !restarted; i++) {
      await new Promise((r) => setTimeout(r, 50));
      restarted = fpm.pid !== undefined && fpm.pid !== first;
    }
    assert.ok(restarted, 'supervisor started a new php-fpm');
    assert.ok(await servesHello(php), 'requests succeed after the restart');
  } finally {
    php.close();
    await fpm.stop();
  }
  assert.equal(fpm.pid, undefined);
});

/** Runs `body` with os.tmpdir() (which reads TMPDIR when called) in a directory of the test's own. */
async function inOwnTmpdir(prefix: string, body: (own: string) => Promise<void>): Promise<void> {
  const own = mkdtempSync(join(tmpdir(), prefix));
  const was = process.env.TMPDIR;
  process.env.TMPDIR = own;
  try {
    await body(own);
  } finally {
    if (was === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = was;
    rmSync(own, { recursive: true, force: true });
  }
}

test('a php-fpm that does not start leaves no runtime directory behind', async () => {
  await inOwnTmpdir('foyer-spawn-fail-', async (own) => {
    const lines: string[] = [];
    const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
    await assert.rejects(
      spawnPhpFpm({ binary: '/bin/false', startTimeout: 2000, log }),
      /php-fpm did not start: exited with 1/,
    );
    assert.deepEqual(readdirSync(own), []);
    // Not supervised: the caller has the error, and nothing says a restart is coming.
    assert.deepEqual(
      lines.filter((l) => /restart/.test(l)),
      [],
    );
  });
});

/** This process's children (those forked by its main thread), from /proc. */
function ownChildren(): number[] {
  const list = readFileSync(`/proc/self/task/${process.pid}/children`, 'latin1');
  return list.split(' ').filter(Boolean).map(Number);
}

test('a watchdog that never reports php-fpm started cannot hang the start: the start timeout ends it', {
  skip: process.platform !== 'linux' ? 'reads /proc' : false,
  // Without the bound the start waits for ever: this timeout is how the test goes red.
  timeout: 30_000,
}, async () => {
  await inOwnTmpdir('foyer-spawn-mute-', async (own) => {
    const before = new Set(ownChildren());
    // The watchdog is spawned before spawnPhpFpm's first wait (a unix socket needs no free port),
    // and node takes tens of milliseconds to boot it: stopped now, it has reported nothing.
    const starting = spawnPhpFpm({ binary: '/bin/false', startTimeout: 300 });
    const watchdogs = ownChildren().filter((p) => !before.has(p));
    assert.equal(watchdogs.length, 1, 'one watchdog spawned');
    process.kill(watchdogs[0]!, 'SIGSTOP');
    await assert.rejects(starting, /php-fpm did not start: its watchdog reported no start before the start timeout/);
    assert.deepEqual(readdirSync(own), [], 'runtime directory removed');
    await until('the stopped watchdog to be killed', () => !ownChildren().includes(watchdogs[0]!));
  });
});

test('an event loop that ran late past the start timeout is no failed start; an unbounded timeout waits', {
  skip: skipWithoutPhpFpm,
  timeout: 30_000,
}, async () => {
  const late = spawnPhpFpm({ children: 1, startTimeout: 300 });
  // Busy past the timeout while the watchdog starts php-fpm: its report waits in the pipe, read
  // only after the timers have run.
  const busyUntil = Date.now() + 2000;
  while (Date.now() < busyUntil) {}
  const fpm = await late;
  await fpm.stop();
  // Past setTimeout's range: no timer that fires at once.
  const unbounded = await spawnPhpFpm({ children: 1, startTimeout: Number.POSITIVE_INFINITY });
  await unbounded.stop();
});

/** Processes whose command line names `path` (php-fpm's title names its config), from /proc. */
function processesNaming(path: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(path)) out.push(Number(entry));
    } catch {}
  }
  return out;
}

test('a start that times out after the watchdog started php-fpm, unreported, leaves no php-fpm running', {
  skip: skipWithoutPhpFpm || (process.platform !== 'linux' ? 'reads /proc' : false),
  timeout: 30_000,
}, async () => {
  await inOwnTmpdir('foyer-spawn-unreported-', async (own) => {
    // A watchdog starved of CPU between starting php-fpm and reporting its pid, played by one told to wait.
    process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS = '60000';
    try {
      await assert.rejects(
        spawnPhpFpm({ children: 1, startTimeout: 1500 }),
        /its watchdog reported no start before the start timeout/,
      );
      // php-fpm leads a process group of its own: killing the watchdog alone left it running, reparented.
      await until('php-fpm to be gone', () => processesNaming(own).length === 0);
      assert.deepEqual(readdirSync(own), [], 'runtime directory removed');
    } finally {
      delete process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS;
      // Red runs: what is left under our own directory goes (php-fpm's master leads its group).
      for (const pid of processesNaming(own)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {}
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
  });
});

/**
 * A stand-in php-fpm in `own`: records its pid in `own/started`, writes a pid file in the runtime
 * directory naming `decoy` (a pid file a crashed master left, its pid now someone else's), then
 * sleeps, never opening a socket.
 */
function sleepyPhpFpm(own: string, decoy: number): string {
  const binary = join(own, 'php-fpm');
  writeFileSync(
    binary,
    `#!/bin/sh\necho $$ > '${own}/started'\necho ${decoy} > "$(dirname "$2")/php-fpm.pid"\nexec sleep 60\n`,
    { mode: 0o755 },
  );
  return binary;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

test("a start that times out kills what the watchdog started, found as its child; a pid file's stranger is left alone", {
  skip: process.platform !== 'linux' ? 'reads /proc' : false,
  timeout: 30_000,
}, async () => {
  await inOwnTmpdir('foyer-spawn-child-', async (own) => {
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    let started: number | undefined;
    process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS = '60000';
    try {
      const binary = sleepyPhpFpm(own, stranger.pid!);
      await assert.rejects(spawnPhpFpm({ binary, startTimeout: 1500 }), /reported no start/);
      started = Number(readFileSync(join(own, 'started'), 'latin1'));
      await until('the unreported php-fpm to be killed', () => !alive(started!));
      assert.ok(alive(stranger.pid!), 'the process a stale pid file names is not ours: not killed');
    } finally {
      delete process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS;
      stranger.kill('SIGKILL');
      if (started !== undefined && alive(started)) process.kill(started, 'SIGKILL');
      rmSync(join(own, 'started'), { force: true });
      rmSync(join(own, 'php-fpm'), { force: true });
    }
  });
});

test("a start that times out kills the master a pid file names when its title is this config's, though not the watchdog's child", {
  skip: process.platform !== 'linux' ? 'reads /proc' : false,
  timeout: 30_000,
}, async () => {
  await inOwnTmpdir('foyer-spawn-pidfile-', async (own) => {
    // The master in a session of its own (not the watchdog's child), titled as php-fpm titles it.
    const binary = join(own, 'php-fpm');
    writeFileSync(
      binary,
      `#!/bin/bash\nsetsid bash -c 'exec -a "php-fpm: master process ($0)" sleep 60' "$2" &\necho $! > "$(dirname "$2")/php-fpm.pid"\necho $! > '${own}/master'\nexec sleep 60\n`,
      { mode: 0o755 },
    );
    let master: number | undefined;
    process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS = '60000';
    try {
      await assert.rejects(spawnPhpFpm({ binary, startTimeout: 1500 }), /reported no start/);
      master = Number(readFileSync(join(own, 'master'), 'latin1'));
      await until('the master named by the pid file to be killed', () => !alive(master!));
    } finally {
      delete process.env.FOYER_WATCHDOG_REPORT_DELAY_FOR_TESTS;
      if (master !== undefined && alive(master)) process.kill(master, 'SIGKILL');
      for (const f of ['master', 'php-fpm']) rmSync(join(own, f), { force: true });
    }
  });
});

test('a start that fails for want of a socket has killed php-fpm when it rejects: a caller may exit at once', {
  skip: process.platform !== 'linux' ? 'reads /proc' : false,
  timeout: 30_000,
}, async () => {
  await inOwnTmpdir('foyer-spawn-exit-', async (own) => {
    const binary = sleepyPhpFpm(own, 0);
    const script = join(own, 'caller.mts');
    const entry = new URL('../../src/handlers/fastcgi/index.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { spawnPhpFpm } from '${entry}';\nspawnPhpFpm({ binary: '${binary}', startTimeout: 800 }).then(() => process.exit(0), () => process.exit(3));\n`,
    );
    let started: number | undefined;
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        env: { ...process.env, TMPDIR: own },
      });
      assert.equal(r.status, 3, r.stderr);
      started = Number(readFileSync(join(own, 'started'), 'latin1'));
      await until('php-fpm to be gone', () => !alive(started!));
    } finally {
      if (started !== undefined && alive(started)) process.kill(started, 'SIGKILL');
      for (const f of ['started', 'php-fpm', 'caller.mts']) rmSync(join(own, f), { force: true });
    }
  });
});

test('a startTimeout that is not a positive number is refused', async () => {
  for (const startTimeout of [Number.NaN, 0, -1, '500' as unknown as number]) {
    await assert.rejects(spawnPhpFpm({ binary: '/bin/false', startTimeout }), /startTimeout must be a positive number/);
  }
});

/** php-fpm behind a script that exits 1 while `fail` exists, in a directory of the test's own. */
function failingPhpFpm(): { binary: string; fail: string; dir: string; lines: string[]; log: Logger } {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-spawn-again-'));
  const fail = join(dir, 'fail');
  const binary = join(dir, 'php-fpm');
  writeFileSync(binary, `#!/bin/sh\n[ -e '${fail}' ] && exit 1\nexec '${phpFpmBinary}' "$@"\n`, { mode: 0o755 });
  const lines: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
  return { binary, fail, dir, lines, log };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a start after kill() that fails is the caller's error: no restart loop follows", {
  skip: skipWithoutPhpFpm,
}, async () => {
  const { binary, fail, dir, lines, log } = failingPhpFpm();
  const fpm = await spawnPhpFpm({ binary, children: 1, log });
  try {
    await fpm.kill();
    writeFileSync(fail, '');
    await assert.rejects(fpm.start(), /php-fpm did not start: exited with 1/);
    assert.deepEqual(
      lines.filter((l) => /restart/.test(l)),
      [],
    );
  } finally {
    await fpm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a restart that fails is tried again, backing off, until php-fpm serves', {
  skip: skipWithoutPhpFpm,
}, async () => {
  const { binary, fail, dir, lines, log } = failingPhpFpm();
  const fpm = await spawnPhpFpm({ binary, children: 1, log });
  const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 1 });
  try {
    const first = fpm.pid!;
    writeFileSync(fail, '');
    process.kill(first, 'SIGKILL');
    await until('two failed restarts', () => lines.filter((l) => /php-fpm restart failed/.test(l)).length >= 2);
    rmSync(fail);
    await until('a new php-fpm', () => fpm.pid !== undefined && fpm.pid !== first);
    assert.ok(await servesHello(php), 'requests succeed once a restart worked');
  } finally {
    php.close();
    await fpm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stop() during the restart backoff ends it quietly: nothing started, nothing reported failed', {
  skip: skipWithoutPhpFpm,
}, async () => {
  const lines: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
  const fpm = await spawnPhpFpm({ children: 1, log });
  const dir = dirname((parseUpstream(fpm.upstream) as { path: string }).path);
  try {
    process.kill(fpm.pid!, 'SIGKILL');
    await until('the restart to be scheduled', () => lines.some((l) => /php-fpm exited; restarting/.test(l)));
  } finally {
    await fpm.stop();
  }
  assert.equal(fpm.pid, undefined);
  assert.deepEqual(
    lines.filter((l) => /restart failed/.test(l)),
    [],
  );
  assert.equal(existsSync(dir), false);
});

test('stopping removes the files it made, not what else was put in the directory', {
  skip: skipWithoutPhpFpm,
}, async () => {
  const fpm = await spawnPhpFpm({ children: 1 });
  const dir = dirname((parseUpstream(fpm.upstream) as { path: string }).path);
  // With --user the directory belongs to the workers' user: what they put there is theirs.
  mkdirSync(join(dir, 'planted'));
  writeFileSync(join(dir, 'planted', 'keep'), 'x');
  await fpm.stop();
  assert.deepEqual(readdirSync(dir), ['planted']);
  assert.equal(readFileSync(join(dir, 'planted', 'keep'), 'utf8'), 'x');
  rmSync(dir, { recursive: true, force: true });
});
