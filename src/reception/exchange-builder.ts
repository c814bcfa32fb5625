// From a parsed head to what a handler receives: the request URL, the context (where the client
// decision of trusted proxies is made, once, before any handler), the IncomingRequest, and the
// Exchange that carries them through the pipeline queue into the transaction record.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.ts';
import type { ErrorCode } from '../util/errors.ts';
import { acceptableRequestId } from '../util/request-id.ts';
import type { ConnectionConfig } from './connection-config.ts';
import { RequestContext } from './context.ts';
import { Exchange } from './exchange.ts';
import type { ParsedHead } from './head-parser.ts';
import { IncomingRequest } from './incoming-request.ts';
import { peerName } from '../util/peer-name.ts';
import type { RequestBody } from './request-body.ts';
import { RequestUrls } from './request-url.ts';
import { FieldFinder } from './transaction.ts';

/**
 * The last client address seen. Connections from one client then carry one string, and what is
 * compared per request after (the access log's line head, the rate limit's key) finds it identical
 * without comparing its characters. It holds one address.
 */
let lastAddress = '';
const sharedAddress = (a: string): string => (a === lastAddress ? lastAddress : (lastAddress = a));

/** Shared by every connection of the process (one thread): it only remembers a spelling. */
const REQUEST_ID_FIELD = new FieldFinder('x-request-id');

export class ExchangeBuilder {
  readonly #cfg: ConnectionConfig;
  readonly #describes: boolean;
  readonly #init: {
    remoteAddress: string;
    remotePort: number;
    localAddress: string;
    localPort: number;
    secure: boolean;
    log: Logger;
  };
  readonly #urls: RequestUrls;

  constructor(socket: Socket, cfg: ConnectionConfig) {
    this.#cfg = cfg;
    this.#describes = cfg.onTransaction !== undefined;
    const localAddress = socket.localAddress ?? '127.0.0.1';
    const localPort = socket.localPort ?? 0;
    const peer = peerName(socket);
    this.#init = {
      remoteAddress: sharedAddress(peer.address),
      remotePort: peer.port,
      localAddress,
      localPort,
      secure: cfg.secure,
      log: cfg.log,
    };
    const hostPart = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
    this.#urls = new RequestUrls(`${cfg.secure ? 'https' : 'http'}://`, `${hostPart}:${localPort}`);
  }

  /** The peer's address as the socket sees it. */
  get peer(): string {
    return this.#init.remoteAddress;
  }

  /** The request's absolute URL; undefined when the URL parser refuses its target or Host (see `refusal`). */
  url(head: ParsedHead): string | undefined {
    return this.#urls.build(head);
  }

  /** Why the last url() was undefined. */
  get refusal(): ErrorCode {
    return this.#urls.refused === 'host' ? 'FOYER_BAD_HOST' : 'FOYER_BAD_TARGET';
  }

  /** The request's context; the client decision (trusted proxies) is made here, once, before any handler. */
  context(head: ParsedHead): RequestContext {
    const resolve = this.#cfg.resolveClient;
    if (resolve === undefined) return new RequestContext(this.#init);
    const init = this.#init;
    return new RequestContext({ ...init, ...resolve(init.remoteAddress, init.secure, head.headers) });
  }

  /** A request for the handler, with the exchange that will carry its response. */
  exchange(head: ParsedHead, url: string, body: RequestBody | null, keepAlive: boolean, start: number): Exchange {
    const ctx = this.context(head);
    const req = new IncomingRequest(head.method, url, head.headers, body, ctx, head.target);
    const ex = new Exchange(req, ctx, body, head.method === 'HEAD', head.minor, keepAlive);
    if (this.#describes) this.describe(ex, head, start);
    const trust = this.#cfg.trustRequestId;
    if (trust !== undefined) {
      const id = acceptableRequestId(REQUEST_ID_FIELD.value(head.headers));
      if (id !== undefined && trust(this.#init.remoteAddress)) ctx.adoptRequestId(id);
    }
    return ex;
  }

  /** Fills the transaction record from the head. */
  describe(ex: Exchange, head: ParsedHead, start: number): void {
    ex.start = start;
    ex.method = head.method;
    ex.target = head.target;
    ex.minor = head.minor;
    ex.fields = head.headers;
    ex.peer = this.#init.remoteAddress;
  }
}
