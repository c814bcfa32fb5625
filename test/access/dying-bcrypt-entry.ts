// A password thread entry that ends its own thread when asked to check the password "die": a thread
// that dies under a check, at a moment the test decides (password-threads.test.ts).
import process from 'node:process';
import bcrypt from 'bcryptjs';

export default function compare({ password, hash }: { password: string; hash: string }): boolean {
  if (password === 'die') process.exit(1);
  return bcrypt.compareSync(password, hash);
}
