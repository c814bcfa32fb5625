// Replays the shared HTTP/1.1 conformance suites (../shared/conformance/) over raw TCP against a
// real Foyer server. Every FAIL or SOFT verdict must be a deliberate deviation listed, with its
// reason, in deviations.json; a listed deviation that passes again must be removed from the list.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Server, serve } from '../../src/server.ts';
import {
  available,
  type CaseLine,
  conformanceDir,
  loadDeviations,
  okHandler,
  type RunnerOutput,
  runSuite,
  suiteRuns,
} from './suites.ts';

if (!available) {
  const why = `${conformanceDir}/run-cases.mjs not found: the shared folder must sit beside the repository (../shared)`;
  console.log(`conformance suites skipped: ${why}`);
  test('HTTP/1.1 conformance suites', { skip: why }, () => {});
} else {
  const deviations = loadDeviations();
  const seen = new Set<string>();
  let completedRuns = 0;

  describe('HTTP/1.1 conformance suites', { concurrency: true }, () => {
    const servers: Server[] = [];
    after(() => Promise.all(servers.map((s) => s.close(1000))));

    for (const run of suiteRuns) {
      describe(run.name, () => {
        let out: RunnerOutput;
        before(
          async () => {
            const server = await serve({
              fetch: okHandler,
              host: '127.0.0.1',
              port: 0,
              limits: run.limits,
              logLevel: 'fatal',
            });
            servers.push(server);
            out = await runSuite(run, server.address.port);
            for (const c of out.cases) seen.add(c.id);
            completedRuns++;
          },
          { timeout: 15 * 60_000 },
        );

        test('the runner completes and scores cases', (t) => {
          assert.equal(out.exitCode, 0, `run-cases.mjs exited ${out.exitCode}: ${out.stderr}`);
          assert.ok(out.summary, 'run-cases.mjs printed no JSON summary');
          assert.ok(out.cases.length > 0, 'no case was run');
          const { pass, fail, soft, info, skipped } = out.summary;
          const listed = out.cases.filter((c) => deviations.has(c.id)).length;
          t.diagnostic(
            `${pass} pass, ${fail} fail, ${soft} soft, ${info} informational, ${skipped} not applicable; ${listed} listed deviations`,
          );
        });

        test('every failing case is a listed deviation', () => {
          const unexpected = out.cases.filter(
            (c: CaseLine) => (c.verdict === 'FAIL' || c.verdict === 'SOFT') && !deviations.has(c.id),
          );
          assert.deepEqual(
            unexpected.map((c) => c.line),
            [],
            `${unexpected.length} case(s) fail that deviations.json does not list (see test/conformance/show-case.ts to replay one)`,
          );
        });

        test('no listed deviation passes now', () => {
          const stale = out.cases.filter((c) => c.verdict === 'PASS' && deviations.has(c.id));
          assert.deepEqual(
            stale.map((c) => c.id),
            [],
            'these cases pass now: remove them from test/conformance/deviations.json',
          );
        });
      });
    }
  });

  test('every listed deviation names a case that was run', (t) => {
    if (completedRuns < suiteRuns.length) return t.skip('a suite did not run to the end');
    const unknown = [...deviations.keys()].filter((id) => !seen.has(id));
    assert.deepEqual(unknown, [], 'deviations.json lists ids that no suite ran (renamed, skipped or mistyped)');
  });
}
