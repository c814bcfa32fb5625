// The access log's writer on its own: order and completeness under a backlog, whole lines per
// write, a destination that fails (a full disk, a path that cannot be opened), standard output
// through a pipe that is read slowly.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
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

  test('a path that cannot be opened drops what waited; reopen() once it can be opened writes again', async () => {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const path = join(blocker, 'x.log'); // its folder is a file: ENOTDIR, EEXIST
    const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 20, bufferBytes: 1 << 16 });
    w.write('lost\n', 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(w.lastError, 'the open error is kept');
    assert.equal(w.dropped, 1);
    rmSync(blocker);
    w.write('kept\n', 1);
    w.reopen();
    await new Promise((r) => setTimeout(r, 50));
    await w.close();
    assert.equal(readFileSync(path, 'latin1'), 'kept\n');
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

  test("'-' shared by two processes (workers on one pipe): every line arrives whole", async () => {
    const writer = `import { AppendWriter } from ${JSON.stringify(new URL('./append-writer.ts', import.meta.url).href)};
      process.stdout; // as the CLI does: node makes a pipe on fd 1 non-blocking
      const id = process.argv[1];
      const w = new AppendWriter({ path: '-', encoding: 'latin1', maxPending: 1 << 24, bufferBytes: 1 << 16 });
      for (let b = 0; b < 10; b++) {
        let text = '';
        for (let i = 0; i < 150; i++) text += id + ' ' + b + ' ' + i + ' ' + 'x'.repeat(200) + '\\n';
        w.write(text, 150);
        await new Promise((r) => setTimeout(r, 5));
      }
      await w.close();`;
    const node = `"${process.execPath}" --import tsx --input-type=module -e "$0"`;
    const child = spawn('bash', ['-c', `${node} A & ${node} B & wait`, writer], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const chunks: Buffer[] = [];
    // A slow reader at first (a busy log shipper): both writers' batches wait on a full pipe.
    child.stdout.pause();
    setTimeout(() => {
      child.stdout.on('data', (d: Buffer) => {
        chunks.push(d);
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 2);
      });
      child.stdout.resume();
    }, 500);
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    const lines = Buffer.concat(chunks).toString('latin1').split('\n');
    assert.equal(lines.pop(), '');
    const bad = lines.filter((l) => !/^[AB] \d \d{1,3} x{200}$/.test(l));
    assert.deepEqual(bad.slice(0, 3), []);
    assert.equal(lines.length, 3000);
  });

  // close() must end even when the destination takes nothing (server.close() waits for it).
  function fifo(name: string): string | undefined {
    const path = join(dir, name);
    try {
      execFileSync('mkfifo', [path]);
      return path;
    } catch {
      return undefined;
    }
  }

  /**
   * Reads a FIFO until its writer closes it (EOF), or until `want` bytes came. Reads block (node's
   * thread pool) until there is data: a writer that never closes fails the test at the bound.
   */
  async function readSome(fifo: FileHandle, path: string, want = Number.POSITIVE_INFINITY): Promise<string> {
    const chunks: Buffer[] = [];
    let got = 0;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The read waiting in the thread pool would hold the process: a byte from another writer ends it.
        writeFileSync(path, '!', { flag: 'a' });
        reject(new Error('the writer never closed the FIFO'));
      }, 20_000);
    });
    try {
      while (got < want) {
        const { bytesRead, buffer } = await Promise.race([
          fifo.read(Buffer.alloc(Math.min(1 << 16, want - got)), 0, Math.min(1 << 16, want - got), null),
          bound,
        ]);
        if (bytesRead === 0) break;
        chunks.push(buffer.subarray(0, bytesRead));
        got += bytesRead;
      }
    } finally {
      clearTimeout(timer);
    }
    return Buffer.concat(chunks).toString('latin1');
  }

  /** close(timeout)'s promise, or false when it has not resolved within a bound far above the timeout. */
  async function closedWithin(w: AppendWriter, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 10_000);
    });
    const done = await Promise.race([w.close(timeoutMs).then(() => true), bound]);
    clearTimeout(timer);
    return done;
  }

  // The FIFO is always read to its end before asserting: a writer left blocked in node's thread
  // pool would keep the test process from exiting.
  test('close(timeout) gives up on a destination that never opens; the late open is closed', async (t) => {
    const path = fifo('never-read.fifo');
    if (path === undefined) return t.skip('mkfifo is not available');
    // No reader: opening it for writing waits (like a hung disk).
    const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 20, bufferBytes: 1024 });
    for (let i = 0; i < 10; i++) w.write(line(i), 1);
    const closed = await closedWithin(w, 100);
    const counts = { lines: w.lines, dropped: w.dropped };
    // A reader at last: the waiting open completes, and the writer closes what it opened (EOF).
    const reader = await open(path, 'r');
    let rest: string;
    try {
      rest = await readSome(reader, path);
    } finally {
      await reader.close();
    }
    assert.ok(closed, 'close(100) never resolved');
    assert.deepEqual(counts, { lines: 0, dropped: 10 });
    assert.equal(rest, '');
  });

  test('close(timeout) gives up on a write that blocks; what queued behind it is dropped and counted', async (t) => {
    const path = fifo('full.fifo');
    if (path === undefined) return t.skip('mkfifo is not available');
    // A reader that reads nothing yet: both opens complete together.
    const w = new AppendWriter({ path, encoding: 'latin1', maxPending: 1 << 24, bufferBytes: 1 << 16 });
    const reader = await open(path, 'r');
    const big = `${'z'.repeat(1023)}\n`.repeat(2048);
    let first: string;
    let rest: string;
    let closed: boolean;
    let counts: { lines: number; dropped: number };
    try {
      w.write(line(0), 1);
      // Open, and its first line out: read it (idle() would not wait for the open).
      first = await readSome(reader, path, line(0).length);
      // Far more than a pipe holds, in one write that blocks; then lines queued behind it.
      w.write(big, 2048);
      for (let i = 0; i < 10; i++) w.write(line(i), 1);
      closed = await closedWithin(w, 100);
      counts = { lines: w.lines, dropped: w.dropped };
      // The blocked write goes on once read, then the descriptor is closed (EOF).
      rest = await readSome(reader, path);
    } finally {
      await reader.close();
    }
    assert.equal(first, line(0));
    assert.ok(closed, 'close(100) never resolved');
    assert.deepEqual(counts, { lines: 1 + 2048, dropped: 10 });
    assert.equal(rest, big);
  });
});
