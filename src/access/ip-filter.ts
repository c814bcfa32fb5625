// `--allow` / `--deny` and `ipFilter()`: address rules with net.CidrSet. Every applicable layer
// (the global lists, then each rule whose path matches) must let the address through: a deny
// that covers it refuses it (deny wins), and a layer with any allow refuses what it does not cover.
// A path rule can therefore narrow access below a path, never widen it. Refusals are 403.
import type { Context, Middleware } from '../types.ts';
import { FoyerError } from '../util/errors.ts';
import { type CidrSet, cidrList, listHas, normaliseIp } from './ip-address.ts';
import { applies, compileMatch, type PathMatch, requestPath } from './path-rules.ts';
import { withGate } from './sync-gate.ts';

export interface IpRules {
  /** CIDRs (or a bare address, `*`, `loopback`, `private`) let in; once any is given, others are refused. */
  allow?: readonly string[];
  /** CIDRs refused; deny wins over allow. */
  deny?: readonly string[];
}

export interface IpFilterOptions extends IpRules {
  /** Extra rules for paths (`/admin` and below, globs, RegExps): checked in addition to the global lists. */
  rules?: ReadonlyArray<IpRules & { path: PathMatch }>;
}

interface Layer {
  test: ((path: string) => boolean) | undefined;
  allow: CidrSet | undefined;
  deny: CidrSet | undefined;
}

function layer(rules: IpRules, test?: (path: string) => boolean): Layer {
  return {
    test,
    allow: rules.allow !== undefined && rules.allow.length > 0 ? cidrList(rules.allow) : undefined,
    deny: rules.deny !== undefined && rules.deny.length > 0 ? cidrList(rules.deny) : undefined,
  };
}

function admits(l: Layer, ip: string | undefined): boolean {
  // An address we cannot read (a unix socket peer has none) is refused by any list at all.
  if (ip === undefined) return l.allow === undefined && l.deny === undefined;
  if (l.deny !== undefined && listHas(l.deny, ip)) return false;
  return l.allow === undefined || listHas(l.allow, ip);
}

/** The decision on its own: true when `address` may fetch `url`. Throws CidrError for bad options. */
export function ipDecider(options: IpFilterOptions): (address: string, url: string) => boolean {
  const layers: Layer[] = [layer(options)];
  for (const r of options.rules ?? []) layers.push(layer(r, compileMatch(r.path)));
  const needsPath = layers.some((l) => l.test !== undefined);
  return (address, url) => {
    const ip = normaliseIp(address);
    const path = needsPath ? requestPath(url) : undefined;
    for (const l of layers) {
      if (l.test !== undefined && !applies(l.test, path)) continue;
      if (!admits(l, ip)) return false;
    }
    return true;
  };
}

/** Middleware refusing with 403 the addresses the rules keep out (ctx.remoteAddress: after trusted proxies). */
export function ipFilter(options: IpFilterOptions): Middleware {
  const decide = ipDecider(options);
  // Always decided at once: the middleware and the pipeline's synchronous path run this same gate.
  const gate = (req: Request, ctx: Context): true => {
    if (decide(ctx.remoteAddress, req.url)) return true;
    ctx.log.debug({ remote: ctx.remoteAddress }, 'address refused by access rules');
    throw new FoyerError('FOYER_FORBIDDEN', 'address refused by access rules');
  };
  return withGate((req, ctx, next) => {
    gate(req, ctx);
    return next();
  }, gate);
}
