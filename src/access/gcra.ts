// The generic cell rate algorithm: one number per key (the theoretical arrival time, TAT) gives
// exactly nginx's `limit_req rate=R burst=B nodelay`: a request is accepted while the key is at
// most B emission intervals ahead of now, and each accepted request moves it one interval on.
// Refused requests do not move it (nginx does not count them either).

export interface RateSpec {
  /** Emission interval: milliseconds per request at the sustained rate (1000 / r per second). */
  interval: number;
  /** Requests allowed above the rate at once (nginx's burst). */
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Requests that would still be accepted right now. */
  remaining: number;
  /** Ms until a refused request would be accepted (0 when allowed). */
  retryAfterMs: number;
  /** Ms until the key is back to its full allowance. */
  resetMs: number;
}

/** `20r/s`, `300r/m` (nginx's syntax; a bare number is per second). Undefined when malformed. */
export function parseRate(text: string | number): number | undefined {
  if (typeof text === 'number') return text > 0 && Number.isFinite(text) ? 1000 / text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:r\/(s|m))?\s*$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  if (!(n > 0)) return undefined;
  return (m[2] === 'm' ? 60_000 : 1000) / n;
}

/** Decides one request for a key whose TAT is `tat` (undefined for a new key); returns the new TAT. */
export function gcra(tat: number | undefined, now: number, spec: RateSpec): { tat: number; decision: RateDecision } {
  const start = tat === undefined || tat < now ? now : tat;
  const tolerance = spec.burst * spec.interval;
  const ahead = start - now;
  if (ahead > tolerance) {
    return { tat: start, decision: decide(false, ahead, spec) };
  }
  const next = start + spec.interval;
  return { tat: next, decision: decide(true, next - now, spec) };
}

/** The figures of a decision from how far ahead of now the key stands after it. */
export function decide(allowed: boolean, ahead: number, spec: RateSpec): RateDecision {
  const capacity = (spec.burst + 1) * spec.interval;
  return {
    allowed,
    remaining: Math.max(0, Math.floor((capacity - ahead) / spec.interval + 1e-9)),
    retryAfterMs: allowed ? 0 : Math.max(0, ahead - spec.burst * spec.interval),
    resetMs: Math.max(0, ahead),
  };
}
