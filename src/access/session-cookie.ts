// Session ids and their cookie. An id is 144 random bits (≥ 128, OWASP's floor) in base64url; the
// cookie carries `id.signature` with an HMAC-SHA256 under the first secret, and any of the listed
// secrets is accepted (rotation: put the new one first, drop the old one after a session lifetime).
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { trimOws } from '../util/ows.ts';

export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

function sign(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url');
}

export function signId(id: string, secrets: readonly string[]): string {
  return `${id}.${sign(id, secrets[0] as string)}`;
}

/**
 * The id in a cookie value when its signature holds under one of the secrets, with the index of
 * that secret (0 = current; more → re-sign). Anything else (tampered, truncated, foreign) is undefined.
 */
export function verifyCookie(value: string, secrets: readonly string[]): { id: string; secret: number } | undefined {
  const dot = value.indexOf('.');
  if (dot !== 24 || value.length !== 24 + 1 + 43) return undefined;
  const id = value.slice(0, dot);
  if (!/^[A-Za-z0-9_-]{24}$/.test(id)) return undefined;
  const given = Buffer.from(value.slice(dot + 1));
  for (let i = 0; i < secrets.length; i++) {
    const expected = Buffer.from(sign(id, secrets[i] as string));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { id, secret: i };
  }
  return undefined;
}

/** The values of every cookie `name` in a Cookie header (RFC 6265 §5.4), in order, quotes removed. */
export function* cookieValues(header: string | null, name: string): Generator<string> {
  if (header === null) return;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    // WSP is SP and HTAB (RFC 6265 §5.2): JavaScript's trim() would also take U+00A0 and U+FEFF.
    if (trimOws(part.slice(0, eq)) !== name) continue;
    const v = trimOws(part.slice(eq + 1));
    yield v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
}

/** Cookies of the session's name tried per request; browsers send one per matching domain and path. */
export const MAX_SESSION_COOKIES = 8;

/**
 * The first cookie `name`, among the first MAX_SESSION_COOKIES, whose value verifies under the secrets, with verifyCookie's answer. Not
 * simply the first cookie of that name: a browser sends every cookie that matches, more specific
 * paths first, and one set for a parent domain or another path (a sibling subdomain can toss one
 * in) would otherwise hide the session's own.
 */
export function readSignedCookie(
  header: string | null,
  name: string,
  secrets: readonly string[],
): { id: string; secret: number } | undefined {
  let tried = 0;
  for (const v of cookieValues(header, name)) {
    const verified = verifyCookie(v, secrets);
    if (verified !== undefined) return verified;
    // Each well-formed value costs an HMAC per secret: a head full of them is not worth that many.
    if (++tried === MAX_SESSION_COOKIES) break;
  }
  return undefined;
}

export interface CookieOptions {
  /** Default `/`. */
  path?: string;
  domain?: string;
  /** Default `Lax`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** Default: under TLS or a trusted `X-Forwarded-Proto: https` (ctx.secure). */
  secure?: boolean;
  /** Seconds; default none (the cookie ends with the browser session; the store enforces timeouts). */
  maxAge?: number;
}

/** A Set-Cookie value (RFC 6265 §4.1); `value` undefined expires the cookie. */
export function serializeCookie(name: string, value: string | undefined, o: CookieOptions, secure: boolean): string {
  let out = `${name}=${value ?? ''}; Path=${o.path ?? '/'}; HttpOnly; SameSite=${o.sameSite ?? 'Lax'}`;
  if (o.domain !== undefined) out += `; Domain=${o.domain}`;
  if (value === undefined) out += '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  else if (o.maxAge !== undefined) out += `; Max-Age=${Math.floor(o.maxAge)}`;
  // SameSite=None is only honoured with Secure (RFC 6265bis §5.4.7).
  if (o.secure ?? (secure || o.sameSite === 'None')) out += '; Secure';
  return out;
}
