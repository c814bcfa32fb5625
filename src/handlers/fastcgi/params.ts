// The CGI/1.1 meta-variables (RFC 3875 §4.1) plus what PHP applications expect from nginx's
// fastcgi_params and Caddy's php_fastcgi (REQUEST_URI, DOCUMENT_URI, SCRIPT_FILENAME, HTTPS, …).
import { Buffer } from 'node:buffer';
import { rawTarget, receivedFields } from '../engine-seam.ts';
import type { Context } from '../../types.ts';

export interface ParamsInput {
  req: Request;
  ctx: Context;
  /** The query with its `?` (`''` when none), as in `req.url`. */
  search: string;
  /** The document root as configured (PHP shows it in DOCUMENT_ROOT). */
  documentRoot: string;
  scriptName: string;
  scriptFilename: string;
  pathInfo: string;
  /** CONTENT_LENGTH to announce, or undefined when the request has no body. */
  contentLength: number | undefined;
  serverName: string | undefined;
  serverSoftware: string;
  /** Extra variables, set last so they override the computed ones. */
  extra: Record<string, string> | undefined;
}

// Request headers never passed as HTTP_* variables:
//  - Proxy: httpoxy (CVE-2016-5385), HTTP_PROXY would be read as the outbound proxy;
//  - Content-Type / Content-Length travel as CONTENT_TYPE / CONTENT_LENGTH (RFC 3875 §4.1.18);
//  - Transfer-Encoding: the body reaches the script de-chunked with a CONTENT_LENGTH;
//  - Connection-level fields describe the client's hop only.
const SKIPPED = new Set([
  'proxy',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
]);

// RFC 3875 §4.1.18 maps '-' to '_'. A header that already contains '_' could then pose as another
// (`X_Forwarded_For` as `X-Forwarded-For`), so such names are dropped, as nginx
// (underscores_in_headers off) and Apache httpd do. Only letters, digits and '-' pass.
const PASSABLE = /^[A-Za-z0-9-]+$/;

/** Meta-variable name for a header, or undefined when the header is not passed on. */
export function headerVariable(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (SKIPPED.has(lower) || !PASSABLE.test(name)) return undefined;
  return `HTTP_${lower.replace(/-/g, '_').toUpperCase()}`;
}

// The same few header names come with every request: their variable names are remembered (a pure
// function of the name, so nothing of one request reaches another), up to a bound, since names
// are the client's choice. Keyed by the name in whatever case it came (headerVariable folds it):
// the raw names of a parsed head need no lower-cased copy. `null`: not passed on.
const MAX_KNOWN_NAMES = 256;
const knownVariables = new Map<string, string | null>();

/** How many names the table holds (for tests). */
export function rememberedVariables(): number {
  return knownVariables.size;
}

function variableFor(name: string): string | null {
  let v = knownVariables.get(name);
  if (v === undefined) {
    v = headerVariable(name) ?? null;
    // Emptied when full: names (and their spellings) a client makes up cost it a refill, and never
    // leave the usual names uncached for the rest of the process.
    if (knownVariables.size >= MAX_KNOWN_NAMES) knownVariables.clear();
    knownVariables.set(name, v);
  }
  return v;
}

function hostName(host: string | null): string | undefined {
  if (!host) return undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : undefined;
  }
  const colon = host.indexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/**
 * The query as the client sent it (RFC 3875 §4.1.7), as nginx's $args: WHATWG serialisation
 * escapes some characters (`'` becomes `%27`), which would change what an app that reads
 * QUERY_STRING itself sees, and break a signature computed over it. PHP decodes both alike into
 * $_GET. The engine's parser let only visible ASCII into the target.
 */
function queryString(req: Request, search: string): string {
  const raw = rawTarget(req);
  if (raw?.startsWith('/')) {
    const q = raw.indexOf('?');
    return q < 0 ? '' : raw.slice(q + 1);
  }
  return search.length > 1 ? search.slice(1) : '';
}

function requestUri(req: Request, url: () => URL): string {
  const raw = rawTarget(req);
  if (raw?.startsWith('/')) return raw;
  const u = url();
  return u.pathname + u.search;
}

/**
 * A header value as bytes. Field values are byte strings (one char per byte received, RFC 9110
 * §5.5): ASCII goes as is, anything else as the original bytes, never re-encoded as UTF-8
 * (`café` sent as UTF-8 would reach PHP as `cafÃ©`).
 */
function headerBytes(value: string): string | Uint8Array {
  // ASCII exactly when its UTF-8 takes a byte per char: one native count (a charCodeAt loop cost
  // about 30 instructions a char in callgrind, 20,000 per request for a browser's fields).
  return Buffer.byteLength(value) === value.length ? value : Buffer.from(value, 'latin1');
}

/**
 * The HTTP_* variables of the request's fields (RFC 3875 §4.1.18), one per field name, in the order
 * of the first field of each name. Fields the engine parsed are read as received, so that repeated
 * Cookie fields can be joined with `; ` (RFC 9110 §5.3 makes Cookie the exception to the `, `
 * rule: RFC 6265 §5.4), as a single Cookie header would have carried them. A Request built
 * elsewhere only offers the combined values. Names map to variables one to one (a name with `_`
 * is never passed on), so joining per variable is joining per name, whatever its case.
 */
function pushFieldVariables(out: Array<[string, string | Uint8Array]>, headers: Headers): void {
  const list = receivedFields(headers);
  if (list === undefined) {
    for (const [name, value] of headers) {
      const variable = variableFor(name);
      if (variable !== null) out.push([variable, headerBytes(value)]);
    }
    return;
  }
  const n = list.length >> 1;
  // '' for a field not passed on: one type of element, so the compares below stay string compares.
  const variables: string[] = [];
  let repeated = n > SCAN_FIELDS;
  // One bit per variable length (modulo 32) seen so far: a variable whose length was not seen
  // cannot be a repeat, and most are not (a browser's 15 fields have 10 lengths).
  let lengths = 0;
  for (let f = 0; f < n; f++) {
    const variable = variableFor(list[2 * f]!) ?? '';
    variables.push(variable);
    if (variable === '' || repeated) continue;
    const length = variable.length;
    const bit = 1 << (length & 31);
    if ((lengths & bit) !== 0) {
      for (let g = 0; g < f; g++) {
        const other = variables[g]!;
        if (other.length === length && other === variable) repeated = true;
      }
    }
    lengths |= bit;
  }
  if (!repeated) {
    // The usual case: no name twice, so nothing to join, and no Map built per request.
    for (let f = 0; f < n; f++) {
      const variable = variables[f]!;
      if (variable !== '') out.push([variable, headerBytes(list[2 * f + 1]!)]);
    }
    return;
  }
  const joined = new Map<string, string>();
  for (let f = 0; f < n; f++) {
    const variable = variables[f]!;
    if (variable === '') continue;
    const value = list[2 * f + 1]!;
    const seen = joined.get(variable);
    joined.set(variable, seen === undefined ? value : `${seen}${variable === 'HTTP_COOKIE' ? '; ' : ', '}${value}`);
  }
  for (const [variable, value] of joined) out.push([variable, headerBytes(value)]);
}

/** Up to this many fields, a repeated name is looked for field by field; past it, a Map joins them. */
const SCAN_FIELDS = 32;

export function buildParams(p: ParamsInput): Array<[string, string | Uint8Array]> {
  const { req, ctx } = p;
  // req.url is already WHATWG-serialised: its parts are read from the string; a URL object is
  // built only for the rare fallbacks below (a Request built elsewhere, a missing Host).
  let parsed: URL | undefined;
  const url = (): URL => (parsed ??= new URL(req.url));
  const secure = ctx.secure;
  const query = queryString(req, p.search);
  const root = p.documentRoot;
  // The server's variables first, then the script's and the method, then the rest of the
  // request's: a head then starts with pairs the last one had (request-head-bytes.ts keeps their
  // bytes). PHP's $_SERVER does not depend on the order.
  const out: Array<[string, string | Uint8Array]> = [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', p.serverSoftware],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_SCHEME', secure ? 'https' : 'http'],
    ['DOCUMENT_ROOT', root],
    ['SERVER_ADDR', ctx.localAddress],
    ['SERVER_PORT', String(ctx.localPort || (url().port ? Number(url().port) : secure ? 443 : 80))],
    ['SERVER_NAME', p.serverName ?? hostName(req.headers.get('host')) ?? (url().hostname || ctx.localAddress)],
    // php-cgi refuses to run without it when cgi.force_redirect is on (the default).
    ['REDIRECT_STATUS', '200'],
    ['SCRIPT_NAME', p.scriptName],
    ['SCRIPT_FILENAME', p.scriptFilename],
    ['REQUEST_METHOD', req.method],
    ['DOCUMENT_URI', p.scriptName + p.pathInfo],
    ['REMOTE_ADDR', ctx.remoteAddress],
    // Empty when unknown (a client address from a forwarding header that named no port), as nginx's $remote_port.
    ['REMOTE_PORT', ctx.remotePort === 0 ? '' : String(ctx.remotePort)],
    // The URI as the client sent it, undecoded (front controllers route on it), query included.
    ['REQUEST_URI', requestUri(req, url)],
    ['QUERY_STRING', query],
  ];
  if (secure) out.push(['HTTPS', 'on']);
  // RFC 3875 §4.1.1, §4.1.11: the user Basic auth accepted (only Foyer's basicAuth sets it).
  if (ctx.remoteUser !== undefined) out.push(['AUTH_TYPE', 'Basic'], ['REMOTE_USER', ctx.remoteUser]);
  if (p.pathInfo !== '') {
    // RFC 3875 §4.1.5–§4.1.6: PATH_TRANSLATED maps PATH_INFO onto the document root.
    out.push(['PATH_INFO', p.pathInfo], ['PATH_TRANSLATED', root + p.pathInfo]);
  }
  if (p.contentLength !== undefined) {
    out.push(['CONTENT_LENGTH', String(p.contentLength)]);
    const type = req.headers.get('content-type');
    if (type !== null) out.push(['CONTENT_TYPE', headerBytes(type)]);
  }
  pushFieldVariables(out, req.headers);
  if (p.extra !== undefined) {
    for (const [name, value] of Object.entries(p.extra)) {
      const i = out.findIndex(([n]) => n === name);
      if (i >= 0) out[i] = [name, value];
      else out.push([name, value]);
    }
  }
  return out;
}
