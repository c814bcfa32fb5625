// RFC 3986 §3.2 authority validation for Host and absolute-form targets (RFC 9112 §3.2).
// Stricter than the grammar where leniency has been an attack: no userinfo, no percent-encoded
// reg-names, and a host that ends in a number must be a canonical dotted-quad IPv4 address
// (a WHATWG URL parser would read `017700000001` or `0x7f.1` as 127.0.0.1).
import { isIPv4, isIPv6 } from 'node:net';
import { REG_NAME } from './char-tables.ts';

// RFC 3986 §3.2.2: IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
const IPV_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;

function validPort(s: string, from: number): boolean {
  // port = *DIGIT; bounded to 5 digits so a port is never a smuggled number.
  const n = s.length - from;
  if (n > 5) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return n === 0 || Number(s.slice(from)) <= 65535;
}

function endsInNumber(host: string): boolean {
  let h = host;
  if (h.endsWith('.')) h = h.slice(0, -1);
  const last = h.slice(h.lastIndexOf('.') + 1);
  if (last === '') return false;
  if (/^[0-9]+$/.test(last)) return true;
  return /^0[xX][0-9a-fA-F]*$/.test(last);
}

/**
 * True when `s` is a valid authority (`host[:port]`), with no userinfo. An empty string is valid
 * only where the caller allows it (RFC 9112 §3.2 allows an empty Host only for URIs without an
 * authority, which `http` and `https` URIs never are: so Foyer does not).
 */
export function isValidAuthority(s: string, allowEmpty: boolean): boolean {
  if (s.length === 0) return allowEmpty;
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    const close = s.indexOf(']');
    if (close < 0) return false;
    const inner = s.slice(1, close);
    // Zone identifiers (%) are not allowed in URIs (WHATWG URL refuses them too).
    if (!(IPV_FUTURE.test(inner) || (!inner.includes('%') && isIPv6(inner)))) return false;
    if (close === s.length - 1) return true;
    return s.charCodeAt(close + 1) === 0x3a && validPort(s, close + 2);
  }
  const colon = s.indexOf(':');
  const hostEnd = colon < 0 ? s.length : colon;
  if (hostEnd === 0) return false;
  for (let i = 0; i < hostEnd; i++) if (REG_NAME[s.charCodeAt(i)] !== 1) return false;
  if (colon >= 0 && !validPort(s, colon + 1)) return false;
  const host = s.slice(0, hostEnd);
  // RFC 9110 §4.2.1 forbids an empty host; an empty label (`.`, `a..b`, `.a`) names nothing either.
  // One trailing dot (the DNS root) is allowed.
  const labels = host.endsWith('.') ? host.slice(0, -1) : host;
  if (labels === '' || labels.startsWith('.') || labels.endsWith('.') || labels.includes('..')) return false;
  if (endsInNumber(host)) return isIPv4(host.endsWith('.') ? host.slice(0, -1) : host);
  return true;
}
