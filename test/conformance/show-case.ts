// Replays conformance cases against a fresh Foyer server and prints the exact bytes both ways, for
// bug reports and for writing a deviation's reason.
//   node --import tsx test/conformance/show-case.ts llhttp-042 apache-strict-007 …
//   node --import tsx test/conformance/show-case.ts --raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../src/server.ts';
import { exchange } from '../helpers/raw-client.ts';
import { available, caseIds, conformanceDir, okHandler, runSuite, suiteRuns } from './suites.ts';

interface RawCase {
  id: string;
  raw_b64?: string;
  derived_raw_with_host_b64?: string;
  generator?: { prefix: string; repeat: string; count: number; suffix: string };
  expected?: string;
  messages_complete?: number;
}

const visible = (b: Buffer) =>
  b
    .toString('latin1')
    .replace(/[\x00-\x1f\x7f-\xff\\]/g, (c) =>
      c === '\r'
        ? '\\r'
        : c === '\n'
          ? '\\n\n'
          : c === '\\'
            ? '\\\\'
            : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    );

/** The raw bytes, half-closed; what comes back until the close or 800 ms of silence. */
async function exchangeRaw(port: number, raw: Buffer, halfClose: boolean): Promise<{ data: Buffer; closed: boolean }> {
  const r = await exchange(port, raw, { halfClose, quietMs: 800 });
  return { data: r.bytes, closed: r.closed };
}

if (!available) {
  console.error(`${conformanceDir} not found`);
  process.exit(2);
}
const ids = process.argv.slice(2);
if (ids.length === 0) {
  console.error("usage: node --import tsx test/conformance/show-case.ts CASE_ID… | --raw 'ESCAPED BYTES'…");
  process.exit(2);
}

/** Reads \r \n \t \\ and \xHH escapes, so that a raw request fits on a command line. */
const fromEscaped = (s: string) =>
  Buffer.from(
    s.replace(/\\(x[0-9a-fA-F]{2}|r|n|t|\\)/g, (_, e: string) =>
      e === 'r'
        ? '\r'
        : e === 'n'
          ? '\n'
          : e === 't'
            ? '\t'
            : e === '\\'
              ? '\\'
              : String.fromCharCode(Number.parseInt(e.slice(1), 16)),
    ),
    'latin1',
  );

if (ids[0] === '--raw') {
  const server = await serve({ fetch: okHandler, host: '127.0.0.1', port: 0, logLevel: 'fatal' });
  try {
    for (const text of ids.slice(1)) {
      const raw = fromEscaped(text);
      const { data, closed } = await exchangeRaw(server.address.port, raw, true);
      console.log(`--- request (${raw.length} bytes, then half-close)`);
      console.log(visible(raw));
      console.log(
        `--- response (${data.length} bytes, connection ${closed ? 'closed by server' : 'still open after 800 ms'})`,
      );
      console.log(visible(data));
    }
  } finally {
    await server.close(500);
  }
  process.exit(0);
}
for (const id of ids) {
  const run = suiteRuns.find((r) => caseIds(r.file).includes(id) && (!r.only || r.only([id]).length > 0));
  if (!run) {
    console.error(`${id}: no such case`);
    continue;
  }
  const doc = JSON.parse(readFileSync(join(conformanceDir, run.file), 'utf8')) as RawCase[] | { cases: RawCase[] };
  const c = (Array.isArray(doc) ? doc : doc.cases).find((x) => x.id === id)!;
  const g = c.generator;
  let raw = c.raw_b64 ? Buffer.from(c.raw_b64, 'base64') : Buffer.alloc(0);
  if (!c.raw_b64 && g) {
    raw = Buffer.concat([
      Buffer.from(g.prefix, 'latin1'),
      Buffer.alloc(g.count, g.repeat),
      Buffer.from(g.suffix, 'latin1'),
    ]);
  }
  if (run.args.includes('--use-host-variant') && c.derived_raw_with_host_b64)
    raw = Buffer.from(c.derived_raw_with_host_b64, 'base64');
  const server = await serve({ fetch: okHandler, host: '127.0.0.1', port: 0, limits: run.limits, logLevel: 'fatal' });
  try {
    const verdict = await runSuite({ ...run, only: () => [id] }, server.address.port);
    const halfClose =
      !['incomplete', 'accept_then_close'].includes(c.expected ?? '') && (c.messages_complete ?? 1) <= 1;
    const { data, closed } = await exchangeRaw(server.address.port, raw, halfClose);
    console.log(`=== ${id} (${run.name}${run.limits ? `, limits ${JSON.stringify(run.limits)}` : ''})`);
    console.log(verdict.cases[0]?.line ?? `(no verdict: ${verdict.stderr})`);
    console.log(`--- request (${raw.length} bytes${halfClose ? ', then half-close' : ''})`);
    console.log(
      raw.length > 2048 ? `${visible(raw.subarray(0, 2048))}… (${raw.length - 2048} more bytes)` : visible(raw),
    );
    console.log(
      `--- response (${data.length} bytes, connection ${closed ? 'closed by server' : 'still open after 800 ms'})`,
    );
    console.log(visible(data));
  } finally {
    await server.close(500);
  }
}
