// The reading half of a connection: its input turned into request heads and body bytes, in
// order. Heads go to the owner one at a time; while a body is being read, input goes to it and no
// head is parsed. Flow control, deadlines and answers stay with the owner (connection.ts).
import { env } from 'node:process';
import type { ErrorCode } from '../util/errors.ts';
import { BodyFraming } from './body-framing.ts';
import type { Exchange } from './exchange.ts';
import { latin1Text } from '../util/byte-methods.ts';
import { ParsedHead, parseHead } from './head-parser.ts';
import { HeadScan } from './head-scan.ts';
import { InputBuffer } from './input-buffer.ts';
import type { Limits } from './limits.ts';

/** What the reader needs of its connection. */
export interface ReaderOwner {
  /** Too many requests wait for their responses: the owner pauses reading and says true. */
  pipelineFull(): boolean;
  /** A complete, valid head: the owner starts its exchange (and its body's framing, if any). */
  headParsed(head: ParsedHead): void;
  /** The input is not a valid request: the owner answers with `code` and stops reading; `head`: what was parsed of it, for the log. */
  refuse(code: ErrorCode, head?: ParsedHead): void;
  /** The body of `ex` broke its framing: the owner fails it and stops reading. */
  bodyBroken(ex: Exchange, code: ErrorCode): void;
  /** `bytes` of the body of `ex` were read (its framing is done when `framing.ex` is null). */
  bodyRead(ex: Exchange, bytes: number): void;
}

// Refusals decided once the request line was read: the log shows its method, target and protocol
// and the fields before the refusal (a Content-Length over the body limit, a method not implemented).
const REFUSED_AFTER_LINE: ReadonlySet<ErrorCode> = new Set(['FOYER_BODY_TOO_LARGE', 'FOYER_METHOD_NOT_IMPLEMENTED']);

/**
 * Test runs (test/run.mjs) freeze every head handed out, and its field list: a head is never
 * changed once parsed, and a write into one would otherwise be carried into the next request whose
 * bytes repeat it (the same object serves both). Frozen, the write throws where it is made.
 */
const FREEZE_HEADS = env.FOYER_FREEZE_HEADS === '1';

/** The largest head kept for the next request's repeats (parseHead's `prev`). */
const PREV_HEAD_MAX = 4096;

export class RequestReader {
  readonly input = new InputBuffer();
  readonly framing = new BodyFraming();
  readonly scan: HeadScan;
  /** A request that closes the connection, a refusal or a broken body: bytes after it are never parsed. */
  stopParsing = false;
  /** Nothing more is read at all. */
  ignoreInput = false;
  readonly #owner: ReaderOwner;
  readonly #limits: Limits;
  /** The previous request's head: a repeat of its Host, target or fields is parsed without new strings. */
  #prev: ParsedHead | undefined = undefined;
  /** #prev's bytes (latin1), taken when it was as long as the head before it; else undefined. */
  #prevBytes: string | undefined = undefined;
  /** The byte length of the last head parsed, whatever its size. */
  #prevLength = -1;
  #parsing = false;

  constructor(owner: ReaderOwner, limits: Limits) {
    this.#owner = owner;
    this.#limits = limits;
    this.scan = new HeadScan(limits);
  }

  /** Stops all reading: what is buffered is dropped. */
  stop(): void {
    this.framing.stop();
    this.input.buf = null;
    this.stopParsing = true;
    this.ignoreInput = true;
  }

  /** Parses what the input holds; false when a parse was already running (re-entry from a handler). */
  parse(): boolean {
    if (this.#parsing) return false;
    this.#parsing = true;
    try {
      this.#loop();
    } finally {
      this.#parsing = false;
    }
    return true;
  }

  #loop(): void {
    const limits = this.#limits;
    const input = this.input;
    const scan = this.scan;
    const owner = this.#owner;
    while (input.buf !== null && !this.ignoreInput) {
      const buf = input.buf;
      const pos = input.pos;
      const end = buf.length;
      if (pos >= end) {
        input.buf = null;
        break;
      }
      const bodyEx = this.framing.ex;
      if (bodyEx !== null) {
        const next = this.framing.feed(buf, pos, end, input);
        if (next < 0) {
          owner.bodyBroken(bodyEx, this.framing.error);
          return;
        }
        owner.bodyRead(bodyEx, next - pos);
        input.consumed(next);
        if (this.framing.ex !== null) break;
        continue;
      }
      if (this.stopParsing) {
        // Bytes after a request that closes the connection are never parsed (RFC 9112 §9.6).
        input.buf = null;
        break;
      }
      if (owner.pipelineFull()) break;
      const he = scan.scan(buf, pos, end);
      if (he < 0) {
        owner.refuse(scan.error);
        return;
      }
      if (he === 0) {
        input.consumed(scan.start);
        break;
      }
      const start = scan.start;
      const length = he - start;
      const prev = this.#prev;
      // A client that sends one head again and again (a poller, a health check, a load tool) sends
      // the same bytes: the previous head is this one's parse, for one native copy and compare of
      // the bytes. parseHead is a function of the bytes and the limits alone, and a parsed head is
      // never changed (test runs freeze it), so the same object serves both requests. Heads are
      // compared only when the previous one had the same length, so a client whose heads differ in
      // length (often a browser's) never pays for the copy.
      const bytes = prev !== undefined && length === this.#prevLength ? latin1Text(buf, start, he) : undefined;
      let head: ParsedHead;
      if (bytes !== undefined && bytes === this.#prevBytes) head = prev!;
      else {
        head = new ParsedHead();
        if (parseHead(buf, start, he, limits, head, prev?.host, prev) < 0) {
          const code = head.error ?? 'FOYER_BAD_REQUEST';
          owner.refuse(code, REFUSED_AFTER_LINE.has(code) ? head : undefined);
          return;
        }
        this.#prevBytes = bytes;
      }
      this.#prevLength = length;
      input.consumed(he);
      // Kept while the connection lives (idle keep-alive included): only a head of common size.
      this.#prev = length <= PREV_HEAD_MAX ? head : undefined;
      if (FREEZE_HEADS) Object.freeze(Object.freeze(head).headers);
      owner.headParsed(head);
    }
  }
}
