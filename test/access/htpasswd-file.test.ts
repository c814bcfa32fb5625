// The htpasswd file follows its changes: a caller that arrives while a reload is under way waits for
// it. Before, the reload's start counted as "checked recently", so that caller read the users from
// before it: a removed user was let in once more, an added one refused (found in review).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { basicAuthChecker } from '../../src/access/basic-auth.ts';
import { HtpasswdFile } from '../../src/access/htpasswd-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'foyer-htpasswd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const line = (user: string, password: string) =>
  `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}\n`;

test('a lookup during a reload sees the users after it', async () => {
  const path = join(dir, 'users');
  writeFileSync(path, line('alice', 'a') + line('bob', 'b'));
  const file = new HtpasswdFile(path, 20);
  assert.ok(file.lookup('alice') !== undefined);
  await sleep(40); // past checkInterval: the next lookup reloads
  writeFileSync(path, line('bob', 'b') + line('carol', 'c'));
  const first = file.lookup('alice'); // starts the reload
  const second = file.lookup('alice'); // arrives while it runs
  const third = file.lookup('carol');
  assert.deepEqual(await Promise.all([first, second]), [undefined, undefined]);
  assert.equal((await third)?.kind, 'sha1');
  assert.equal(file.generation, 1);
});

test('an unknown user is refused only after a password check, as a wrong password is', async () => {
  // Refused at once, an unknown user answered in about 1 ms against 70-130 ms for a wrong bcrypt
  // password: response times told which user names exist (found in review).
  const path = join(dir, 'decoy');
  writeFileSync(path, line('alice', 'a'));
  const auth = basicAuthChecker({ file: path });
  let checked = 0;
  const decoy = auth.file.decoy!;
  Object.defineProperty(auth.file, 'decoy', {
    get: () => {
      checked++;
      return decoy;
    },
  });
  assert.equal(auth.verifyNow({ user: 'mallory', password: 'x' }), undefined);
  const verdict = auth.verify({ user: 'mallory', password: 'a' });
  assert.ok(verdict instanceof Promise);
  assert.equal(await verdict, false, "alice's password is not mallory's");
  assert.ok(checked >= 1);
  assert.equal(await auth.verify({ user: 'alice', password: 'a' }), true);
  assert.equal(await auth.verify({ user: 'alice', password: 'b' }), false);
});

test("the decoy is the file's costliest entry, wherever it is in the file", () => {
  // With the first entry as decoy, a file starting with an {SHA} or apr1 user refused an unknown
  // user in microseconds and a bcrypt user's wrong password in tens of ms: bcrypt users stood out.
  const bcrypt = (cost: string) => `$2y$${cost}$${'a'.repeat(53)}`;
  const path = join(dir, 'mixed');
  writeFileSync(
    path,
    `${line('sha', 'a')}apr:$apr1$abcdefgh$${'b'.repeat(22)}\nlow:${bcrypt('05')}\nhigh:${bcrypt('11')}\nmid:${bcrypt('10')}\n`,
  );
  assert.equal(new HtpasswdFile(path).decoy?.hash, bcrypt('11'));
  writeFileSync(path, `${line('sha', 'a')}apr:$apr1$abcdefgh$${'b'.repeat(22)}\n`);
  assert.equal(new HtpasswdFile(path).decoy?.kind, 'apr1');
});

test('a byte-order mark before the first user is not part of its name', async () => {
  // Notepad and some editors save UTF-8 with a BOM: the first user was silently "\uFEFFalice".
  const path = join(dir, 'bom');
  writeFileSync(path, `\uFEFF${line('alice', 'a')}${line('bob', 'b')}`);
  const auth = basicAuthChecker({ file: path });
  assert.equal(await auth.verify({ user: 'alice', password: 'a' }), true);
  assert.equal(await auth.verify({ user: '\uFEFFalice', password: 'a' }), false);
});

test('a bcrypt cost outside 04-31 stops the load, naming the line', () => {
  // bcryptjs refuses such hashes at every check; as the decoy, $2y$99$ turned every unknown user into a 500.
  const path = join(dir, 'cost');
  for (const cost of ['03', '32', '99', '00']) {
    writeFileSync(path, `${line('alice', 'a')}bob:$2y$${cost}$${'a'.repeat(53)}\n`);
    assert.throws(() => new HtpasswdFile(path), new RegExp(`:2: bcrypt cost ${cost} .*outside 04-31`));
  }
  writeFileSync(path, `bob:$2y$04$${'a'.repeat(53)}\ncarol:$2b$31$${'a'.repeat(53)}\n`);
  assert.equal(new HtpasswdFile(path).size, 2);
});

test('a bcrypt cost above 14 is loaded with a warning, once per load', () => {
  const path = join(dir, 'costly');
  const warnings: unknown[] = [];
  const log = { warn: (o: unknown) => warnings.push(o), info: () => {}, error: () => {} };
  writeFileSync(path, `bob:$2y$15$${'a'.repeat(53)}\n`);
  new HtpasswdFile(path, 1000, log as never);
  assert.deepEqual(warnings, [{ file: path, cost: 15 }]);
  writeFileSync(path, `bob:$2y$14$${'a'.repeat(53)}\n`);
  new HtpasswdFile(path, 1000, log as never);
  assert.equal(warnings.length, 1);
});
