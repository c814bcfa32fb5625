// Characters for property tests of header and URL validators.
import fc from 'fast-check';

/** Characters where header validators go wrong: C0 controls, DEL, latin1, beyond latin1, surrogates. */
export const nastyChar = fc.oneof(
  fc.constantFrom('a', ' ', '\t', ':', ';', '=', ','),
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u007f', '\u0080', '\u00a0', '\u00e9', '\u00ff'),
  fc.integer({ min: 0x100, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u010a', '\u010d', '\u0100', '\u2028', '\ufeff', '\ud800', '\udc00', '\ud83d\ude00'),
);
