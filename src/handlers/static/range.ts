// Range requests (RFC 9110 §14): parse `bytes=` range sets against a known length.
import { trimOws } from '../../util/ows.ts';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * - `ignore`: the field is absent, malformed, not in bytes, or asks for too many parts; a server
 *   MAY ignore such a Range and send the whole representation (RFC 9110 §14.2).
 * - `unsatisfiable`: well-formed but no part overlaps the content → 416 (§15.5.17).
 * - a list of ranges, sorted and with overlapping or adjacent parts merged (§14.2 lets a server
 *   coalesce, which also defeats the many-small-overlapping-ranges amplification).
 */
export type RangeResult = 'ignore' | 'unsatisfiable' | ByteRange[];

const DIGITS = /^\d+$/;

export function parseRange(header: string, size: number, maxParts: number): RangeResult {
  const eq = header.indexOf('=');
  if (eq < 0 || trimOws(header.slice(0, eq)).toLowerCase() !== 'bytes') return 'ignore';
  const specs = header.slice(eq + 1).split(',');
  if (specs.length > maxParts) return 'ignore';
  const ranges: ByteRange[] = [];
  let sawValid = false;
  for (const raw of specs) {
    const spec = trimOws(raw);
    if (spec === '') continue; // RFC 9110 §5.6.1: empty list elements are ignored
    const dash = spec.indexOf('-');
    if (dash < 0) return 'ignore';
    const a = trimOws(spec.slice(0, dash));
    const b = trimOws(spec.slice(dash + 1));
    if (a === '') {
      // suffix-byte-range-spec: the last N bytes.
      if (!DIGITS.test(b)) return 'ignore';
      sawValid = true;
      const n = Number(b);
      if (n === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    if (!DIGITS.test(a) || (b !== '' && !DIGITS.test(b))) return 'ignore';
    const start = Number(a);
    const last = b === '' ? Number.POSITIVE_INFINITY : Number(b);
    if (last < start) return 'ignore';
    sawValid = true;
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(last, size - 1) });
  }
  if (!sawValid) return 'ignore';
  if (ranges.length === 0) return 'unsatisfiable';
  ranges.sort((x, y) => x.start - y.start);
  const merged: ByteRange[] = [ranges[0]!];
  for (let i = 1; i < ranges.length; i++) {
    const r = ranges[i]!;
    const top = merged[merged.length - 1]!;
    if (r.start <= top.end + 1) top.end = Math.max(top.end, r.end);
    else merged.push(r);
  }
  return merged;
}

/** `bytes 0-99/1234` for a 206 part. */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}
