// One request/response pair on a connection: the unit of the in-order (pipelining) queue.
import type { RequestContext } from './context.ts';
import type { IncomingRequest } from './incoming-request.ts';
import type { RequestBody } from './request-body.ts';

export class Exchange {
  response: Response | undefined = undefined;
  /** A canned response (engine error) that replaces whatever the handler returns. */
  canned: string | undefined = undefined;
  ready = false;
  written = false;
  /** Expect: 100-continue was sent and not yet answered. */
  expectContinue = false;
  continueWanted = false;
  continueSent = false;

  constructor(
    readonly req: IncomingRequest | undefined,
    readonly ctx: RequestContext | undefined,
    readonly body: RequestBody | null,
    readonly isHead: boolean,
    readonly minor: number,
    public keepAlive: boolean,
  ) {}

  static canned(text: string): Exchange {
    const ex = new Exchange(undefined, undefined, null, false, 1, false);
    ex.canned = text;
    ex.ready = true;
    return ex;
  }
}
