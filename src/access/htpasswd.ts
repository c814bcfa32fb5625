// Apache htpasswd files, as `htpasswd` writes them: `user:hash` per line. Accepted hashes are the
// ones worth keeping: bcrypt (`$2y$`, `htpasswd -B`), apr1 MD5 (`$apr1$`, the default) and `{SHA}`
// (`-s`). Plaintext and crypt(3) entries are refused at load with the line named, because a file
// that quietly accepts them is a file of passwords in the clear (or truncated to 8 characters).
import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import md5 from 'apache-md5';
import { BcryptQueue } from './password-threads.ts';

export type HashKind = 'bcrypt' | 'apr1' | 'sha1';

export interface HtpasswdEntry {
  kind: HashKind;
  hash: string;
}

/** A problem in the file: `line` is 1-based; the message never contains a hash. */
export class HtpasswdError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

function kindOf(hash: string): HashKind | undefined {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  return undefined;
}

/** Parses the text of an htpasswd file; throws HtpasswdError naming the first bad line. */
export function parseHtpasswd(text: string, file = 'htpasswd'): Map<string, HtpasswdEntry> {
  const users = new Map<string, HtpasswdEntry>();
  // A UTF-8 byte-order mark (Notepad writes one) is not part of the first user's name.
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(file, i + 1, 'expected user:hash');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1).trim();
    const kind = kindOf(hash);
    if (kind === undefined) {
      const why = hash.startsWith('$') ? 'unsupported hash' : 'plaintext or crypt(3) password';
      throw new HtpasswdError(
        file,
        i + 1,
        `${why} for user ${JSON.stringify(user.slice(0, 64))}: use bcrypt (htpasswd -B), apr1 or {SHA}`,
      );
    }
    // bcrypt's cost is 2^N rounds for N from 4 to 31 (bcryptjs refuses the others: every check of
    // such an entry would fail, the decoy's included). Above 17, what `htpasswd -C` still makes, one
    // check costs seconds: allowed, as Apache allows it, but an unknown user's check costs the same.
    if (kind === 'bcrypt') {
      const cost = Number(hash.slice(4, 6));
      if (cost < 4 || cost > 31)
        throw new HtpasswdError(
          file,
          i + 1,
          `bcrypt cost ${hash.slice(4, 6)} for user ${JSON.stringify(user.slice(0, 64))} is outside 04-31`,
        );
    }
    if (users.has(user))
      throw new HtpasswdError(file, i + 1, `user ${JSON.stringify(user.slice(0, 64))} is listed twice`);
    users.set(user, { kind, hash });
  }
  return users;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // timingSafeEqual needs equal lengths; compare against itself to spend the same time anyway.
  if (x.length === y.length) return timingSafeEqual(x, y);
  timingSafeEqual(x, x);
  return false;
}

const sharedQueue = new BcryptQueue();

/**
 * Checks a password against an entry; every comparison runs in constant time. bcrypt runs on a
 * password thread through `queue` (which may refuse with 503 when full: see password-threads.ts);
 * apr1 and {SHA} cost microseconds and run here.
 */
export async function verifyPassword(
  entry: HtpasswdEntry,
  password: string,
  queue: BcryptQueue = sharedQueue,
): Promise<boolean> {
  switch (entry.kind) {
    case 'bcrypt':
      // bcryptjs compares in constant time; $2y$ is PHP's/Apache's name for $2b$ (same algorithm).
      return queue.compare(password, entry.hash.replace(/^\$2y\$/, '$2b$'));
    case 'apr1':
      // apache-md5 hashes its string as latin1; htpasswd hashes the UTF-8 bytes. Hand it those bytes.
      return sameText(md5(Buffer.from(password, 'utf8').toString('latin1'), entry.hash), entry.hash);
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, entry.hash);
  }
}
