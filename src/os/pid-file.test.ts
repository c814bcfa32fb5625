import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readPidFile, writePidFile } from './pid-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'foyer-pid-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pid file', () => {
  test('writes the pid, replaces a stale one, and removes only its own', () => {
    const file = join(dir, 'foyer.pid');
    writeFileSync(file, '999999\n');
    const remove = writePidFile(file);
    assert.equal(readPidFile(file), process.pid);
    remove();
    assert.throws(() => readFileSync(file));
  });

  test('never writes through a symbolic link planted where the pid file goes', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const link = join(dir, 'planted.pid');
    symlinkSync(victim, link);
    assert.throws(() => writePidFile(link), /symbolic link/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });
});
