// `--pid-file FILE`: the primary's (or single process's) pid, for `foyer reload` and init scripts.
import process from 'node:process';
import { closeSync, constants, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

/**
 * Writes this process's pid; returns the function that removes the file again (only if still ours).
 * The primary runs as root: a symlink planted where the pid file goes (`/tmp/foyer.pid` →
 * `/etc/shadow`) must not make it truncate another file, so a symlink is refused (O_NOFOLLOW, CWE-59).
 */
export function writePidFile(file: string): () => void {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;
  let fd: number;
  try {
    fd = openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`the pid file ${file} is a symbolic link: refusing to write through it`);
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  };
}

/** Reads a pid file; throws with a message naming the file when it is missing or malformed. */
export function readPidFile(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`cannot read the pid file ${file}`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${file} does not hold a process id`);
  return pid;
}

/** `foyer reload`: sends SIGHUP to the process in the pid file. */
export function signalReload(file: string): number {
  const pid = readPidFile(file);
  try {
    process.kill(pid, 'SIGHUP');
  } catch {
    throw new Error(`no Foyer process ${pid} (from ${file}) is running`);
  }
  return pid;
}
