// Runs inside a password thread (password-threads.ts): one bcrypt comparison per task. The
// synchronous compare: this thread has nothing else to do, and bcryptjs's async form only slices
// the same work into event-loop turns.
import bcrypt from 'bcryptjs';

export interface BcryptTask {
  password: string;
  /** A `$2a$`/`$2b$` hash (`$2y$` already renamed: the same algorithm). */
  hash: string;
}

export default function compare({ password, hash }: BcryptTask): boolean {
  return bcrypt.compareSync(password, hash);
}
