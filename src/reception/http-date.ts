// RFC 9110 §6.6.1: an origin server with a clock MUST send Date. Formatting it per response is
// measurable, and so is reading the clock (about 55 ns a call here): the line is kept until the
// next second begins, when a timer forgets it (node:http's own date cache works the same way).
// So the Date can be late by as long as the event loop is blocked: a handler that spins for 3 s
// sends a Date 3 s old, as node:http does.
import { setTimeout as setTimer } from 'node:timers';

let cachedLine: string | undefined;

function forget(): void {
  cachedLine = undefined;
}

function refresh(): string {
  const now = Date.now();
  const intoSecond = now % 1000;
  cachedLine = `date: ${new Date(now - intoSecond).toUTCString()}\r\n`;
  // unref: a date cache must not keep a process alive. node:timers' own function, bound when this
  // module loads: a test that fakes the global setTimeout later must not leave the line frozen.
  setTimer(forget, 1000 - intoSecond).unref();
  return cachedLine;
}

/** The `date: …\r\n` header line for now. */
export function dateLine(): string {
  return cachedLine ?? refresh();
}
