// RFC 9110 §6.6.1: an origin server with a clock MUST send Date. Formatting it per response is
// measurable, and so is reading the clock (about 55 ns a call here): the line is kept until the
// next second begins, when a timer forgets it (node:http's own date cache works the same way).
// A timer runs late only while the event loop is blocked, and then no response is written anyway.
let cachedLine: string | undefined;

function forget(): void {
  cachedLine = undefined;
}

function refresh(): string {
  const now = Date.now();
  const intoSecond = now % 1000;
  cachedLine = `date: ${new Date(now - intoSecond).toUTCString()}\r\n`;
  // unref: a date cache must not keep a process alive.
  setTimeout(forget, 1000 - intoSecond).unref();
  return cachedLine;
}

/** The `date: …\r\n` header line for now. */
export function dateLine(): string {
  return cachedLine ?? refresh();
}
