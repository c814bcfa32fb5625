// Proactive content negotiation (RFC 9110 §12): pick one of the server's offers from an
// Accept or Accept-Encoding field by q-value. Pure; no I/O.
import { trimOws } from './ows.ts';

interface Weighted {
  value: string;
  q: number;
}

/** Parses a comma-separated list of `token;q=x` members, lower-cased; malformed q counts as 0. */
export function parseWeightedList(field: string): Weighted[] {
  const out: Weighted[] = [];
  for (const part of field.split(',')) {
    const semi = part.indexOf(';');
    const value = trimOws(semi === -1 ? part : part.slice(0, semi)).toLowerCase();
    if (value === '') continue;
    let q = 1;
    if (semi !== -1) {
      // RFC 9110 §12.4.2: weight = OWS ";" OWS "q=" qvalue; other parameters belong to media ranges.
      for (const param of part.slice(semi + 1).split(';')) {
        const eq = param.indexOf('=');
        if (eq === -1) continue;
        if (trimOws(param.slice(0, eq)).toLowerCase() !== 'q') continue;
        const raw = trimOws(param.slice(eq + 1));
        q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(raw) ? Number(raw) : 0;
      }
    }
    out.push({ value, q });
  }
  return out;
}

/**
 * The content coding to use from `offers` (in server preference order), or undefined for none.
 * RFC 9110 §12.5.3: "*" matches codings not listed; q=0 means "not acceptable"; an absent field
 * would allow any coding, but like nginx and Caddy we only compress when the client asked.
 */
export function preferredEncoding(acceptEncoding: string | null, offers: readonly string[]): string | undefined {
  if (!acceptEncoding) return undefined;
  const list = parseWeightedList(acceptEncoding);
  let star = -1;
  for (const m of list) if (m.value === '*') star = m.q;
  let best: string | undefined;
  let bestQ = 0;
  for (const offer of offers) {
    let q = -1;
    for (const m of list) {
      // x-gzip is an alias of gzip (RFC 9110 §8.4.1.3).
      if (m.value === offer || (offer === 'gzip' && m.value === 'x-gzip')) q = Math.max(q, m.q);
    }
    if (q === -1) q = star === -1 ? 0 : star;
    if (q > bestQ) {
      best = offer;
      bestQ = q;
    }
  }
  return best;
}

/** The media type from `offers` the Accept field prefers (RFC 9110 §12.5.1), ties going to the first offer. */
export function preferredMediaType(accept: string | null, offers: readonly string[]): string | undefined {
  if (!accept) return offers[0];
  const list = parseWeightedList(accept);
  let best: string | undefined;
  let bestQ = 0;
  for (const offer of offers) {
    const slash = offer.indexOf('/');
    const type = offer.slice(0, slash);
    // The most specific matching range decides the offer's weight.
    let q = 0;
    let specificity = -1;
    for (const m of list) {
      let s = -1;
      if (m.value === offer) s = 2;
      else if (m.value === `${type}/*`) s = 1;
      else if (m.value === '*/*') s = 0;
      if (s > specificity) {
        specificity = s;
        q = m.q;
      }
    }
    if (q > bestQ) {
      best = offer;
      bestQ = q;
    }
  }
  return best;
}
