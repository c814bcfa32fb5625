// Parsers for the forwarding headers a reverse proxy adds. Each element is read on its own: a
// malformed one becomes an unreadable hop, never a reason to drop the whole header. The left part
// of the header is whatever the client sent; the trusted proxy appends the real address on the
// right. Dropping the header for junk on the left (`X-Forwarded-For: x`, 65 entries, an unclosed
// quote) would make the client the proxy itself, and any rule that admits the proxy's address
// would admit the client. Nothing here throws.
import { trimOws } from '../util/ows.ts';

export interface Hop {
  /** Normalisable address text (brackets and port removed), or undefined for `unknown`/obfuscated. */
  for: string | undefined;
  /** The port the hop named (`v4:port`, `[v6]:port`), 1–65535; absent when it named none. */
  port?: number;
  /** `proto=` of this hop (RFC 7239 §5.4), lowercased. */
  proto?: string;
}

/**
 * Hops kept, counted from the right (a 16 KiB head bounds the rest anyway). Past them the walk
 * meets an unreadable hop: no real chain has 64 trusted proxies.
 */
const MAX_HOPS = 64;

const UNREADABLE: Hop = { for: undefined };

/**
 * Reads the rightmost MAX_HOPS elements only (behind an unreadable hop when some were cut off).
 * Empty elements (`a,,b`, a trailing comma) are no hops: RFC 9110 §5.6.1 has a recipient ignore
 * them in a list, as nginx's realip does.
 */
function readRightmost(all: string[], read: (element: string) => Hop): Hop[] | undefined {
  const elements = all.filter((e) => trimOws(e) !== '');
  if (elements.length === 0) return undefined;
  const kept = elements.length <= MAX_HOPS ? elements : elements.slice(-MAX_HOPS);
  const hops = kept.map(read);
  return kept.length === elements.length ? hops : [UNREADABLE, ...hops];
}

/**
 * Splits `[v6]:port`, `[v6]` and `v4:port` into the address text and the port; undefined when
 * malformed. A port must be one a socket can have (1–65535), and a zone index (`fe80::1%eth0`)
 * means nothing off the host that wrote it: either makes the hop unreadable, as in nginx.
 */
function readNode(node: string): Hop | undefined {
  // A zone index (`%eth0`) is refused, as nginx's realip does. So is whitespace: RFC 7239 §6's
  // node has none, and only a quoted string can carry it here (`for=" 1.2.3.4"`), which the address
  // parser would otherwise have read past.
  if (node.includes('%') || node.includes(' ') || node.includes('\t')) return undefined;
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    if (end < 0) return undefined;
    const rest = node.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return withPort(node.slice(1, end), rest.slice(1));
  }
  const colon = node.indexOf(':');
  // One colon: IPv4 with a port. More: a bare IPv6 address (X-Forwarded-For writes them so).
  if (colon >= 0 && colon === node.lastIndexOf(':')) {
    if (!/^\d{1,5}$/.test(node.slice(colon + 1))) return undefined;
    return withPort(node.slice(0, colon), node.slice(colon + 1));
  }
  return { for: node };
}

function withPort(addr: string, port: string): Hop | undefined {
  if (port === '') return { for: addr };
  const n = Number(port);
  return n >= 1 && n <= 65535 ? { for: addr, port: n } : undefined;
}

/** `X-Forwarded-For: client, proxy1, proxy2` (all lines joined in order) → hops, left to right. */
export function parseXForwardedFor(values: readonly string[]): Hop[] | undefined {
  const parts = values.length === 1 ? (values[0] as string).split(',') : values.flatMap((v) => v.split(','));
  return readRightmost(parts, (part) => {
    return readNode(trimOws(part)) ?? UNREADABLE;
  });
}

/**
 * Splits a Forwarded value at its top-level commas, scanning from the right: the elements a
 * trusted proxy appended are well-formed, so their boundaries are found whatever quotes the
 * client left open further left (`for="` would otherwise swallow the proxy's element).
 */
function elements(value: string): string[] {
  const out: string[] = [];
  let end = value.length;
  let quoted = false;
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value[i];
    if (c === '"' && !(quoted && value[i - 1] === '\\')) quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(value.slice(i + 1, end));
      end = i;
    }
  }
  out.push(value.slice(0, end));
  return out.reverse();
}

/** RFC 7239 §4 `Forwarded` (all lines in order) → hops, left to right; a bad element is unreadable. */
export function parseForwarded(values: readonly string[]): Hop[] | undefined {
  return readRightmost(values.flatMap(elements), (element) => {
    const parsed = parseElements(element);
    return parsed?.length === 1 ? (parsed[0] as Hop) : UNREADABLE;
  });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * RFC 7239 §4: `Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`.
 * Values are tokens or quoted strings (§4 uses RFC 7230's grammar); parameter names are
 * case-insensitive; a parameter may appear once per element (§4). Strict: undefined when
 * anything is off. parseForwarded hands it one element at a time.
 */
function parseElements(value: string): Hop[] | undefined {
  const hops: Hop[] = [];
  let i = 0;
  const n = value.length;
  let params = new Map<string, string>();
  const endElement = (): boolean => {
    if (params.size === 0 || hops.length >= MAX_HOPS) return false;
    const forValue = params.get('for');
    const proto = params.get('proto');
    if (forValue === undefined) return false;
    const lower = forValue.toLowerCase();
    const hidden = lower === 'unknown' || forValue.startsWith('_');
    const hop = hidden ? { for: undefined } : readNode(forValue);
    if (hop === undefined) return false;
    if (proto !== undefined) hop.proto = proto.toLowerCase();
    hops.push(hop);
    params = new Map();
    return true;
  };
  while (i < n) {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) return undefined;
    const name = trimOws(value.slice(i, eq)).toLowerCase();
    if (!TOKEN.test(name) || params.has(name)) return undefined;
    i = eq + 1;
    let v: string;
    if (value[i] === '"') {
      let out = '';
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === '\\') i++;
        out += value[i] ?? '';
        i++;
      }
      if (i >= n) return undefined;
      i++;
      v = out;
    } else {
      const start = i;
      while (i < n && value[i] !== ';' && value[i] !== ',' && value[i] !== ' ') i++;
      v = value.slice(start, i);
      if (!TOKEN.test(v) && !/^[0-9a-fA-F.:[\]]+$/.test(v)) return undefined;
    }
    params.set(name, v);
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
    if (i >= n) break;
    if (value[i] === ';') i++;
    else if (value[i] === ',') {
      if (!endElement()) return undefined;
      i++;
    } else return undefined;
  }
  if (!endElement()) return undefined;
  return hops.length === 0 ? undefined : hops;
}
