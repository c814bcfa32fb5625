// The README's error table and the catalogue say the same thing, both ways (fastify keeps its
// FST_ERR_* list in its docs the same way): every code documented, every documented code real,
// statuses equal.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { configErrors, errors, FoyerConfigError, FoyerError, HttpError, isConfigError, isHttpError } from './errors.ts';

const README = new URL('../../README.md', import.meta.url);

/** `| \`CODE\` | status | meaning |` rows of the table under "### Errors and their codes". */
function documented(): Map<string, string> {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('\n### Errors and their codes\n');
  assert.ok(start >= 0, 'README has an "Errors and their codes" section');
  const end = text.indexOf('\n#', start + 2);
  const rows = new Map<string, string>();
  for (const m of text.slice(start, end).matchAll(/^\| `([A-Z_]+)` \| ([^|]+?) \| .+ \|$/gm)) {
    assert.ok(!rows.has(m[1]!), `${m[1]} documented once`);
    rows.set(m[1]!, m[2]!);
  }
  return rows;
}

test('every catalogue code is in the README error table with its status, and nothing else is', () => {
  const rows = documented();
  const expected = new Map<string, string>();
  for (const [code, spec] of Object.entries(errors)) expected.set(code, String(spec.status));
  for (const code of Object.keys(configErrors)) expected.set(code, '—');
  // The code of an HttpError created without one; its status is the caller's.
  expected.set(new HttpError(418).code, 'any');
  for (const [code, status] of expected)
    assert.equal(rows.get(code), status, `${code} in the README with status ${status}`);
  for (const code of rows.keys()) assert.ok(expected.has(code), `${code} in the README is not in the catalogue`);
});

test('configuration errors are coded TypeErrors, never HttpErrors', () => {
  const err = new FoyerConfigError('FOYER_BAD_OPTION', 'port must be a number');
  assert.ok(err instanceof TypeError);
  assert.equal(err.code, 'FOYER_BAD_OPTION');
  assert.ok(isConfigError(err));
  assert.ok(!isHttpError(err));
  assert.ok(!isConfigError(new FoyerError('FOYER_NOT_FOUND')));
  // From another copy of Foyer: recognised by its code.
  assert.ok(isConfigError(Object.assign(new TypeError('x'), { code: 'FOYER_BAD_CONFIG' })));
  assert.ok(!isConfigError(Object.assign(new Error('x'), { code: 'ENOENT' })));
});

test('a catalogue 5xx hides its message unless it describes the request', () => {
  assert.equal(new FoyerError('FOYER_NEXT_CALLED_TWICE').expose, false);
  assert.equal(new FoyerError('FOYER_CODING_NOT_IMPLEMENTED').expose, true);
  assert.equal(new FoyerError('FOYER_NOT_FOUND', 'detail for the log').message, 'Not Found');
});

test('every catalogue code is raised somewhere in src/', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let source = '';
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (
        e.name.endsWith('.ts') &&
        !e.name.endsWith('.test.ts') &&
        p !== fileURLToPath(new URL('./errors.ts', import.meta.url))
      )
        source += readFileSync(p, 'utf8');
    }
  };
  walk(root);
  for (const code of [...Object.keys(errors), ...Object.keys(configErrors)])
    assert.match(source, new RegExp(`'${code}'`), `${code} must be raised somewhere outside the catalogue`);
});

test("a client's error (4xx) is made without a stack, a server error keeps its own, and the limit is put back", () => {
  const before = Error.stackTraceLimit;
  const notFound = new FoyerError('FOYER_NOT_FOUND');
  assert.equal(Error.stackTraceLimit, before);
  assert.equal(notFound.stack, 'FoyerError: Not Found', 'a 404 carries frames');
  assert.equal(notFound.status, 404);
  assert.ok(notFound instanceof Error);
  const broken = new FoyerError('FOYER_BAD_GATEWAY', 'detail');
  assert.match(broken.stack ?? '', /\n\s+at /, 'a 502 lost its stack');
  assert.equal(Error.stackTraceLimit, before);
  // A limit a program chose is what it gets back, whatever it was.
  Error.stackTraceLimit = 3;
  try {
    new FoyerError('FOYER_FORBIDDEN');
    assert.equal(Error.stackTraceLimit, 3);
  } finally {
    Error.stackTraceLimit = before;
  }
});

test('a FoyerError is made as before when a program made Error.stackTraceLimit read-only after Foyer loaded', () => {
  const before = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!;
  Object.defineProperty(Error, 'stackTraceLimit', { ...before, writable: false });
  try {
    const err = new FoyerError('FOYER_NOT_FOUND');
    assert.equal(err.status, 404);
    assert.equal(Error.stackTraceLimit, before.value);
  } finally {
    Object.defineProperty(Error, 'stackTraceLimit', before);
  }
});

test('a load shed is logged as one warning without a stack; a fault as an error with it', async () => {
  const { logError } = await import('../handlers/app/error-response.ts');
  const { createContext } = await import('../testing.ts');
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void => {
      lines.push({ level, obj, msg });
    };
  const log = { warn: at('warn'), error: at('error'), debug: at('debug') };
  const ctx = createContext({ log: log as never });
  const req = new Request('http://127.0.0.1/login');
  for (const code of Object.keys(errors) as (keyof typeof errors)[]) {
    lines.length = 0;
    const err = new FoyerError(code, 'detail');
    logError(err, err, req, ctx);
    const spec = errors[code] as { status: number; shed?: boolean };
    const want = spec.shed === true ? 'warn' : spec.status >= 500 ? 'error' : 'debug';
    assert.equal(lines[0]?.level, want, code);
    if (spec.shed === true) {
      assert.equal(lines[0]?.obj.err, undefined, `${code}: no error object, so no stack in the log`);
      assert.equal(err.stack?.includes('\n    at '), false, `${code}: no stack captured`);
      assert.equal(spec.status, 503);
    }
  }
  // An app's own error that borrows a shed code, or wraps Foyer's shed error as its cause, is a
  // failure like any other: its message, cause and stack are the app's (found in review).
  const busy = new FoyerError('FOYER_OFFLOAD_OVERLOADED', 'queue full');
  const borrowed = [
    new HttpError(500, 'x', { code: 'FOYER_AUTH_BUSY' }),
    new HttpError(503, 'db down', { code: 'FOYER_AUTH_BUSY', cause: new Error('db') }),
  ];
  for (const e of borrowed) {
    lines.length = 0;
    logError(e, e, req, ctx);
    assert.equal(lines[0]?.level, 'error', e.message);
    assert.equal(lines[0]?.obj.err, e);
  }
  lines.length = 0;
  const wrapped = new Error('report for tenant 42 failed', { cause: busy });
  logError(busy, wrapped, req, ctx);
  assert.equal(lines[0]?.level, 'error');
  assert.equal(lines[0]?.obj.err, wrapped);
  assert.ok(
    ['FOYER_AUTH_BUSY', 'FOYER_UPSTREAM_OVERLOADED', 'FOYER_OFFLOAD_OVERLOADED'].every(
      (c) => (errors as Record<string, { shed?: boolean }>)[c]?.shed,
    ),
  );
});
