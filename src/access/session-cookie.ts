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

/** A cookie value of the shape `id.signature` (24 + 1 + 43 base64url characters), before any HMAC. */
function wellFormed(value: string): boolean {
  return (
    value.length === 24 + 1 + 43 && value.charCodeAt(24) === 0x2e && /^[A-Za-z0-9_-]{24}$/.test(value.slice(0, 24))
  );
}

/**
 * The id in a cookie value when its signature holds under one of the secrets, with the index of
 * that secret (0 = current; more → re-sign). Anything else (tampered, truncated, foreign) is undefined.
 */
export function verifyCookie(value: string, secrets: readonly string[]): { id: string; secret: number } | undefined {
  if (!wellFormed(value)) return undefined;
  const id = value.slice(0, 24);
  const given = Buffer.from(value.slice(25));
  for (let i = 0; i < secrets.length; i++) {
    const expected = Buffer.from(sign(id, secrets[i] as string));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { id, secret: i };
  }
  return undefined;
}

/** Well-formed cookies of the session's name checked per request (an HMAC per secret each); browsers send one per matching domain and path. */
export const MAX_SESSION_COOKIES = 8;

/** Distinct signed ids looked up in the store per request, one after another. */
export const MAX_SESSION_LOOKUPS = 3;

export interface SessionCookies {
  /** The ids whose signatures hold, in the order the cookies came. */
  verified: Array<{ id: string; secret: number }>;
  /** Some cookie had the session's name. */
  present: boolean;
  /** Every cookie of that name was checked and its id listed (none left past either bound). */
  complete: boolean;
}

/**
 * The cookies of name `name` in a Cookie header (RFC 6265 §5.4) whose signatures hold. Not simply
 * the first of that name: a browser sends every cookie that matches, more specific paths first,
 * and one set for a parent domain or another path (a sibling subdomain can toss one in) must not
 * hide the session's own; the caller takes the first whose session exists.
 */
export function sessionCookies(header: string | null, name: string, secrets: readonly string[]): SessionCookies {
  const out: SessionCookies = { verified: [], present: false, complete: true };
  if (header === null) return out;
  let checked = 0;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    // WSP is SP and HTAB (RFC 6265 §5.2): JavaScript's trim() would also take U+00A0 and U+FEFF.
    if (trimOws(part.slice(0, eq)) !== name) continue;
    out.present = true;
    let v = trimOws(part.slice(eq + 1));
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (!wellFormed(v)) continue;
    if (checked++ === MAX_SESSION_COOKIES) {
      out.complete = false;
      break;
    }
    const verified = verifyCookie(v, secrets);
    // The same id twice is one store lookup; past MAX_SESSION_LOOKUPS, the rest are not looked up.
    if (verified === undefined || out.verified.some((c) => c.id === verified.id)) continue;
    if (out.verified.length === MAX_SESSION_LOOKUPS) {
      out.complete = false;
      break;
    }
    out.verified.push(verified);
  }
  return out;
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
