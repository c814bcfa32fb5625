// The one decision about who is asking. When the peer is a trusted proxy, the client address comes
// from the forwarding header that proxy writes, read from the right: each trusted hop is skipped and
// the first untrusted one is the client. The leftmost entry is never believed, since the client
// wrote it. Reception calls this once per request; ctx.remoteAddress, PHP's REMOTE_ADDR, the access
// log, access rules and rate limits all read its answer.
import { type Hop, parseForwarded, parseXForwardedFor } from './forwarded-header.ts';
import { type CidrSet, canonicalIp, cidrList, listHas, normaliseIp } from './ip-address.ts';
import { trimOws } from '../util/ows.ts';

export interface ClientInfo {
  remoteAddress: string;
  /**
   * The client's port when the address came from a forwarding header: the port its hop named, or
   * 0 (unknown) when it named none; absent when the address is the peer's, whose port stands. The
   * proxy's own port would be no client's (nginx's realip does the same with $remote_port).
   */
  remotePort?: number;
  /** The scheme the client used: TLS here, or https reported by a trusted proxy. */
  secure: boolean;
}

/** Decides a request's client from its peer and raw header pairs ([name, value, name, value …]). */
export type ClientResolver = (peer: string, secure: boolean, headers: readonly string[]) => ClientInfo;

export interface TrustProxyOptions {
  /** CIDRs (or `loopback`, `private`, `linklocal`) of the proxies in front of Foyer. */
  trust: readonly string[];
  /**
   * The header the proxies write. A proxy appends only to its own header; reading the other one
   * would believe whatever the client put there. Default `x-forwarded-for`.
   */
  header?: 'x-forwarded-for' | 'forwarded';
}

function headerValues(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i] as string;
    if (n.length === name.length && n.toLowerCase() === name) out.push(headers[i + 1] as string);
  }
  return out;
}

/**
 * The client hop: the rightmost untrusted one, or the leftmost when every hop is trusted. An
 * unknown or malformed hop (`junk`, `unknown`, `for=_hidden`) cannot be checked, so the walk stops
 * there and the last address read, the hop to its right, is the client (nginx's real_ip_recursive
 * does the same). Falling back to the peer instead let a client inside the trusted range (a
 * neighbour container under `--trust-proxy private`) pose as its proxy by sending `junk` itself:
 * past `--deny`, into another rate-limit key and REMOTE_ADDR. Undefined only when the rightmost
 * hop, the one the peer wrote, is unreadable.
 */
function pickClient(hops: Hop[], trusted: CidrSet): { ip: string; hop: Hop } | undefined {
  let last: { ip: string; hop: Hop } | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as Hop;
    const ip = hop.for === undefined ? undefined : canonicalIp(hop.for);
    if (ip === undefined) return last;
    last = { ip, hop };
    if (!listHas(trusted, ip)) return last;
  }
  return last;
}

/** X-Forwarded-Proto is believed only as one plain value (proxies set it; lists are ambiguous). */
function forwardedProto(headers: readonly string[]): boolean | undefined {
  const values = headerValues(headers, 'x-forwarded-proto');
  if (values.length !== 1) return undefined;
  const v = trimOws(values[0] as string).toLowerCase();
  return v === 'https' ? true : v === 'http' ? false : undefined;
}

/** Builds the resolver for `--trust-proxy`. Throws CidrError for a malformed entry. */
export function trustProxy(options: TrustProxyOptions): ClientResolver {
  const trusted = cidrList(options.trust);
  const useForwarded = options.header === 'forwarded';
  const name = useForwarded ? 'forwarded' : 'x-forwarded-for';
  // The last peer's and the last single forwarding line's answers, remembered: a kept-alive
  // connection (a proxy's above all) brings the same peer request after request, and a client the
  // same line. Both are pure functions of that text and of the fixed trusted list.
  let lastPeer: string | undefined;
  let lastPeerIp = '';
  let lastPeerTrusted = false;
  let lastLine: string | undefined;
  let lastClient: { ip: string; hop: Hop } | undefined;
  return (peer, secure, headers) => {
    if (peer !== lastPeer) {
      lastPeerIp = normaliseIp(peer) ?? peer;
      lastPeerTrusted = listHas(trusted, lastPeerIp);
      lastPeer = peer;
    }
    const peerIp = lastPeerIp;
    if (!lastPeerTrusted) return { remoteAddress: peerIp, secure };
    const lines = headerValues(headers, name);
    let client: { ip: string; hop: Hop } | undefined;
    if (lines.length === 1 && lines[0] === lastLine) client = lastClient;
    else {
      const hops = useForwarded ? parseForwarded(lines) : parseXForwardedFor(lines);
      client = hops === undefined ? undefined : pickClient(hops, trusted);
      if (lines.length === 1) {
        lastLine = lines[0];
        lastClient = client;
      }
    }
    let scheme: boolean | undefined;
    if (useForwarded) scheme = client?.hop.proto === 'https' ? true : client?.hop.proto === 'http' ? false : undefined;
    else scheme = forwardedProto(headers);
    if (client === undefined) return { remoteAddress: peerIp, secure: scheme ?? secure };
    return { remoteAddress: client.ip, remotePort: client.hop.port ?? 0, secure: scheme ?? secure };
  };
}

/** Without trusted proxies: the peer, with IPv4-mapped addresses shown as IPv4. */
export const peerOnly: ClientResolver = (peer, secure) => ({ remoteAddress: normaliseIp(peer) ?? peer, secure });
