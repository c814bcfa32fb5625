import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSize, resolveSettings, UsageError } from '../../src/config/flags.ts';
import { ConfigError, findConfig, loadConfig, validateConfig } from '../../src/config/load.ts';
import { shutdownTimeoutOf } from '../../src/config/schema.ts';
import { closest } from '../../src/config/validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'foyer-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problems(value: unknown): string[] {
  try {
    validateConfig(value);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}

test('a valid configuration passes unchanged', () => {
  const config = {
    port: 8080,
    host: '0.0.0.0',
    root: 'public',
    limits: { maxBodySize: 10_000_000, headersTimeout: 5000 },
    logLevel: 'warn',
    compress: false,
    static: { index: ['index.html'], dotfiles: 'ignore', cacheControl: [{ match: /\.js$/, value: 'max-age=60' }] },
  };
  assert.equal(validateConfig(config), config);
});

test('every problem is reported with its path and what was expected', () => {
  assert.deepEqual(
    problems({ port: 'eighty', limits: { maxBodySize: -5, maxHeaderCount: 1.5 }, static: { index: 'index.html' } }),
    [
      'port: expected an integer from 0 to 65535, got "eighty"',
      'limits.maxBodySize: expected an integer ≥ 0, got -5',
      'limits.maxHeaderCount: expected an integer ≥ 0, got 1.5',
      'static.index: expected an array of strings or false, got "index.html"',
    ],
  );
});

test('unknown keys are errors with a suggestion', () => {
  assert.deepEqual(problems({ prot: 1, limits: { maxBodySzie: 1 }, zzzzzzzz: true }), [
    'prot: unknown key (did you mean "port"?)',
    'limits.maxBodySzie: unknown key (did you mean "maxBodySize"?)',
    'zzzzzzzz: unknown key',
  ]);
});

test('a non-object export is refused', () => {
  assert.match(problems([1, 2])[0] as string, /expected the default export to be an object/);
  assert.match(problems(null)[0] as string, /expected the default export to be an object/);
});

test('values shown in messages are shortened', () => {
  const [p] = problems({ host: 42, app: 'x'.repeat(100), port: { a: 1 } }).slice(-1);
  assert.equal(p, 'port: expected an integer from 0 to 65535, got an object');
  assert.ok(problems({ logLevel: 'y'.repeat(100) })[0]!.length < 200);
});

test('JSON, .mjs and .ts config files load; a broken one is a ConfigError', async () => {
  writeFileSync(join(dir, 'a.json'), '{"port": 3000}');
  writeFileSync(join(dir, 'b.mjs'), 'export default { port: 3001 };');
  writeFileSync(join(dir, 'c.ts'), 'const port: number = 3002;\nexport default { port };');
  writeFileSync(join(dir, 'd.json'), '{"port": ');
  writeFileSync(join(dir, 'e.mjs'), 'export default async () => ({ host: "::1" });');
  assert.deepEqual(await loadConfig(join(dir, 'a.json')), { port: 3000 });
  assert.deepEqual(await loadConfig(join(dir, 'b.mjs')), { port: 3001 });
  assert.deepEqual(await loadConfig(join(dir, 'c.ts')), { port: 3002 });
  assert.deepEqual(await loadConfig(join(dir, 'e.mjs')), { host: '::1' });
  await assert.rejects(
    loadConfig(join(dir, 'd.json')),
    (e: unknown) => e instanceof ConfigError && /could not load/.test(e.message),
  );
  await assert.rejects(loadConfig(join(dir, 'missing.json')), /file not found/);
  await assert.rejects(loadConfig(join(dir, 'x.yaml')), /unsupported config file type/);
});

test('the config file is found by name in the working directory, .ts first', () => {
  const d = mkdtempSync(join(dir, 'find-'));
  assert.equal(findConfig(d), undefined);
  writeFileSync(join(d, 'foyer.config.json'), '{}');
  assert.equal(findConfig(d), join(d, 'foyer.config.json'));
  writeFileSync(join(d, 'foyer.config.ts'), 'export default {}');
  assert.equal(findConfig(d), join(d, 'foyer.config.ts'));
});

test('flags override the config file; limits and TLS merge key by key', async () => {
  const d = mkdtempSync(join(dir, 'merge-'));
  writeFileSync(
    join(d, 'foyer.config.json'),
    JSON.stringify({ port: 3000, host: '0.0.0.0', limits: { maxBodySize: 5, headersTimeout: 1234 }, logLevel: 'warn' }),
  );
  const s = await resolveSettings(['site', '--port', '4000', '--max-body-size', '2k'], d);
  assert.notEqual(s, 'help');
  assert.deepEqual(s, {
    port: 4000,
    host: '0.0.0.0',
    root: 'site',
    limits: { maxBodySize: 2048, headersTimeout: 1234 },
    logLevel: 'warn',
  });
  const limits = await resolveSettings(['--limit', 'headersTimeout=500', '--limit', 'maxHeaderSize=32k'], d);
  assert.deepEqual(limits !== 'help' && limits.limits, { maxBodySize: 5, headersTimeout: 500, maxHeaderSize: 32768 });
  await assert.rejects(
    resolveSettings(['--limit', 'headerTimeout=5'], d),
    /--limit headerTimeout: unknown key \(did you mean "headersTimeout"\?\)/,
  );
  await assert.rejects(resolveSettings(['--limit', 'oops'], d), /--limit expects NAME=VALUE/);
  const noConfig = await resolveSettings(['--no-config'], d);
  assert.deepEqual(noConfig, {});
});

// The CLI's shutdownTimeout and the engine's limits.closeTimeout are one deadline. Before, SIGTERM
// read only shutdownTimeout, so `--limit closeTimeout=1000` (or limits.closeTimeout in the file) was
// silently ignored and the process waited the default 10 s.
test('shutdownTimeout and limits.closeTimeout are one deadline, given by either name', async () => {
  assert.equal(shutdownTimeoutOf({}), 10_000);
  assert.equal(shutdownTimeoutOf({ limits: { closeTimeout: 1500 } }), 1500);
  assert.equal(shutdownTimeoutOf({ shutdownTimeout: 2500 }), 2500);
  assert.equal(shutdownTimeoutOf({ shutdownTimeout: 0, limits: { closeTimeout: 0 } }), 0);
  assert.deepEqual(problems({ shutdownTimeout: 3000, limits: { closeTimeout: 3000 } }), []);
  assert.deepEqual(problems({ shutdownTimeout: 3000, limits: { closeTimeout: 4000 } }), [
    'shutdownTimeout (3000) and limits.closeTimeout (4000) name one deadline: set one of them',
  ]);
  const d = mkdtempSync(join(dir, 'deadline-'));
  writeFileSync(join(d, 'foyer.config.json'), JSON.stringify({ shutdownTimeout: 20_000 }));
  const flagged = await resolveSettings(['--no-config', '--limit', 'closeTimeout=1000'], d);
  assert.equal(flagged !== 'help' && shutdownTimeoutOf(flagged), 1000);
  // The flag wins over the file, as flags do, whichever name the file gave the deadline.
  const over = await resolveSettings(['--limit', 'closeTimeout=1000'], d);
  assert.equal(over !== 'help' && shutdownTimeoutOf(over), 1000);
});

// An empty allow list is no rule at all: `--allow "$UNSET"` served everyone, and replaced a
// configuration file's allow list with nothing (found in review); an empty --deny replaced the
// file's deny list likewise. An empty deny or trust list in the file, or an empty --trust-proxy,
// denies or trusts nobody, as it says, and is kept working.
test("an empty allow list is refused, and an empty flag never empties the file's lists", async () => {
  const d = mkdtempSync(join(dir, 'empty-allow-'));
  writeFileSync(join(d, 'foyer.config.json'), JSON.stringify({ access: { allow: ['10.0.0.0/8'] } }));
  for (const flag of ['--allow', '--deny']) {
    for (const value of ['', ',', ' ', '10.0.0.0/8,', ',10.0.0.0/8', '10.0.0.0/8,,127.0.0.1']) {
      await assert.rejects(
        resolveSettings([flag, value], d),
        /expects addresses or CIDRs/,
        `${flag} ${JSON.stringify(value)}`,
      );
    }
  }
  const kept = await resolveSettings(['--allow', '10.0.0.0/8, 127.0.0.1', '--deny', '10.1.0.0/16'], d);
  assert.deepEqual(kept !== 'help' && kept.access, { allow: ['10.0.0.0/8', '127.0.0.1'], deny: ['10.1.0.0/16'] });
  const trustNobody = await resolveSettings(['--trust-proxy', ''], d);
  assert.deepEqual(trustNobody !== 'help' && trustNobody.trustProxy, []);
  for (const access of [{ allow: [] }, { rules: [{ path: '/admin', allow: [] }] }]) {
    assert.equal(problems({ access }).length, 1, JSON.stringify(access));
  }
  assert.match(
    problems({ access: { allow: [] } })[0]!,
    /access\.allow: expected a non-empty array of non-empty strings, got an array/,
  );
  assert.deepEqual(problems({ trustProxy: [], access: { deny: [], rules: [{ path: '/x', deny: [] }] } }), []);
});

test('--symlinks and --php-request-buffering merge into the static and fastcgi keys of the file', async () => {
  const d = mkdtempSync(join(dir, 'php-flags-'));
  writeFileSync(
    join(d, 'foyer.config.json'),
    JSON.stringify({ static: { dotfiles: 'ignore' }, fastcgi: { spoolMemory: 1000 } }),
  );
  const s = await resolveSettings(['--symlinks', 'follow', '--php-request-buffering', 'off'], d);
  assert.deepEqual(s !== 'help' && [s.static, s.fastcgi], [
    { dotfiles: 'ignore', symlinks: 'follow' },
    { spoolMemory: 1000, requestBuffering: false },
  ]);
  await assert.rejects(resolveSettings(['--symlinks', 'always'], d), /--symlinks expects contain or follow/);
  await assert.rejects(resolveSettings(['--php-request-buffering', 'no'], d), /expects on or off/);
});

test('flag mistakes are usage errors', async () => {
  await assert.rejects(resolveSettings(['--tls-cert', 'a.pem'], dir), UsageError);
  await assert.rejects(resolveSettings(['a', 'b'], dir), /one root directory/);
  await assert.rejects(resolveSettings(['--port'], dir), /--port needs a value/);
  await assert.rejects(resolveSettings(['--host', ''], dir), /--host: expected a non-empty string/);
  assert.equal(await resolveSettings(['--help'], dir), 'help');
});

test('sizes accept plain bytes and k/m/g suffixes', () => {
  assert.equal(parseSize('1048576', 'x'), 1048576);
  assert.equal(parseSize('512k', 'x'), 512 * 1024);
  assert.equal(parseSize('10MB', 'x'), 10 * 1024 * 1024);
  assert.equal(parseSize('1gib', 'x'), 1024 ** 3);
  assert.throws(() => parseSize('1.5m', 'x'), UsageError);
  assert.throws(() => parseSize('-1', 'x'), UsageError);
});

test('suggestions only come for near misses', () => {
  assert.equal(closest('prot', ['port', 'host']), 'port');
  assert.equal(closest('completely', ['port', 'host']), undefined);
});
