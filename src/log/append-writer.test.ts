// The access log's writer on its own: order and completeness under a backlog, whole lines per
// write, a destination that fails (a full disk, a path that cannot be opened), standard output
// through a pipe that is read slowly.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppendWriter } from './append-writer.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'foyer-append-writer-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const line = (i: number) => `line ${i} ${'x'.repeat(i % 97)}\n`;

describe('AppendWriter', () => {
  test('a backlog goes out in order and whole, however large (the buffer grows for it)', async () => {
    const path = join(dir, 'sub', 'backlog.log'); // the folder is made
    const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 24, bufferBytes: 1000 });
    let want = '';
    // Queued faster than written: the first batch waits for the file to open, the rest pile up.
    for (let i = 0; i < 3000; i++) {
      const text = line(i) + line(i + 1);
      want += text;
      w.write(text, 2);
    }
    await w.idle();
    await w.close();
    assert.equal(readFileSync(path, 'latin1'), want);
    assert.equal(w.lines, 6000);
    assert.equal(w.dropped, 0);
  });

  test('utf8 text is written as UTF-8; latin1 text one byte per char', async () => {
    const path = join(dir, 'utf8.log');
    const w = new AppendWriter({ path, encoding: 'utf8', maxPending: 1 << 20, bufferBytes: 64 });
    const text = `${'é€😀 '.repeat(40)}\n`.repeat(5);
    w.write(text, 5);
    await w.close();
    assert.equal(readFileSync(path, 'utf8'), text);
  });

  test('text beyond maxPending is dropped whole and counted, never queued', async () => {
    const path = join(dir, 'bounded.log');
    const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1000, bufferBytes: 1000 });
    // The file is not open yet: everything waits, up to the bound.
    for (let i = 0; i < 100; i++) w.write(`${'y'.repeat(99)}\n`, 1);
    assert.equal(w.lines, 10);
    assert.equal(w.dropped, 90);
    await w.close();
    assert.equal(readFileSync(path, 'latin1'), `${'y'.repeat(99)}\n`.repeat(10));
  });

  test('a full disk: the writes fail, their lines are counted as dropped, nothing throws', async (t) => {
    if (!existsSync('/dev/full')) return t.skip('/dev/full is not available');
    const w = new AppendWriter({ path: '/dev/full', encoding: 'latin1', maxPending: 1 << 20, bufferBytes: 1 << 16 });
    w.write('a\nb\n', 2);
    await w.idle();
    w.write('c\n', 1);
    await w.close();
    assert.equal(w.dropped, 3);
    assert.equal(w.lines, 0);
    assert.equal(w.lastError?.code, 'ENOSPC');
  });

  test('a failure told, then over, then back within a minute is not told again; after a minute it is', async (t) => {
    if (!existsSync('/dev/full')) return t.skip('/dev/full is not available');
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const told: string[] = [];
    const w = new AppendWriter({
      path: '/dev/full',
      encoding: 'latin1',
      maxPending: 1 << 20,
      bufferBytes: 1 << 16,
      onError: (err) => told.push(err.code ?? err.message),
    });
    // A write queued behind an open (a reopen) waits for it, and idle() for the write; only the
    // first open is not waited for by idle() (nothing is open yet): the first loss is polled for.
    const fails = async (text: string) => {
      w.write(text, 1);
      await w.idle();
    };
    w.write('a\n', 1);
    for (let i = 0; i < 500 && w.dropped === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await fails('b\n'); // the same failure while it lasts: told once
    assert.deepEqual(told, ['ENOSPC']);
    // A reopen that succeeds ends the failure; the same failure soon after is not told again…
    w.reopen();
    await fails('c\n');
    assert.deepEqual(told, ['ENOSPC']);
    // …until a minute has passed since it was.
    t.mock.timers.tick(60_000);
    w.reopen();
    await fails('d\n');
    assert.deepEqual(told, ['ENOSPC', 'ENOSPC']);
    await w.close();
    assert.equal(w.dropped, 4);
  });

  test('a path that cannot be opened drops what waited; reopen() once it can be opened writes again', async () => {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const path = join(blocker, 'x.log'); // its folder is a file: ENOTDIR, EEXIST
    const told: string[] = [];
    const w = new AppendWriter({
      path,
      encoding: 'latin1',
      maxPending: 1 << 20,
      bufferBytes: 1 << 16,
      onError: (err) => told.push(err.code ?? err.message),
    });
    w.write('lost\n', 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(w.lastError, 'the open error is kept');
    assert.equal(w.dropped, 1);
    // The same failure again (a reopen that fails the same way) is not told twice.
    w.reopen();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(told.length, 1, told.join());
    rmSync(blocker);
    w.write('kept\n', 1);
    w.reopen();
    await new Promise((r) => setTimeout(r, 50));
    await w.close();
    assert.equal(readFileSync(path, 'latin1'), 'kept\n');
    assert.deepEqual(told, [w.lastError?.code]);
  });

  test('a reopen that fails keeps writing to the file it had; close() counts what it could not write', async () => {
    const folder = join(dir, 'rotating');
    mkdirSync(folder);
    const path = join(folder, 'a.log');
    const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 20, bufferBytes: 1 << 16 });
    await new Promise((r) => setTimeout(r, 50)); // opened (idle() does not wait for an open)
    w.write('before\n', 1);
    await w.idle();
    // The rotation goes wrong: the folder moves away and a file stands where it was (ENOTDIR).
    renameSync(folder, `${folder}.moved`);
    writeFileSync(folder, '');
    w.reopen();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(w.lastError, 'the failed open is kept');
    for (let i = 0; i < 10; i++) w.write(`after ${i}\n`, 1);
    await w.close();
    assert.equal(
      readFileSync(join(`${folder}.moved`, 'a.log'), 'latin1'),
      `before\n${Array.from({ length: 10 }, (_, i) => `after ${i}\n`).join('')}`,
    );
    assert.deepEqual([w.lines, w.dropped], [11, 0]);

    // Never opened: what waited is dropped, and counted as such when the log closes.
    const never = new AppendWriter({
      path: join(folder, 'x.log'),
      encoding: 'latin1',
      maxPending: 1 << 20,
      bufferBytes: 64,
    });
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 5; i++) never.write('lost\n', 1);
    await never.close();
    assert.deepEqual([never.lines, never.dropped], [0, 5]);
  });

  test('a write cut short by the file size limit: the lines it wrote count, the cut line is ended', async (t) => {
    // RLIMIT_FSIZE (ulimit -f, in 1024-byte blocks) stops the write part-way with EFBIG, as a disk that
    // fills up does with ENOSPC. Node ignores SIGXFSZ.
    const file = join(dir, 'limited.log');
    const script = `import { AppendWriter } from ${JSON.stringify(new URL('./append-writer.ts', import.meta.url).href)};
      const w = new AppendWriter({ path: ${JSON.stringify(file)}, encoding: 'latin1', maxPending: 1 << 24, bufferBytes: 1 << 16 });
      await new Promise((r) => setTimeout(r, 50));
      let t = ''; for (let i = 0; i < 1500; i++) t += 'line ' + String(i).padStart(4, '0') + ' ' + 'y'.repeat(89) + '\\n';
      w.write(t, 1500);
      await w.idle();
      process.stdout.write(JSON.stringify({ lines: w.lines, dropped: w.dropped, code: w.lastError?.code }));`;
    const child = spawn(
      'bash',
      ['-c', 'ulimit -f 100 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    if (code !== 0 && /ulimit/.test(err)) return t.skip(`ulimit -f is not allowed here: ${err}`);
    assert.equal(code, 0, err);
    const r = JSON.parse(out) as { lines: number; dropped: number; code: string };
    const text = readFileSync(file, 'latin1');
    const whole = text.split('\n').filter((l) => l.length === 99).length;
    assert.equal(r.code, 'EFBIG');
    assert.equal(r.lines, whole, 'lines counts exactly the lines in the file');
    assert.equal(r.lines + r.dropped, 1500);
  });

  test("'-': standard output, through a pipe read slowly, receives every line whole and in order", async () => {
    const n = 20_000; // ~1.4 MB: many times a pipe's buffer
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { AppendWriter } from ${JSON.stringify(new URL('./append-writer.ts', import.meta.url).href)};
         const w = new AppendWriter({ path: '-', encoding: 'latin1', maxPending: 1 << 26, bufferBytes: 1 << 17 });
         for (let i = 0; i < ${n}; i++) w.write('line ' + i + ' ' + 'z'.repeat(60) + '\\n', 1);
         await w.close();
         process.stderr.write(JSON.stringify({ lines: w.lines, dropped: w.dropped }));`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    // Read a chunk, then nothing for a while: the child's writes fill the pipe and wait.
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      if (chunks.length % 8 === 0) {
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 5);
      }
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    const lines = Buffer.concat(chunks).toString('latin1').split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, n);
    for (let i = 0; i < n; i++) assert.equal(lines[i], `line ${i} ${'z'.repeat(60)}`);
    assert.deepEqual(JSON.parse(err), { lines: n, dropped: 0 });
  });

  /**
   * Two processes (workers) write 12,000 lines each of about 210 bytes to `dest`, in batches of 400
   * (84 KiB: past PIPE_BUF, and past a pipe's 64 KiB, so that every batch is written in parts),
   * while `reader` lets the pipe fill at first and then reads it slowly.
   * Every line must arrive whole: a pipe write of more than PIPE_BUF bytes is neither atomic nor
   * all-or-nothing when the pipe is full, so without the cut at lines two batches interleave. That
   * takes the two writers' retries to alternate inside a batch: with the cut removed, the FIFO case
   * went red in 4 of 5 runs and the '-' case in 3 of 3.
   */
  async function twoWriters(dest: string, reader: (child: ReturnType<typeof spawn>) => Readable): Promise<void> {
    const writer = `import { AppendWriter } from ${JSON.stringify(new URL('./append-writer.ts', import.meta.url).href)};
      process.stdout; // as the CLI does: node makes a pipe on fd 1 non-blocking
      const id = process.argv[1];
      const w = new AppendWriter({ path: ${JSON.stringify(dest)}, encoding: 'latin1', maxPending: 1 << 24, bufferBytes: 1 << 16 });
      for (let b = 0; b < 30; b++) {
        let text = '';
        for (let i = 0; i < 400; i++) text += id + ' ' + b + ' ' + i + ' ' + 'x'.repeat(200) + '\\n';
        w.write(text, 400);
        await new Promise((r) => setTimeout(r, 5));
      }
      await w.close();`;
    const node = `"${process.execPath}" --import tsx --input-type=module -e "$0"`;
    const child = spawn('bash', ['-c', `${node} A & ${node} B & wait`, writer], {
      stdio: ['ignore', dest === '-' ? 'pipe' : 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const input = reader(child);
    const chunks: Buffer[] = [];
    let got = 0;
    const all = new Promise<void>((resolve) => {
      // A slow reader at first (a busy log shipper): both writers' batches wait on a full pipe.
      input.pause();
      setTimeout(() => {
        input.on('data', (d: Buffer) => {
          chunks.push(d);
          for (const b of d) if (b === 0x0a) got++;
          if (got >= 24000) resolve();
          input.pause();
          setTimeout(() => input.resume(), 2);
        });
        input.resume();
      }, 500);
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    await all;
    const lines = Buffer.concat(chunks).toString('latin1').split('\n');
    assert.equal(lines.pop(), '');
    const bad = lines.filter((l) => !/^[AB] \d{1,2} \d{1,3} x{200}$/.test(l));
    assert.deepEqual(bad.slice(0, 3), []);
    assert.equal(lines.length, 24000);
  }

  test("'-' shared by two processes (workers on one pipe): every line arrives whole", async () => {
    await twoWriters('-', (child) => child.stdout!);
  });

  test('a FIFO shared by two processes: every line arrives whole', async (t) => {
    const path = fifo('shared.fifo');
    if (path === undefined) return t.skip('mkfifo is not available');
    // Our reader is there before the writers open the FIFO; a write end of our own keeps it from
    // reading end-of-file between one writer's close and the other's open.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const holder = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const input = new Socket({ fd, readable: true, writable: false });
    try {
      await twoWriters(path, () => input);
    } finally {
      input.destroy();
      closeSync(holder);
    }
  });

  // close() must end even when the destination takes nothing (server.close() waits for it), and
  // leave nothing behind that keeps the process from exiting (a thread blocked in node's pool).
  function fifo(name: string): string | undefined {
    const path = join(dir, name);
    try {
      execFileSync('mkfifo', [path]);
      return path;
    } catch {
      return undefined;
    }
  }

  /** Runs `body` (after `w` is made for `path`) in a child node, which must then exit by itself. */
  async function inChild(path: string, body: string): Promise<{ code: number | null; out: string; err: string }> {
    const script = `import { AppendWriter } from ${JSON.stringify(new URL('./append-writer.ts', import.meta.url).href)};
      import { constants, openSync } from 'node:fs';
      const path = ${JSON.stringify(path)};
      const report = (w) => console.log(JSON.stringify({ lines: w.lines, dropped: w.dropped, error: w.lastError?.code }));
      ${body}`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // Bounded: a child still there after 20 s is killed and the test fails on its exit code.
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(kill);
    return { code, out, err };
  }

  test('a FIFO without a reader: the lines are dropped and counted, close() resolves, the process exits', async (t) => {
    const path = fifo('no-reader.fifo');
    if (path === undefined) return t.skip('mkfifo is not available');
    const r = await inChild(
      path,
      `const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 20, bufferBytes: 1024 });
      for (let i = 0; i < 10; i++) w.write('line ' + i + '\\n', 1);
      await w.close(100);
      report(w);`,
    );
    assert.equal(r.code, 0, `the process did not exit by itself: ${r.err}`);
    assert.deepEqual(JSON.parse(r.out), { lines: 0, dropped: 10, error: 'ENXIO' });
  });

  test('a FIFO nobody reads: close(timeout) gives up, counts what waited, and the process exits', async (t) => {
    const path = fifo('unread.fifo');
    if (path === undefined) return t.skip('mkfifo is not available');
    // A reader that holds the FIFO open and never reads: the writer's pipe fills, then every write
    // would block (or return EAGAIN).
    const r = await inChild(
      path,
      `const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 24, bufferBytes: 1 << 16 });
      const big = ('z'.repeat(1023) + '\\n').repeat(1024);
      for (let i = 0; i < 4; i++) {
        w.write(big, 1024);
        await new Promise((r) => setTimeout(r, 20));
      }
      // A flush waiting when close() gives up is released too (once the write in flight returns).
      let idled = false;
      w.idle().then(() => (idled = true));
      process.on('beforeExit', () => console.log(JSON.stringify({ idled })));
      await w.close(200);
      report(w);`,
    );
    assert.equal(r.code, 0, `the process did not exit by itself: ${r.err}`);
    const [counts, atExit] = r.out.trim().split('\n');
    assert.deepEqual(JSON.parse(atExit!), { idled: true });
    const got = JSON.parse(counts!) as { lines: number; dropped: number };
    // A pipe holds 64 KiB: most of the 4 MiB cannot have been written, and all of it is accounted for.
    assert.ok(got.dropped > 0, counts);
    assert.equal(got.lines + got.dropped, 4 * 1024);
  });
});
