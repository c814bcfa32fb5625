// The access log's own cost, without a server or a load generator: CPU time per record() of
// N transactions plus the flush that formats and writes them, for one or more builds in the same
// process, interleaved, best of several rounds (the minimum resists a busy machine). Run under the
// load lock:
//   npm run build && flock /tmp/foyer-load.lock node --import tsx bench/access-log-record.ts dist [other/dist] [--format json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AccessLog as AccessLogClass } from '../src/log/access-log.ts';
import type { Transaction } from '../src/reception/transaction.ts';

const args = process.argv.slice(2);
const at = args.indexOf('--format');
const format = (at >= 0 ? args.splice(at, 2)[1] : 'combined') as 'combined' | 'common' | 'json';
const builds = args.length > 0 ? args : ['dist'];
const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-logrec-'));
const N = 50_000;
const ROUNDS = 8;

const ctx = { remoteAddress: '127.0.0.1', remoteUser: undefined, requestId: 'lz1x2-1' };
const now = Date.now();
const txs: Transaction[] = Array.from({ length: 4096 }, (_, i) => ({
  start: now,
  end: now,
  method: 'GET',
  target: `/plaintext?n=${i & 7}`,
  minor: 1,
  rawLine: '',
  status: 200,
  bytes: 13,
  fields: ['Host', '127.0.0.1:8080', 'User-Agent', 'wrk'],
  ctx: ctx as unknown as Transaction['ctx'],
  peer: '127.0.0.1',
}));

const impls: [string, typeof AccessLogClass][] = [];
for (const b of builds) {
  const url = pathToFileURL(join(resolve(b), 'log/access-log.js')).href;
  impls.push([b, ((await import(url)) as { AccessLog: typeof AccessLogClass }).AccessLog]);
}
const best = new Map<string, number>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? impls : [...impls].reverse();
    for (const [name, AccessLog] of order) {
      const log = new AccessLog({ path: join(dir, 'access.log'), format });
      await new Promise((r) => setTimeout(r, 50));
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) log.record(txs[i & 4095]!);
      await log.flush();
      const c = process.cpuUsage(c0);
      await log.close();
      const ns = ((c.user + c.system) * 1000) / N;
      // The first two rounds warm the code up.
      if (round > 1) best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, ns));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`access log, ${format}: CPU per record (record + format + write), best of ${ROUNDS - 2} rounds`);
for (const [name, ns] of best) console.log(`  ${name.padEnd(40)} ${ns.toFixed(0)} ns`);
