// php-fpm's STDERR records (FastCGI Specification §5.3) carry PHP warnings and errors. They go to
// the server log line by line, bounded per request: a script looping on a warning must not fill
// the disk or the heap. Bytes beyond the limit are counted and reported once.
import { Buffer } from 'node:buffer';
import type { Logger } from '../../log/logger.ts';

const MAX_LINE = 2048;

export class StderrLog {
  readonly #log: Logger;
  readonly #limit: number;
  readonly #script: string;
  #budget: number;
  #partial = '';
  #dropped = 0;

  constructor(log: Logger, limit: number, script: string) {
    this.#log = log;
    this.#limit = limit;
    this.#budget = limit;
    this.#script = script;
  }

  push(chunk: Uint8Array): void {
    if (this.#budget <= 0) {
      this.#dropped += chunk.length;
      return;
    }
    const take = Math.min(chunk.length, this.#budget);
    this.#budget -= take;
    this.#dropped += chunk.length - take;
    const text = this.#partial + Buffer.from(chunk.buffer, chunk.byteOffset, take).toString('utf8');
    const lines = text.split('\n');
    this.#partial = lines.pop()!.slice(0, MAX_LINE);
    for (const line of lines) this.#emit(line);
  }

  /** Logs what is left; call once when the exchange ends. */
  flush(): void {
    if (this.#partial !== '') this.#emit(this.#partial);
    this.#partial = '';
    if (this.#dropped > 0) {
      this.#log.warn(
        { script: this.#script, droppedBytes: this.#dropped, limit: this.#limit },
        'php-fpm stderr truncated',
      );
      this.#dropped = 0;
    }
  }

  #emit(line: string): void {
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === '') return;
    // Control characters could forge log lines in a text sink; pino escapes JSON, this covers others.
    const safe = trimmed.slice(0, MAX_LINE).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
    this.#log.warn({ script: this.#script, stderr: safe }, 'php-fpm stderr');
  }
}
