// The one rendering of an error for every layer (engine, static files, FastCGI, apps, offload,
// access, admin): status, headers and body from an HttpError or anything thrown. Pure; no I/O.
//
// - Body: the public message and a newline as text/plain (`Not Found\n`), JSON
//   (`{"error":{"status","code","message"}}`) when Accept prefers application/json, or a small HTML
//   page when Accept prefers text/html over text/plain (a browser); RFC 9110 §12.5.1 q-values.
// - A non-exposed error (a 5xx from a plain Error) shows only its status text; the detail goes
//   to the log, never to the client. Everything shown in HTML is escaped; JSON is JSON.stringify's.
// - The error's own headers (Retry-After, WWW-Authenticate, Allow, RateLimit …) are kept, except
//   those the body decides (type, length, framing) and any a Response or the wire could not carry.
import { Buffer } from 'node:buffer';
import { escapeHtml } from './escape-html.ts';
import { type HttpError, statusText, toHttpError } from './errors.ts';
import { preferredMediaType } from './negotiate.ts';

export interface RenderedError {
  status: number;
  /** Lower-case names; printable ASCII values: safe to write into a head as they are. */
  headers: Record<string, string>;
  body: string;
  /** The HttpError rendered (the thrown value, or a 500 wrapping it). */
  error: HttpError;
}

const FORMATS = ['text/plain', 'application/json', 'text/html'] as const;
/** RFC 9110 §5.1 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Field values (RFC 9110 §5.5) in ASCII: no CR, LF, NUL, other controls but tab, or obs-text. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
/** Headers the rendered body decides, or the engine frames. */
const OWNED = new Set(['content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** The client-safe message of an error: its own when exposed, else the status text. */
export function publicMessage(err: HttpError): string {
  return err.expose ? String(err.message) : statusText(err.status) || 'Error';
}

/**
 * Renders `thrown` for a request with this Accept field. `accept` undefined: no request to
 * negotiate with (a parser refusal), text without `Vary`.
 */
export function renderError(thrown: unknown, accept?: string | null): RenderedError {
  const err = toHttpError(thrown);
  // Only a real error status becomes a status line; anything else is the server's fault.
  const valid = Number.isInteger(err.status) && err.status >= 400 && err.status <= 599;
  const status = valid ? err.status : 500;
  const message = valid ? publicMessage(err) : statusText(500);
  const headers: Record<string, string> = {};
  const own = err.headers;
  if (own !== null && typeof own === 'object') {
    for (const [k, v] of Object.entries(own)) {
      const name = k.toLowerCase();
      if (typeof v !== 'string' || !TOKEN.test(k) || OWNED.has(name)) continue;
      const value = v.trim();
      if (FIELD_VALUE.test(value)) headers[name] = value;
    }
  }
  const format = accept === undefined ? 'text/plain' : (preferredMediaType(accept, FORMATS) ?? 'text/plain');
  if (accept !== undefined) headers.vary = headers.vary ? `${headers.vary}, Accept` : 'Accept';
  headers['x-content-type-options'] = 'nosniff';
  headers['cache-control'] ??= 'no-store';
  let body: string;
  if (format === 'application/json') {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify({ error: { status, code: String(err.code), message } });
  } else if (format === 'text/html') {
    headers['content-type'] = 'text/html; charset=utf-8';
    body = errorPage(status, message);
  } else {
    headers['content-type'] = 'text/plain; charset=utf-8';
    body = `${message}\n`;
  }
  return { status, headers, body, error: err };
}

/**
 * The rendering as a Response; `req` gives the Accept field and the method. A HEAD answer has no
 * body but the Content-Length a GET would have (RFC 9110 §9.3.2).
 */
export function errorResponse(thrown: unknown, req: Request): Response {
  const r = renderError(thrown, req.headers.get('accept'));
  if (req.method !== 'HEAD') return new Response(r.body, { status: r.status, headers: r.headers });
  r.headers['content-length'] = String(Buffer.byteLength(r.body));
  return new Response(null, { status: r.status, headers: r.headers });
}

// The style of the directory listing page (static/listing.ts): same palette, light and dark.
const STYLE =
  ':root{color-scheme:light dark;--fg:#1d2430;--muted:#667085;--bg:#f7f8fa;--card:#fff;--line:#e4e7ec}' +
  '@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#98a2b3;--bg:#0f1217;--card:#171b22;--line:#272d37}}' +
  'body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}' +
  'main{max-width:640px;margin:64px auto;padding:0 20px}' +
  '.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:24px 28px;box-shadow:0 1px 2px rgba(16,24,40,.05)}' +
  'h1{font-size:20px;font-weight:600;margin:0 0 8px}h1 span{color:var(--muted);font-weight:400}p{margin:0;word-break:break-word}' +
  'footer{margin-top:12px;font-size:12px;color:var(--muted)}';

function errorPage(status: number, message: string): string {
  const title = `${status} ${escapeHtml(statusText(status) || 'Error')}`;
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${title}</title><style>${STYLE}</style></head><body><main><div class="card">` +
    `<h1>${status} <span>${escapeHtml(statusText(status) || 'Error')}</span></h1><p>${escapeHtml(message)}</p>` +
    '</div><footer>Foyer</footer></main></body></html>\n'
  );
}
