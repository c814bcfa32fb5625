// Incremental FastCGI record decoder (FastCGI Specification §3.3). Socket reads split records
// anywhere: inside the 8-byte header, the content or the padding. Stream content (STDOUT, STDERR)
// is handed on as zero-copy slices of the read buffers; other records are small, and handed on whole:
// a slice when one read holds all of the content, else assembled. Memory is bounded: at most one
// non-stream record (≤ 65535 bytes) is held at a time.
import { FCGI_VERSION_1, HEADER_SIZE, STDERR, STDOUT } from './record.ts';

export class FastCgiProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FastCgiProtocolError';
  }
}

export interface RecordSink {
  /** A slice of a STDOUT/STDERR record's content; an empty slice is an end-of-stream record. */
  onStream(type: number, requestId: number, fragment: Uint8Array): void;
  /** Any other record, with its whole content: a view valid only during the call (copy to keep it). */
  onRecord(type: number, requestId: number, content: Uint8Array): void;
}

enum State {
  Header = 0,
  Content = 1,
  Padding = 2,
}

export class RecordDecoder {
  readonly #sink: RecordSink;
  readonly #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  #state = State.Header;
  #type = 0;
  #requestId = 0;
  #contentLength = 0;
  #contentLeft = 0;
  #paddingLeft = 0;
  /** The record is STDOUT or STDERR: its content is handed on in slices. */
  #stream = false;
  /** Assembly buffer for a non-stream record's content split across reads. */
  #record: Uint8Array | undefined;
  #recordFill = 0;

  constructor(sink: RecordSink) {
    this.#sink = sink;
  }

  /** True between records: a connection that ends here ended cleanly. */
  get atBoundary(): boolean {
    return this.#state === State.Header && this.#headerFill === 0;
  }

  /** At a boundary, or in the padding of a record already handed on (no record begun). */
  get betweenRecords(): boolean {
    return this.#state === State.Padding || this.atBoundary;
  }

  /** Feeds bytes; throws FastCgiProtocolError on a malformed header. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#state === State.Header) {
        // Fast path: a whole header in this chunk avoids the copy into #header.
        if (this.#headerFill === 0 && n - i >= HEADER_SIZE) {
          this.#beginRecord(chunk, i);
          i += HEADER_SIZE;
        } else {
          const take = Math.min(HEADER_SIZE - this.#headerFill, n - i);
          this.#header.set(chunk.subarray(i, i + take), this.#headerFill);
          this.#headerFill += take;
          i += take;
          if (this.#headerFill < HEADER_SIZE) return;
          this.#headerFill = 0;
          this.#beginRecord(this.#header, 0);
        }
        continue;
      }
      if (this.#state === State.Content) {
        const take = Math.min(this.#contentLeft, n - i);
        const at = i;
        i += take;
        this.#contentLeft -= take;
        if (this.#stream) {
          this.#sink.onStream(this.#type, this.#requestId, chunk.subarray(at, i));
          if (this.#contentLeft === 0) this.#afterContent();
        } else if (this.#contentLeft === 0 && this.#record === undefined) {
          // The whole content in one read: handed on as it is, no assembly. END_REQUEST's 8 bytes,
          // one per response, are copied into SMALL rather than sliced (a slice: see SMALL).
          if (take <= SMALL.length) {
            for (let k = 0; k < take; k++) SMALL[k] = chunk[at + k]!;
            this.#endContent(SMALL_VIEWS[take]!);
          } else this.#endContent(chunk.subarray(at, i));
        } else {
          this.#record ??= new Uint8Array(this.#contentLength);
          this.#record.set(chunk.subarray(at, i), this.#recordFill);
          this.#recordFill += take;
          if (this.#contentLeft === 0) this.#endContent(this.#record);
        }
        continue;
      }
      const skip = Math.min(this.#paddingLeft, n - i);
      i += skip;
      this.#paddingLeft -= skip;
      if (this.#paddingLeft === 0) this.#state = State.Header;
    }
  }

  #beginRecord(src: Uint8Array, at: number): void {
    if (src[at] !== FCGI_VERSION_1) throw new FastCgiProtocolError(`unsupported FastCGI version ${src[at]}`);
    this.#type = src[at + 1]!;
    this.#requestId = (src[at + 2]! << 8) | src[at + 3]!;
    this.#contentLength = (src[at + 4]! << 8) | src[at + 5]!;
    this.#contentLeft = this.#contentLength;
    this.#paddingLeft = src[at + 6]!;
    this.#stream = this.#type === STDOUT || this.#type === STDERR;
    this.#record = undefined;
    this.#recordFill = 0;
    if (this.#contentLeft === 0) {
      if (this.#stream) {
        this.#sink.onStream(this.#type, this.#requestId, EMPTY);
        this.#afterContent();
      } else this.#endContent(EMPTY);
      return;
    }
    this.#state = State.Content;
  }

  /** A non-stream record's whole content (a view the sink reads before it returns; it keeps none). */
  #endContent(content: Uint8Array): void {
    this.#record = undefined;
    this.#sink.onRecord(this.#type, this.#requestId, content);
    this.#afterContent();
  }

  #afterContent(): void {
    this.#state = this.#paddingLeft > 0 ? State.Padding : State.Header;
  }
}

const EMPTY = new Uint8Array(0);
/**
 * Where a non-stream record of up to 8 bytes is handed on (END_REQUEST, FastCGI §5.5; BEGIN_REQUEST
 * on the responder's side), through views made once per length: the sink reads the content during
 * the call and keeps none (RecordSink). A subarray per record cost about 600 instructions in
 * callgrind (node's typed-array species lookup, see reception/shared-reads.ts).
 */
const SMALL = new Uint8Array(8);
const SMALL_VIEWS = Array.from({ length: SMALL.length + 1 }, (_, n) => SMALL.subarray(0, n));
