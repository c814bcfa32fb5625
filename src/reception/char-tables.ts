// Byte classes of RFC 9110 §5.6.2 (token), §5.5 (field values) and RFC 3986 (request targets),
// as 256-entry tables so the parser tests a byte with one load.

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TCHAR = table((c) => isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** field-vchar / SP / HTAB / obs-text: what may appear inside a field value (RFC 9110 §5.5). */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/**
 * Bytes accepted in a request-target. RFC 3986 characters, plus the ones browsers send raw in
 * paths and queries (WHATWG URL leaves `[`, `]`, `{`, `}`, `|`, `^`, `` ` `` and `\` unescaped in a
 * query). Never: controls, space, DEL, non-ASCII (clients percent-encode it), `#` (a fragment is
 * never part of a request-target, RFC 9112 §3.2). `\` is refused in the path separately: the
 * WHATWG parser would turn it into `/` and change what the path names.
 */
export const TARGET = table((c) => c > 0x20 && c < 0x7f && c !== 0x23);

/** unreserved / sub-delims of RFC 3986 §2, the characters of a reg-name (pct-encoded refused on purpose). */
export const REG_NAME = table((c) => isAlnum(c) || "-._~!$&'()*+,;=".includes(String.fromCharCode(c)));

export const HEX = table((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

/**
 * Target bytes the WHATWG URL parser keeps as they are in the path of an http(s) URL (its path
 * percent-encode set escapes `"`, `<`, `>`, `` ` ``, `{`, `}` and, in newer parsers, `^`). The
 * parser marks a target "as is" while it meets only these, so `req.url` costs a concatenation
 * instead of a URL parse; anything else, and dot segments, take the reference parser.
 */
export const PATH_AS_IS = table((c) => TARGET[c] === 1 && !'"<>`{}^\\?'.includes(String.fromCharCode(c)));

/** Likewise for the query of a special URL (its percent-encode set adds `'`). */
export const QUERY_AS_IS = table((c) => TARGET[c] === 1 && !'"<>\''.includes(String.fromCharCode(c)));
