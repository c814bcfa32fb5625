import assert from 'node:assert/strict';
import { test } from 'node:test';
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
