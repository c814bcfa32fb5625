import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Transaction } from '../reception/transaction.ts';
import { createFormatter, LocalTime, nginxEscape } from './access-format.ts';
import { prettyLine } from './pretty.ts';

const tx = (over: Partial<Transaction> = {}): Transaction => ({
  start: 1_000,
  end: 1_010,
  method: 'GET',
  target: '/a?b',
  minor: 1,
  rawLine: '',
  status: 200,
  bytes: 5,
  fields: ['Host', 'x', 'REFERER', 'http://r/', 'user-agent', 'ua'],
  ctx: undefined,
  peer: '10.0.0.1',
  ...over,
});

test('nginx escaping: quote, backslash, controls, DEL and high bytes become \\xHH; the rest stays', () => {
  const table: [string, string][] = [
    ['plain text/1.0 (x; y)', 'plain text/1.0 (x; y)'],
    ['"', '\\x22'],
    ['\\', '\\x5C'],
    ['\t\x00\x1f', '\\x09\\x00\\x1F'],
    ['\x7f', '\\x7F'],
    ['\xc3\xa9', '\\xC3\\xA9'],
    ["'`$<>", "'`$<>"],
  ];
  for (const [input, want] of table) assert.equal(nginxEscape(input), want, JSON.stringify(input));
});

test('nginx escaping equals the per-character rule on any string (the regex pre-check misses nothing)', () => {
  const rule = (s: string) =>
    [...s]
      .flatMap((ch) => ch.split(''))
      .map((u) => {
        const c = u.charCodeAt(0);
        return c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f
          ? `\\x${(c & 0xff).toString(16).toUpperCase().padStart(2, '0')}`
          : u;
      })
      .join('');
  const unit = fc.oneof(
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('"', '\\', '\x00', '\x1f', '\x20', '\x7e', '\x7f', '\x80', '\xff', 'a'),
  );
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 30 }), (s) => assert.equal(nginxEscape(s), rule(s))),
    { numRuns: 5000 },
  );
});

/**
 * The combined and common lines spelled out from the transaction alone, as nginx's log_format
 * defines them, with no state: what the formatter, which keeps parts between lines, must write.
 */
function statelessLine(format: 'combined' | 'common', t: Transaction, now: number): string {
  const dashed = (v: string | undefined) => (v === undefined ? '-' : nginxEscape(v));
  const first = (lower: string) => {
    for (let i = 0; i < t.fields.length; i += 2)
      if (t.fields[i]!.replace(/[A-Z]/g, (c) => c.toLowerCase()) === lower) return t.fields[i + 1];
    return undefined;
  };
  const address = (t.ctx === undefined ? t.peer : t.ctx.remoteAddress) || '-';
  const request =
    t.minor < 0 ? dashed(t.rawLine || undefined) : nginxEscape(`${t.method} ${t.target} HTTP/1.${t.minor}`);
  const line = `${nginxEscape(address)} - ${dashed(t.ctx?.remoteUser)} [${new LocalTime().format(now)}] "${request}" ${t.status} ${t.bytes}`;
  return format === 'combined'
    ? `${line} "${dashed(first('referer'))}" "${dashed(first('user-agent'))}"\n`
    : `${line}\n`;
}

test('a formatter that reuses parts of the previous line writes what the stateless definition writes, line after line', () => {
  // Small pools, so that values repeat, change back and change one at a time, as on a connection.
  const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
  const ctxOf = (remoteAddress: string, remoteUser: string | undefined) =>
    ({ remoteAddress, remoteUser, requestId: 'i' }) as unknown as Transaction['ctx'];
  const one = fc.record({
    fields: pick<string[]>(
      [],
      ['Referer', 'r'],
      ['User-Agent', 'u'],
      ['referer', 'r', 'user-agent', 'u"'],
      ['User-Agent', ''],
    ),
    ctx: pick(
      undefined,
      ctxOf('10.0.0.2', undefined),
      ctxOf('10.0.0.2', 'ann'),
      ctxOf('', 'bob'),
      ctxOf('10.0.0.3', undefined),
    ),
    peer: pick('10.0.0.1', ''),
    // Values the engine never produces (an empty method, a negative size) too: the parts kept
    // between lines must not depend on which values are possible.
    method: pick('GET', 'PO"ST', 'DELETE', ''),
    target: pick('/a', '/b"', '/a\x7f', ''),
    status: pick(200, 404, 1000, -1),
    bytes: pick(0, 5, 123456, -1),
    minor: pick(1, 0, -1),
    rawLine: pick('', 'BAD'),
    // Same second, the next second, back in time, and before 1970 (second -1).
    at: pick(1_796_000_000_000, 1_796_000_000_999, 1_796_000_001_000, 1_795_999_999_999, -500),
  });
  fc.assert(
    fc.property(pick('combined' as const, 'common' as const), fc.array(one, { maxLength: 12 }), (format, steps) => {
      const reused = createFormatter(format);
      for (const st of steps) {
        const t = tx({
          fields: st.fields,
          ctx: st.ctx,
          peer: st.peer,
          method: st.method,
          target: st.target,
          status: st.status,
          bytes: st.bytes,
          minor: st.minor,
          rawLine: st.rawLine,
        });
        assert.equal(reused(t, st.at), statelessLine(format, t, st.at));
      }
    }),
    { numRuns: 2000 },
  );
});

test('combined and common lines are printable ASCII whatever the request holds (the log writes them a byte per char)', () => {
  const any = fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    maxLength: 20,
  });
  fc.assert(
    fc.property(
      fc.constantFrom('combined' as const, 'common' as const),
      fc.record({
        method: any,
        target: any,
        rawLine: any,
        peer: any,
        ua: any,
        ref: any,
        address: any,
        user: fc.option(any, { nil: undefined }),
      }),
      fc.constantFrom(-1, 0, 1),
      (format, v, minor) => {
        const ctx = { remoteAddress: v.address, remoteUser: v.user, requestId: 'i' } as unknown as Transaction['ctx'];
        for (const c of [ctx, undefined]) {
          const t = tx({
            method: v.method,
            target: v.target,
            rawLine: v.rawLine,
            peer: v.peer,
            minor,
            ctx: c,
            fields: ['User-Agent', v.ua, 'Referer', v.ref],
          });
          assert.match(createFormatter(format)(t, 1_796_000_000_000), /^[\x20-\x7e]*\n$/);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('$time_local has the day, month name, time and UTC offset of the local zone', () => {
  const t = new LocalTime().format(Date.UTC(2026, 10, 30, 11, 5, 9));
  assert.match(t, /^\d\d\/(Nov|Dec)\/2026:\d\d:\d\d:09 [+-]\d{4}$/);
});

test('combined and common lines; a missing field is "-", case-insensitive field names', () => {
  const now = 2_000;
  assert.match(
    createFormatter('combined')(tx(), now),
    /^10\.0\.0\.1 - - \[[^\]]+\] "GET \/a\?b HTTP\/1\.1" 200 5 "http:\/\/r\/" "ua"\n$/,
  );
  assert.match(createFormatter('combined')(tx({ fields: [] }), now), /" 200 5 "-" "-"\n$/);
  assert.match(createFormatter('common')(tx(), now), /^10\.0\.0\.1 - - \[[^\]]+\] "GET \/a\?b HTTP\/1\.1" 200 5\n$/);
});

test('a refusal shows its raw request line, escaped; nothing read at all is "-"', () => {
  const refused = tx({ minor: -1, method: '', target: '', rawLine: 'GET /x"y HTTP/1.1', status: 400 });
  assert.match(createFormatter('combined')(refused, 0), /"GET \/x\\x22y HTTP\/1\.1" 400 /);
  assert.match(createFormatter('combined')(tx({ minor: -1, rawLine: '', status: 408 }), 0), /"-" 408 /);
});

test('json: split request line for refusals, UTF-8 decoded fields, duration in ms', () => {
  const o = JSON.parse(
    createFormatter('json', 2)(
      tx({ minor: -1, rawLine: 'BREW /pot HTTP/1.1', fields: ['User-Agent', 'caf\xc3\xa9'], status: 400 }),
      1_250,
    ),
  ) as Record<string, unknown>;
  assert.deepEqual(
    [o.method, o.url, o.protocol, o.statusCode, o.userAgent, o.responseTime, o.worker, o.remoteAddress],
    ['BREW', '/pot', 'HTTP/1.1', 400, 'café', 250, 2, '10.0.0.1'],
  );
});

test('pretty server log line: time, level, message, fields, then the stack indented', () => {
  const line = prettyLine(
    JSON.stringify({
      level: 50,
      time: 0,
      msg: 'handler failed',
      url: 'http://x/a b',
      err: { message: 'boom', stack: 'Error: boom\n    at f (a.ts:1)' },
    }),
    false,
  );
  assert.match(line, /^\d\d:\d\d:\d\d ERROR handler failed url="http:\/\/x\/a b" err=boom\n {4}at f \(a\.ts:1\)\n$/);
});

test('pretty server log line: request data never reaches the terminal as control sequences', () => {
  const esc = '\x1b]0;owned\x07\x1b[2J';
  const line = prettyLine(
    JSON.stringify({
      level: 50,
      time: 0,
      msg: `bad id ${esc}`,
      id: `x${esc}`,
      word: 'a\u009b31m',
      err: { message: `no ${esc}`, stack: `Error: no\n    at ${esc}` },
    }),
    false,
  );
  assert.doesNotMatch(line, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, JSON.stringify(line));
  assert.match(line, /bad id \\u001b\]0;owned/);
  assert.match(line, /word="a\\u009b31m"/);
});
