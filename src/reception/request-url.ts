// The absolute URL a Request carries, built from the request-target (RFC 9112 §3.3).
//
// `req.url` is exactly what the WHATWG URL parser makes of the target, as `new Request(url)` on
// @hono/node-server would see it: dot segments removed (`/x/../admin` is `/admin`), host lowercased,
// the default port dropped, the characters WHATWG escapes escaped. Apps route and guard on it, and
// static files and FastCGI decide on the same path (analysis/): two layers that read one URL two
// ways is how access checks get bypassed. The raw target stays available through rawTarget().
//
// Most targets are already in that form; the parser marks them (`targetAsIs`) and the URL is then a
// concatenation. Everything else takes the platform's own URL parser, which is the reference, so
// the result cannot drift from it across Node versions. A target or host it refuses is a 400.
import { Form, type ParsedHead } from './head-parser.ts';

/** Host bytes the URL parser keeps as they are: lowercase LDH names and dotted-quad addresses. */
function hostAsIs(host: string, defaultPort: string): boolean {
  const n = host.length;
  let i = 0;
  for (; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x3a /* : */) break;
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e)) return false;
  }
  // Punycode labels are validated (`xn--a` is refused); a trailing dot is dropped after an IPv4 address.
  if (i === 0 || host.charCodeAt(i - 1) === 0x2e || host.startsWith('xn--') || host.includes('.xn--')) return false;
  if (i === n) return true;
  // The parser drops the scheme's default port and reads `:080` as 80.
  const port = host.slice(i + 1);
  return port.length > 0 && port.charCodeAt(0) !== 0x30 && port !== defaultPort;
}

const DOUBLE_DOT = /^(?:\.|%2e){2}$/i;
const SINGLE_DOT = /^(?:\.|%2e)$/i;

/**
 * True when the dot segments of the path starting at `from` climb above the root (`/../x`,
 * `/a/%2e%2e/..`). The URL parser would clamp them silently; a target that tries it is an attack,
 * and nginx refuses it with 400 too. Segments are counted as the URL parser counts them (empty
 * ones included, `%2e` read as `.`).
 */
export function climbsAboveRoot(target: string, from: number): boolean {
  let end = target.indexOf('?', from);
  if (end < 0) end = target.length;
  let depth = 0;
  let i = from + 1;
  while (i <= end) {
    let j = target.indexOf('/', i);
    if (j < 0 || j > end) j = end;
    const seg = target.slice(i, j);
    if (DOUBLE_DOT.test(seg)) {
      if (--depth < 0) return true;
    } else if (!SINGLE_DOT.test(seg) && j < end) depth++;
    i = j + 1;
  }
  return false;
}

function parse(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

/** Builds request URLs for one connection; remembers its last host, which clients repeat. */
export class RequestUrls {
  readonly #origin: string;
  readonly #defaultHost: string;
  readonly #defaultPort: string;
  #rawHost: string | undefined = undefined;
  #host: string | undefined = undefined;
  /** The last origin-form URL built and what it was built from: clients repeat targets too. */
  #lastHost: string | undefined = undefined;
  #lastTarget: string | undefined = undefined;
  #lastUrl = '';
  /** What the last refused build() refused: the Host or the target. */
  refused: 'host' | 'target' = 'target';

  /** `origin` is `http://` or `https://`; `defaultHost` stands in when a 1.0 request has no Host. */
  constructor(origin: string, defaultHost: string) {
    this.#origin = origin;
    this.#defaultHost = defaultHost;
    this.#defaultPort = origin === 'https://' ? '443' : '80';
  }

  /** The host as the URL parser serialises it, or undefined when it refuses it. */
  #normalHost(raw: string): string | undefined {
    if (raw === this.#rawHost) return this.#host;
    let host: string | undefined = raw;
    if (!hostAsIs(raw, this.#defaultPort)) {
      try {
        host = new URL(`${this.#origin}${raw}/`).host;
      } catch {
        host = undefined;
      }
    }
    this.#rawHost = raw;
    this.#host = host;
    return host;
  }

  /** The request's URL, or undefined when the URL parser refuses the target or the host (→ 400). */
  build(head: ParsedHead): string | undefined {
    switch (head.form) {
      case Form.Origin: {
        const host = this.#normalHost(head.host || this.#defaultHost);
        this.refused = host === undefined ? 'host' : 'target';
        if (host === undefined) return undefined;
        // The same string as last time (a pure function of host and target), already flattened by
        // whoever parsed it: no concatenation, and no copy when the app calls `new URL(req.url)`.
        if (head.target === this.#lastTarget && host === this.#lastHost) return this.#lastUrl;
        // Concatenation, never `new URL(target, base)`: a target `//admin/x` is a path, not an authority.
        const url = this.#origin + host + head.target;
        const built = head.targetAsIs ? url : climbsAboveRoot(head.target, 0) ? undefined : parse(url);
        // Kept while the connection lives: only a URL of common length.
        if (built !== undefined && built.length <= 2048) {
          this.#lastHost = host;
          this.#lastTarget = head.target;
          this.#lastUrl = built;
        }
        return built;
      }
      case Form.Absolute: {
        this.refused = 'target';
        // RFC 9112 §3.2.2: the target's authority wins over Host. Its scheme does not: the connection
        // says whether it is TLS (nginx's $scheme), and an app that decides HSTS, Secure cookies or an
        // https redirect on `new URL(req.url).protocol` must not take `GET https://…` on plain HTTP.
        const t = head.target;
        const authority = t.indexOf('//') + 2;
        const path = t.indexOf('/', authority);
        return path >= 0 && climbsAboveRoot(t, path) ? undefined : parse(this.#origin + t.slice(authority));
      }
      case Form.Authority:
        this.refused = 'target';
        return parse(`${this.#origin}${head.target}/`);
      default: {
        // OPTIONS * : the raw target stays available through rawTarget().
        const host = this.#normalHost(head.host || this.#defaultHost);
        this.refused = 'host';
        return host === undefined ? undefined : `${this.#origin}${host}/*`;
      }
    }
  }
}
