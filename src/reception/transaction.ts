// What the engine tells an observer (the access log, metrics) about each request once it is over:
// answered (after its last byte was handed to the socket), refused by the parser, timed out, or
// abandoned by its client. Reception knows nothing about logs: the observer is one callback
// injected through serve options, called exactly once per request, with the exchange itself
// (no allocation per request for the record).
import type { Context } from '../types.ts';

/** Status logged for a request whose client went away before its response was sent (as nginx). */
export const CLIENT_CLOSED = 499;

/**
 * When is a client gone? One rule, decided by the connection, that every handler (app, FastCGI,
 * static) reads through `ctx.signal` / `ctx.aborted` and the log reads as 499:
 *  - a reset, or the socket closing, before a response was handed over: gone;
 *  - a FIN that arrives with the request's last bytes (within this many ms of the read that
 *    brought them was handled): a half-close, a client that sent everything and waits for the
 *    answer (`nc`, HTTP/1.0 tools, scripts; RFC 9112 §9.6 lets a client close its sending side):
 *    served, logged with its status;
 *  - a FIN after the client was silent that long: a client that gave up waiting: gone. TCP cannot
 *    tell a full close from a half-close (a write is the only probe), so the wait is the sign,
 *    as for nginx, which sees a FIN as a new event only once it is waiting on its upstream.
 * The margin covers the event loop's own delay between a read and the FIN behind it (measured
 * 3-22 ms on a loaded 2-core machine); clients that give up do so after seconds, not milliseconds.
 */
export const HALF_CLOSE_GRACE_MS = 100;

export interface Transaction {
  /** Date.now() when the first byte of the request head was seen. */
  readonly start: number;
  /** Date.now() when it was over (last byte handed to the socket, refused, or abandoned); read once per write batch. */
  readonly end: number;
  /** Method as received; '' when the request line could not be read. */
  readonly method: string;
  /** Request-target exactly as received; '' when unreadable. */
  readonly target: string;
  /** HTTP minor version (0 or 1); -1 when the request line could not be parsed. */
  readonly minor: number;
  /** For a request refused before it was parsed: what could be read of its request line (latin1). */
  readonly rawLine: string;
  /** Status sent (or 499 when the client left first). */
  readonly status: number;
  /** Body bytes handed to the socket (nginx's $body_bytes_sent). */
  readonly bytes: number;
  /** Request header fields as received, flat [name, value, …]; empty when not parsed. */
  readonly fields: readonly string[];
  /** The request's context (client address as decided, request id, user); undefined for refusals. */
  readonly ctx: Context | undefined;
  /** The connection's peer address, for refusals that have no context. */
  readonly peer: string;
}

export type TransactionHook = (tx: Transaction) => void;

/**
 * Finds a request field's value (its first occurrence, names compared ASCII case-insensitively) in a
 * flat [name, value, …] list. It remembers the spelling of the name it last matched and tries it
 * first: a client spells a name the same way on every request, and the head parser hands back the
 * same string while its bytes repeat, so the usual lookup is one identity compare. Case folding
 * costs ~25 instructions per character (callgrind). What it keeps: one name of the looked-up
 * name's length, made by the parser from a few bytes (not a view of a whole head).
 */
export class FieldFinder {
  readonly #lower: string;
  #spelling: string;

  constructor(lowerName: string) {
    this.#lower = lowerName;
    this.#spelling = lowerName;
  }

  value(fields: readonly string[]): string | undefined {
    const lower = this.#lower;
    const n = lower.length;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      if (name.length !== n) continue;
      if (name === this.#spelling) return fields[i + 1];
      if (sameToken(name, lower)) {
        this.#spelling = name;
        return fields[i + 1];
      }
    }
    return undefined;
  }
}

/** ASCII case-insensitive compare of a token with a lowercase name, without allocating. */
function sameToken(name: string, lower: string): boolean {
  for (let j = 0; j < lower.length; j++) {
    const c = name.charCodeAt(j);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(j)) return false;
  }
  return true;
}
