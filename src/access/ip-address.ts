// IP address helpers shared by the access layer: normalising what sockets and headers give us,
// and CIDR lists as net.BlockList (the kernel-independent matcher Node ships).
import { BlockList, isIP } from 'node:net';
import { trimOws } from '../util/ows.ts';

export type Family = 'ipv4' | 'ipv6';

/**
 * The canonical form of an address, or undefined when it is not one. IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`, what a dual-stack socket reports) becomes the IPv4 address so that one rule
 * covers both spellings; zone ids (`fe80::1%eth0`) are dropped.
 */
export function normaliseIp(raw: string): string | undefined {
  let s = trimOws(raw);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const kind = isIP(s);
  if (kind === 4) return s;
  if (kind !== 6) return undefined;
  s = s.toLowerCase();
  return mappedIpv4(s) ?? s;
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address (::ffff:0:0/96) carries, in any spelling
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`, `0:0:0:0:0:ffff:7f00:0001`), or undefined. `s` is a valid,
 * lower-case IPv6 address. Only the dotted spelling was seen before: `--deny ::ffff:7f00:1` was
 * accepted and never matched.
 */
function mappedIpv4(s: string): string | undefined {
  if (!s.includes('ffff')) return undefined;
  const groups = expandIpv6(s, true);
  if (groups === undefined || groups[5] !== 'ffff') return undefined;
  for (let i = 0; i < 5; i++) if (groups[i] !== '0') return undefined;
  const hi = Number.parseInt(groups[6] as string, 16);
  const lo = Number.parseInt(groups[7] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

export function familyOf(ip: string): Family {
  return ip.includes(':') ? 'ipv6' : 'ipv4';
}

/** Thrown for a malformed CIDR in flags or config; the message names the value. */
export class CidrError extends Error {}

/**
 * CIDRs of both families. Kept in one BlockList per family because a BlockList matches IPv4
 * addresses against IPv6 rules too (`::/0` would cover every IPv4 address).
 */
export class CidrSet {
  readonly v4 = new BlockList();
  readonly v6 = new BlockList();
  has(ip: string): boolean {
    const family = familyOf(ip);
    return (family === 'ipv4' ? this.v4 : this.v6).check(ip, family);
  }
}

/** Adds `1.2.3.0/24`, `2001:db8::/32`, a bare address, or `*` (everything) to `list`. */
export function addCidr(list: CidrSet, cidr: string): void {
  const s = cidr.trim();
  if (s === '*' || s === 'all') {
    list.v4.addSubnet('0.0.0.0', 0, 'ipv4');
    list.v6.addSubnet('::', 0, 'ipv6');
    return;
  }
  const slash = s.indexOf('/');
  const written = slash < 0 ? s : s.slice(0, slash);
  const ip = normaliseIp(written);
  if (ip === undefined) throw new CidrError(`not an IP address or CIDR: ${JSON.stringify(cidr)}`);
  const family = familyOf(ip);
  // An IPv4-mapped prefix (`::ffff:10.0.0.0/104`) is counted in IPv6 bits: 96 of them are the
  // mapping, the rest are the IPv4 prefix. Shorter ones reach past the mapped range.
  const mapped = family === 'ipv4' && written.includes(':');
  const max = family === 'ipv4' && !mapped ? 32 : 128;
  const bitsText = slash < 0 ? String(max) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max || (mapped && Number(bitsText) < 96)) {
    throw new CidrError(
      `bad prefix length in ${JSON.stringify(cidr)} (${mapped ? '96 to 128 for an IPv4-mapped address; or write the IPv4 CIDR' : `0 to ${max}`})`,
    );
  }
  const bits = mapped ? Number(bitsText) - 96 : Number(bitsText);
  // `::ffff:0:0/96`, the whole mapped block, is in IPv6 bogon lists, where it meant nothing here
  // (mapped spellings were not read); read now, it would be every IPv4 client. Said out loud instead.
  if (mapped && bits === 0) {
    throw new CidrError(
      `${JSON.stringify(cidr)} would cover every IPv4 client (an IPv4-mapped address is its IPv4 address): write 0.0.0.0/0 if that is meant, or leave it out of an IPv6 list`,
    );
  }
  (family === 'ipv4' ? list.v4 : list.v6).addSubnet(ip, bits, family);
}

/** Named groups usable in --trust-proxy, as nginx's and Express's `loopback`, `private`. */
const GROUPS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
};

/** A matcher for a list of CIDRs (and the group names above). Throws CidrError on a bad entry. */
export function cidrList(items: readonly string[]): CidrSet {
  const list = new CidrSet();
  for (const item of items) {
    for (const part of item.split(',')) {
      const name = part.trim();
      if (name === '') continue;
      const group = GROUPS[name.toLowerCase()];
      if (group !== undefined) for (const c of group) addCidr(list, c);
      else addCidr(list, name);
    }
  }
  return list;
}

/** True when the (normalised) address is covered by `list`. */
export function listHas(list: CidrSet, ip: string): boolean {
  return list.has(ip);
}

/**
 * The rate-limit key of an address: IPv6 clients usually hold a whole /64, so one client is one
 * /64 (what Cloudflare and nginx guides recommend); an IPv4 address is its own key.
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const groups = expandIpv6(ip, true);
  return groups === undefined ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

/**
 * The key of a peer's address as it arrives (`::ffff:a.b.c.d` from a dual-stack listener, a zone
 * index): normalised first, so an IPv4 client is its IPv4 address, not a share of one /64. Rate
 * limits and Basic auth's per-client bound key clients with it.
 */
export function addressKey(address: string): string {
  return clientKey(normaliseIp(address) ?? address);
}

/**
 * normaliseIp, and IPv6 in its one text form (RFC 5952 §4: lower case, no leading zeros, the
 * longest run of two or more zero groups as `::`, the first of equal runs). For addresses read
 * from headers, where a proxy may spell one address several ways (`2001:DB8:0::1`); a socket's
 * peer is already in this form. The same client is then the same text in logs and REMOTE_ADDR.
 */
export function canonicalIp(raw: string): string | undefined {
  const ip = normaliseIp(raw);
  if (ip === undefined || !ip.includes(':')) return ip;
  const groups = expandIpv6(ip, true);
  if (groups === undefined) return ip;
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** The 8 groups of an IPv6 address, leading zeros dropped; a dotted IPv4 tail as two groups when `dotted`. */
function expandIpv6(ip: string, dotted = false): string[] | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] as string).split(':')) : head;
  const last = tail[tail.length - 1];
  if (last?.includes('.')) {
    if (!dotted || isIP(last) !== 4) return undefined;
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    tail.splice(tail.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  if (halves.length === 1) return head.length === 8 ? head.map((g) => g.replace(/^0+(?=.)/, '')) : undefined;
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  return all.length === 8 ? all.map((g) => g.replace(/^0+(?=.)/, '')) : undefined;
}
