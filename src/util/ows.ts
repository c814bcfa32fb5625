// Optional whitespace in HTTP fields is SP and HTAB only (RFC 9110 §5.6.3). JavaScript's trim()
// and `\s` also strip U+00A0, U+FEFF and friends, which turns `Transfer-Encoding: \xa0chunked`
// (a known smuggling gadget: other servers read it as an unknown coding) into `chunked`. Every
// field parser trims with these instead.

const isOws = (c: number) => c === 0x20 || c === 0x09;

/** `s` without leading and trailing SP/HTAB. */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isOws(s.charCodeAt(a))) a++;
  while (b > a && isOws(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
