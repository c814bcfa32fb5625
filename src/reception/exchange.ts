// One request/response pair on a connection: the unit of the in-order (pipelining) queue. It is
// also the transaction record the observer receives (see transaction.ts).
import type { RequestContext } from './context.ts';
import type { IncomingRequest } from './incoming-request.ts';
import type { RequestBody } from './request-body.ts';
import type { Transaction } from './transaction.ts';

const NO_FIELDS: readonly string[] = [];

export class Exchange implements Transaction {
  response: Response | undefined = undefined;
  /** A canned response (engine error) that replaces whatever the handler returns. */
  canned: string | undefined = undefined;
  ready = false;
  written = false;
  /** Expect: 100-continue was sent and not yet answered. */
  expectContinue = false;
  continueWanted = false;
  continueSent = false;
  /** Stops the response body being written (set by the body pump while it reads one). */
  cancelBody: (() => void) | undefined = undefined;

  // Transaction record
  start = 0;
  end = 0;
  method = '';
  target = '';
  rawLine = '';
  status = 0;
  bytes = 0;
  fields: readonly string[] = NO_FIELDS;
  peer = '';
  /** The client had closed its side before the response was ready: logged as 499, as nginx does. */
  clientGone = false;
  /** The observer was told; never twice. */
  recorded = false;

  constructor(
    readonly req: IncomingRequest | undefined,
    readonly ctx: RequestContext | undefined,
    readonly body: RequestBody | null,
    readonly isHead: boolean,
    public minor: number,
    public keepAlive: boolean,
  ) {}

  /** An engine refusal: `bodyBytes` is the length of the canned body, for the log. */
  static canned(text: string, status = 0, bodyBytes = 0): Exchange {
    const ex = new Exchange(undefined, undefined, null, false, -1, false);
    ex.canned = text;
    ex.ready = true;
    ex.status = status;
    ex.bytes = bodyBytes;
    return ex;
  }
}
