// Offloaded by app.ts: a deliberately slow password hash (PBKDF2, 100 000 rounds) runs in a worker
// thread, so that the other routes stay fast while it computes.
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { HttpError, json, readForm } from '../../src/index.ts';
import type { Middleware } from '../../src/index.ts';

const hash: Middleware = async (req) => {
  const password = String((await readForm(req)).get('password') ?? '');
  if (password === '') throw new HttpError(422, 'password is required');
  const salt = randomBytes(16);
  const digest = pbkdf2Sync(password, salt, 100_000, 32, 'sha256');
  return json({ salt: salt.toString('base64'), hash: digest.toString('base64'), inWorkerThread: !isMainThread });
};
export default hash;
