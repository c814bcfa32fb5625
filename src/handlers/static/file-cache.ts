// The in-memory cache of one staticFiles instance: entries by raw URL path, bounded by entry
// count and by bytes held. Eviction is first-in-first-out: cheap on the hit path (no reordering),
// and a hot file evicted by a burst comes back on its next request.
import { internalized } from '../../util/flat-string.ts';
import type { FileEntry } from './file-entry.ts';

export class FileCache {
  readonly #entries = new Map<string, FileEntry>();
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  #bytes = 0;
  /** Resolutions in flight, so a burst of misses on one path reads the disk once. */
  readonly pending = new Map<string, Promise<unknown>>();

  constructor(maxBytes: number, maxEntries = 10_000) {
    this.#maxBytes = maxBytes;
    this.#maxEntries = maxEntries;
  }

  get(key: string): FileEntry | undefined {
    return this.#entries.get(key);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  set(key: string, entry: FileEntry): void {
    // The key is the request's path, cut from its URL: kept as a copy of its own, not as a view
    // that would keep the whole URL (a query of up to the request line's limit) for as long.
    key = internalized(key);
    this.delete(key);
    if (entry.bytes > this.#maxBytes) return;
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    // Compressed copies are made later; they count against the bound when they arrive.
    entry.onGrow = (n) => {
      if (this.#entries.get(key) === entry) {
        this.#bytes += n;
        this.#evict();
      }
    };
    this.#evict();
  }

  delete(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= old.bytes;
    old.onGrow = undefined;
  }

  #evict(): void {
    // Bounded: each turn removes one entry.
    for (const key of this.#entries.keys()) {
      if (this.#bytes <= this.#maxBytes && this.#entries.size <= this.#maxEntries) return;
      this.delete(key);
    }
  }
}
