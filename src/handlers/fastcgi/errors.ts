// Why an exchange with the backend failed, in the client's terms. The gateway maps these to the
// catalogue (502 / 503 / 504) and decides whether a retry on a fresh connection is safe.

export type FastCgiFailure =
  /** Could not connect (refused, no such socket, …). */
  | 'connect'
  /** Connecting took longer than connectTimeout. */
  | 'connect-timeout'
  /** The connection closed or reset before the response was complete. */
  | 'closed'
  /** Malformed records, an invalid CGI head, or a header too large. */
  | 'protocol'
  /** No byte from the backend within the read timeout. */
  | 'timeout'
  /** END_REQUEST with OVERLOADED (§5.5): the application refused the request. */
  | 'overloaded'
  /** END_REQUEST with CANT_MPX_CONN or UNKNOWN_ROLE. */
  | 'rejected'
  /** The client went away or the request body failed. */
  | 'aborted';

export class FastCgiError extends Error {
  readonly failure: FastCgiFailure;
  /** True once any byte of the request reached the socket (the backend may have run the script). */
  readonly requestWritten: boolean;
  /** True once any byte of the response arrived. */
  readonly responseStarted: boolean;
  /**
   * True when the backend provably never read the request: it half-closed a kept connection and
   * was still draining it (php-fpm's fcgi_close after pm.max_requests; see connection.ts).
   */
  readonly neverRead: boolean;

  constructor(
    failure: FastCgiFailure,
    message: string,
    state: { requestWritten?: boolean; responseStarted?: boolean; neverRead?: boolean; cause?: unknown } = {},
  ) {
    super(message, state.cause === undefined ? undefined : { cause: state.cause });
    this.name = 'FastCgiError';
    this.failure = failure;
    this.requestWritten = state.requestWritten ?? false;
    this.responseStarted = state.responseStarted ?? false;
    this.neverRead = state.neverRead ?? false;
  }
}
