// A password thread entry that ends its own thread when asked to check the password "die": a thread
// that dies under a check, at a moment the test decides (password-threads.test.ts). A thread started
// while FOYER_TEST_ENTRY_FAILS=1 (threads copy the environment when they start) cannot start at all.
import process from 'node:process';
import bcrypt from 'bcryptjs';

if (process.env.FOYER_TEST_ENTRY_FAILS === '1') throw new Error('this thread cannot start (test)');

export default function compare({ password, hash }: { password: string; hash: string }): boolean {
  if (password === 'die') process.exit(1);
  return bcrypt.compareSync(password, hash);
}
