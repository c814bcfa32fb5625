// Parsers for the forwarding headers a reverse proxy adds. Anything malformed yields undefined:
// a header we cannot read is ignored (the peer's address stands), never an error.

export interface Hop {
  /** Normalisable address text (brackets and port removed), or undefined for `unknown`/obfuscated. */
  for: string | undefined;
  /** `proto=` of this hop (RFC 7239 §5.4), lowercased. */
  proto?: string;
}

/** Most hops a header may list before we stop reading it (a 16 KiB head bounds it anyway). */
const MAX_HOPS = 64;

/** Strips `[v6]:port`, `[v6]` and `v4:port` down to the address text. */
function stripPort(node: string): string | undefined {
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    if (end < 0) return undefined;
    const rest = node.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return node.slice(1, end);
  }
  const colon = node.indexOf(':');
  // One colon: IPv4 with a port. More: a bare IPv6 address (X-Forwarded-For writes them so).
  if (colon >= 0 && colon === node.lastIndexOf(':')) {
    if (!/^\d{1,5}$/.test(node.slice(colon + 1))) return undefined;
    return node.slice(0, colon);
  }
  return node;
}

/** `X-Forwarded-For: client, proxy1, proxy2` (all lines joined in order) → hops, left to right. */
export function parseXForwardedFor(values: readonly string[]): Hop[] | undefined {
  const hops: Hop[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const node = part.trim();
      if (node === '' || hops.length >= MAX_HOPS) return undefined;
      const addr = stripPort(node);
      if (addr === undefined) return undefined;
      hops.push({ for: addr });
    }
  }
  return hops.length === 0 ? undefined : hops;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * RFC 7239 §4: `Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`.
 * Values are tokens or quoted strings (§4 uses RFC 7230's grammar); parameter names are
 * case-insensitive; a parameter may appear once per element (§4).
 */
export function parseForwarded(values: readonly string[]): Hop[] | undefined {
  const hops: Hop[] = [];
  for (const value of values) {
    let i = 0;
    const n = value.length;
    let params = new Map<string, string>();
    const endElement = (): boolean => {
      if (params.size === 0 || hops.length >= MAX_HOPS) return false;
      const forValue = params.get('for');
      const proto = params.get('proto');
      if (forValue === undefined) return false;
      const lower = forValue.toLowerCase();
      const addr = lower === 'unknown' || forValue.startsWith('_') ? undefined : stripPort(forValue);
      if (addr === undefined && lower !== 'unknown' && !forValue.startsWith('_')) return false;
      hops.push(proto === undefined ? { for: addr } : { for: addr, proto: proto.toLowerCase() });
      params = new Map();
      return true;
    };
    while (i < n) {
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
      const eq = value.indexOf('=', i);
      if (eq < 0) return undefined;
      const name = value.slice(i, eq).trim().toLowerCase();
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
  }
  return hops.length === 0 ? undefined : hops;
}
