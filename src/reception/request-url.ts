// The absolute URL a Request carries, built from the request-target (RFC 9112 §3.3).
import { Form, type ParsedHead } from './head-parser.ts';

/** `origin` is `http://` or `https://`; `defaultHost` stands in when a 1.0 request has no Host. */
export function requestUrl(head: ParsedHead, origin: string, defaultHost: string): string {
  switch (head.form) {
    case Form.Origin:
      return origin + (head.host || defaultHost) + head.target;
    case Form.Absolute: {
      // RFC 9112 §3.2.2: the target's authority wins over Host. Ensure a path for URL parsers.
      const t = head.target;
      let p = t.indexOf('//') + 2;
      while (p < t.length && t.charCodeAt(p) !== 0x2f && t.charCodeAt(p) !== 0x3f) p++;
      return p < t.length && t.charCodeAt(p) === 0x2f ? t : `${t.slice(0, p)}/${t.slice(p)}`;
    }
    case Form.Authority:
      return `${origin}${head.target}/`;
    default:
      // OPTIONS * : the raw target stays available through rawTarget().
      return `${origin}${head.host || defaultHost}/*`;
  }
}
