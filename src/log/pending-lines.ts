// The access log's columns: what a line needs of each request, copied on the request path into
// preallocated typed arrays and arrays (no object per request, no exchange kept alive until the
// batch is written), and read back one row at a time as a Transaction for the line formatter.
import type { Transaction } from '../reception/transaction.ts';
import type { Context } from '../types.ts';

/** What a line needs of a request, kept until its batch is formatted (no exchange kept alive). */
export class Pending {
  readonly start: Float64Array;
  readonly time: Float64Array;
  readonly status: Uint16Array;
  readonly bytes: Float64Array;
  readonly minor: Int8Array;
  readonly method: string[];
  readonly target: string[];
  readonly rawLine: string[];
  readonly fields: (readonly string[])[];
  readonly peer: string[];
  readonly address: (string | undefined)[];
  readonly user: (string | undefined)[];
  readonly id: (string | undefined)[];

  constructor(n: number) {
    this.start = new Float64Array(n);
    this.time = new Float64Array(n);
    this.status = new Uint16Array(n);
    this.bytes = new Float64Array(n);
    this.minor = new Int8Array(n);
    this.method = new Array<string>(n).fill('');
    this.target = new Array<string>(n).fill('');
    this.rawLine = new Array<string>(n).fill('');
    this.fields = new Array<readonly string[]>(n).fill([]);
    this.peer = new Array<string>(n).fill('');
    this.address = new Array<string | undefined>(n).fill(undefined);
    this.user = new Array<string | undefined>(n).fill(undefined);
    this.id = new Array<string | undefined>(n).fill(undefined);
  }
}

/** A Transaction read back from the columns, one line at a time, for the formatter. */
export class Row implements Transaction {
  start = 0;
  end = 0;
  method = '';
  target = '';
  minor = 0;
  rawLine = '';
  status = 0;
  bytes = 0;
  fields: readonly string[] = [];
  peer = '';
  readonly #ctx = { remoteAddress: '', remoteUser: undefined as string | undefined, requestId: '' };
  #hasCtx = false;

  get ctx(): Context | undefined {
    return this.#hasCtx ? (this.#ctx as unknown as Context) : undefined;
  }

  load(p: Pending, i: number): void {
    this.start = p.start[i]!;
    this.end = p.time[i]!;
    this.method = p.method[i]!;
    this.target = p.target[i]!;
    this.minor = p.minor[i]!;
    this.rawLine = p.rawLine[i]!;
    this.status = p.status[i]!;
    this.bytes = p.bytes[i]!;
    this.fields = p.fields[i]!;
    this.peer = p.peer[i]!;
    const address = p.address[i];
    this.#hasCtx = address !== undefined;
    this.#ctx.remoteAddress = address ?? '';
    this.#ctx.remoteUser = p.user[i];
    this.#ctx.requestId = p.id[i] ?? '';
  }
}
