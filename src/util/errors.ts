// The one catalogue of coded errors (fastify's FST_ERR_* idea). Every error Foyer raises on
// purpose comes from here with its HTTP status; messages never contain user input verbatim.

export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  /** Show the message to the client even for a 5xx: it describes the client's request, not the server. */
  readonly expose?: boolean;
  /**
   * Load shed on purpose (a bounded queue full, with Retry-After): the server working as designed
   * under too much load, not a fault. Logged as a warning without a stack, which is neither captured:
   * in a flood these are most requests, and the log is what the operator reads to understand it.
   */
  readonly shed?: boolean;
}

export const errors = {
  // Reception: request syntax and framing (RFC 9112). All close the connection.
  FOYER_BAD_REQUEST: { status: 400, message: 'Bad Request' },
  FOYER_BAD_METHOD: { status: 400, message: 'Malformed method' },
  FOYER_BAD_TARGET: { status: 400, message: 'Malformed request target' },
  FOYER_BAD_VERSION: { status: 400, message: 'Malformed HTTP version' },
  FOYER_BAD_HEADER: { status: 400, message: 'Malformed header field' },
  FOYER_BAD_HOST: { status: 400, message: 'Missing, repeated or malformed Host' },
  FOYER_BAD_CONTENT_LENGTH: { status: 400, message: 'Invalid Content-Length' },
  FOYER_BAD_TRANSFER_ENCODING: { status: 400, message: 'Invalid Transfer-Encoding' },
  FOYER_AMBIGUOUS_FRAMING: { status: 400, message: 'Both Transfer-Encoding and Content-Length' },
  FOYER_BAD_CHUNK: { status: 400, message: 'Malformed chunked body' },
  FOYER_TOO_MANY_CHUNKS: { status: 413, message: 'Too many chunks in one body' },
  FOYER_BAD_ESCAPE: { status: 400, message: 'Malformed percent-encoding' },
  FOYER_REQUEST_TIMEOUT: { status: 408, message: 'Request Timeout' },
  FOYER_BODY_TOO_LARGE: { status: 413, message: 'Content Too Large' },
  FOYER_URI_TOO_LONG: { status: 414, message: 'URI Too Long' },
  FOYER_EXPECTATION_FAILED: { status: 417, message: 'Expectation Failed' },
  FOYER_HEADERS_TOO_LARGE: { status: 431, message: 'Request Header Fields Too Large' },
  FOYER_METHOD_NOT_IMPLEMENTED: { status: 501, message: 'Not Implemented' },
  FOYER_CODING_NOT_IMPLEMENTED: { status: 501, message: 'Transfer coding not implemented', expose: true },
  FOYER_VERSION_NOT_SUPPORTED: { status: 505, message: 'HTTP Version Not Supported', expose: true },
  // Handlers and applications.
  FOYER_NOT_FOUND: { status: 404, message: 'Not Found' },
  FOYER_METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  FOYER_FORBIDDEN: { status: 403, message: 'Forbidden' },
  // Access control (src/access).
  FOYER_UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  FOYER_TOO_MANY_REQUESTS: { status: 429, message: 'Too Many Requests' },
  FOYER_SESSION_STORE_DOWN: { status: 503, message: 'Service Unavailable' },
  FOYER_AUTH_BUSY: { status: 503, message: 'Service Unavailable', shed: true },
  FOYER_BAD_JSON: { status: 400, message: 'Malformed JSON body' },
  FOYER_BAD_FORM: { status: 400, message: 'Malformed form body' },
  FOYER_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type' },
  FOYER_RANGE_NOT_SATISFIABLE: { status: 416, message: 'Range Not Satisfiable' },
  FOYER_PRECONDITION_FAILED: { status: 412, message: 'Precondition Failed' },
  FOYER_NEXT_CALLED_TWICE: { status: 500, message: 'next() called more than once' },
  FOYER_INTERNAL: { status: 500, message: 'Internal Server Error' },
  FOYER_BAD_RESPONSE_HEADER: { status: 500, message: 'Invalid response header from handler' },
  FOYER_NO_RESPONSE: { status: 500, message: 'Handler returned no Response' },
  FOYER_UPLOAD_TOO_LARGE: { status: 413, message: 'Upload exceeds a size or count limit' },
  // Gateways (FastCGI).
  FOYER_BAD_GATEWAY: { status: 502, message: 'Bad Gateway' },
  FOYER_UPSTREAM_OVERLOADED: { status: 503, message: 'Service Unavailable', shed: true },
  FOYER_GATEWAY_TIMEOUT: { status: 504, message: 'Gateway Timeout' },
  // Offload and task workers (worker threads, task queues).
  FOYER_OFFLOAD_OVERLOADED: { status: 503, message: 'Service Unavailable', shed: true },
  FOYER_OFFLOAD_TIMEOUT: { status: 504, message: 'Gateway Timeout' },
  FOYER_OFFLOAD_CRASHED: { status: 500, message: 'Worker thread failed' },
  FOYER_OFFLOAD_UNSERIALISABLE: { status: 500, message: 'Context attribute cannot cross to a worker thread' },
  FOYER_TASK_UNKNOWN: { status: 500, message: 'No such task' },
  FOYER_TASK_FAILED: { status: 500, message: 'Task failed' },
  FOYER_TASK_TIMEOUT: { status: 500, message: 'Task timed out' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errors;

/**
 * Configuration and usage errors: no HTTP status, never rendered to a client. The CLI prints the
 * message and exits with code 2; the API throws them from constructors and factories.
 */
export const configErrors = {
  FOYER_BAD_CONFIG: { message: 'Invalid configuration' },
  FOYER_BAD_FLAG: { message: 'Invalid command line' },
  FOYER_BAD_OPTION: { message: 'Invalid option' },
} as const satisfies Record<string, { message: string }>;

export type ConfigErrorCode = keyof typeof configErrors;

/**
 * Brands HttpErrors across copies of Foyer: an app that imports another copy of these modules
 * (src/ while the CLI runs dist/, or two installed versions) throws errors that fail `instanceof`
 * here but carry the same registered symbol.
 */
export const kHttpError: unique symbol = Symbol.for('foyer.HttpError');

/** An error carrying an HTTP status. Handlers may throw it; the error handler renders it. */
export class HttpError extends Error {
  declare readonly [kHttpError]: true;
  readonly status: number;
  readonly code: string;
  /** Extra response headers, e.g. Allow for 405 or Retry-After for 503. */
  readonly headers: Record<string, string> | undefined;
  /** When false, `message` is not shown to the client (the generic status text is). */
  readonly expose: boolean;

  constructor(
    status: number,
    message?: string,
    options: { code?: string; headers?: Record<string, string>; expose?: boolean; cause?: unknown } = {},
  ) {
    super(message ?? statusText(status), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = options.code ?? 'FOYER_HTTP_ERROR';
    this.headers = options.headers;
    this.expose = options.expose ?? status < 500;
  }
}
Object.defineProperty(HttpError.prototype, kHttpError, { value: true });

/**
 * A coded error from the catalogue; `detail` goes to the log, never to the client. A client's
 * error (4xx) and a load shed (ErrorSpec.shed) are made without a stack: it says where Foyer
 * decided to refuse, not a fault, while capturing it costs more than the rest of the request
 * (callgrind: a 404 of the static handler, about 94,000 instructions with the stack). Server
 * errors keep theirs.
 */
export class FoyerError extends HttpError {
  readonly detail: string | undefined;
  constructor(code: ErrorCode, detail?: string, headers?: Record<string, string>) {
    const spec = errors[code];
    // Reflect.set: false, not a TypeError, when a program made the limit read-only (checked at
    // each call, as Node's own errors do). A limit that is not a positive number captures nothing.
    const limit = Error.stackTraceLimit;
    const quiet =
      (spec.status < 500 || (spec as ErrorSpec).shed === true) &&
      typeof limit === 'number' &&
      limit > 0 &&
      Reflect.set(Error, 'stackTraceLimit', 0);
    try {
      super(spec.status, spec.message, { code, headers, expose: (spec as ErrorSpec).expose ?? spec.status < 500 });
    } finally {
      if (quiet) Reflect.set(Error, 'stackTraceLimit', limit);
    }
    this.name = 'FoyerError';
    this.detail = detail;
  }
}

/**
 * A bad configuration, flag or option: not an HttpError (it never becomes a response). A TypeError,
 * as Node's own invalid-argument errors are, so `assert.throws(…, TypeError)` keeps holding.
 */
export class FoyerConfigError extends TypeError {
  readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FoyerConfigError';
    this.code = code;
  }
}

/** A FoyerConfigError from this or another copy of Foyer (by its code, not only `instanceof`). */
export function isConfigError(e: unknown): e is FoyerConfigError {
  if (e instanceof FoyerConfigError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && Object.hasOwn(configErrors, code);
}

/**
 * An HttpError from this or any other copy of Foyer: the brand, or the shape older copies had
 * (name, numeric status, boolean expose). Only error paths call this; it costs the success path nothing.
 */
export function isHttpError(e: unknown): e is HttpError {
  if (e === null || typeof e !== 'object') return false;
  if ((e as { [kHttpError]?: unknown })[kHttpError] === true) return true;
  const x = e as Partial<HttpError>;
  return (
    (x.name === 'HttpError' || x.name === 'FoyerError') &&
    typeof x.status === 'number' &&
    typeof x.code === 'string' &&
    typeof x.expose === 'boolean'
  );
}

/** The HttpError in `err` or its `cause` chain (body stream errors wrap the engine's), if any. */
export function findHttpError(err: unknown): HttpError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    if (isHttpError(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * True for a FoyerError that Foyer made to shed load (ErrorSpec.shed): a warning, not a failure. An
 * app's own error with such a code, or one wrapping such an error as its cause, is not: its message,
 * cause and stack are the app's, and are logged as a failure.
 */
export function isShed(err: HttpError, original: unknown = err): boolean {
  if (original !== err || !(err instanceof FoyerError) || !Object.hasOwn(errors, err.code)) return false;
  const spec = (errors as Record<string, ErrorSpec>)[err.code] as ErrorSpec;
  return spec.shed === true && err.status === spec.status;
}

/** Maps anything thrown to an HttpError; what is not one already is a non-exposed 500. */
export function toHttpError(err: unknown): HttpError {
  return findHttpError(err) ?? new HttpError(500, undefined, { code: 'FOYER_INTERNAL', cause: err, expose: false });
}

const STATUS_TEXT: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
  511: 'Network Authentication Required',
};

/** The reason phrase for a status (RFC 9110 §15), or '' for an unregistered one. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}
