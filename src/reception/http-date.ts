// RFC 9110 §6.6.1: an origin server with a clock MUST send Date. Formatting it per response is
// measurable, so it is cached for the current second.
let cachedLine = '';
let cachedSecond = -1;

/** The `date: …\r\n` header line for now. */
export function dateLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedLine = `date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return cachedLine;
}
