// Request ids: short, unique per process and start time, cheap (a prefix fixed at start and a
// counter, no randomness per request). An id from a trusted proxy's X-Request-Id is kept when it
// is a plain token: it goes into logs and a response header, so nothing else is accepted.
import process from 'node:process';

const prefix = `${Date.now().toString(36)}${process.pid.toString(36)}-`;
let counter = 0;

/** `<start time><pid>-<n>`: the counter in decimal, which V8 turns into a string on a fast path (base 36 costs a runtime call per id). */
export function nextRequestId(): string {
  return prefix + ++counter;
}

const SAFE_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/** An incoming id worth keeping (bounded, no spaces, quotes or controls), else undefined. */
export function acceptableRequestId(value: string | undefined): string | undefined {
  return value !== undefined && SAFE_ID.test(value) ? value : undefined;
}
