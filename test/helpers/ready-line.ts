// Waits for a started `foyer serve` to print its ready line and gives the origin it names. One
// place for every test that runs the real CLI: a server that never gets ready is killed (or the
// test file would never end), and one that exits first fails with what it printed.
import type { ChildProcess } from 'node:child_process';

export interface ReadyServer {
  origin: string;
  /** Everything the child printed on stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
}

const READY = /^foyer listening on (https?:\/\/\S+)\n/m;

/** Resolves once `child` prints `foyer listening on URL`; generous bound for a loaded machine. */
export function readyLine(child: ChildProcess, timeoutMs = 60_000): Promise<ReadyServer> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (err += c));
  const view = { stdout: () => out, stderr: () => err };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready in ${timeoutMs / 1000} s: ${err}`));
    }, timeoutMs);
    const onData = () => {
      const m = READY.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve({ origin: m[1]!, ...view });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready: ${err}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
