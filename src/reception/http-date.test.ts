import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dateLine } from './http-date.ts';

const lineFor = (ms: number) => `date: ${new Date(ms - (ms % 1000)).toUTCString()}\r\n`;

test('the date line is the current second in IMF-fixdate (RFC 9110 §5.6.7), and follows the clock', async () => {
  // Twice across a second boundary: a cache that is never forgotten would keep the first second.
  for (let i = 0; i < 2; i++) {
    const before = Date.now();
    const line = dateLine();
    const after = Date.now();
    assert.match(
      line,
      /^date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\r\n$/,
    );
    assert.ok(
      line === lineFor(before) || line === lineFor(after),
      `${line} is neither ${lineFor(before)} nor ${lineFor(after)}`,
    );
    await sleep(1000 - (Date.now() % 1000) + 20);
  }
});

test("a test that fakes setTimeout while the line is made does not freeze it (node:timers' own is used)", async () => {
  await sleep(1000 - (Date.now() % 1000) + 20); // the line made above is forgotten
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    dateLine();
  } finally {
    mock.timers.reset();
  }
  await sleep(1000 - (Date.now() % 1000) + 20);
  const before = Date.now();
  const line = dateLine();
  assert.ok(line === lineFor(before) || line === lineFor(Date.now()), `${line} is stale`);
});
