// An htpasswd file that follows its changes. The first load is synchronous so that a bad file stops
// the server at startup with the line named. Afterwards the file is stat'ed at most once per
// `checkInterval` when a request arrives (no timer, no watcher to leak), and reloaded when its
// size, mtime or inode changed (`htpasswd` replaces the file by renaming a new one over it).
// A reload that fails keeps the previous users and is logged.
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../log/logger.ts';
import { type HtpasswdEntry, parseHtpasswd } from './htpasswd.ts';

interface Signature {
  size: number;
  mtimeMs: number;
  ino: number;
}

function signature(s: { size: number; mtimeMs: number; ino: number }): Signature {
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
}

function same(a: Signature, b: Signature): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** Relative work to check a password: bcrypt 2^cost rounds, apr1 1,000 MD5s, {SHA} one SHA-1. */
function workOf(entry: HtpasswdEntry): number {
  if (entry.kind === 'bcrypt') return 2 ** Number(entry.hash.slice(4, 6)) * 1000;
  return entry.kind === 'apr1' ? 1000 : 1;
}

function costliest(users: Map<string, HtpasswdEntry>): HtpasswdEntry | undefined {
  let best: HtpasswdEntry | undefined;
  for (const e of users.values()) if (best === undefined || workOf(e) > workOf(best)) best = e;
  return best;
}

const MAX_COMFORTABLE_BCRYPT_COST = 14;

export class HtpasswdFile {
  readonly path: string;
  #users: Map<string, HtpasswdEntry>;
  #decoy: HtpasswdEntry | undefined;
  #sig: Signature;
  #checkedAt = 0;
  #checking: Promise<void> | undefined;
  /** The last reload failed: said once, not at every check. */
  #failing = false;
  /** Bumped on every successful reload: caches keyed on it drop what they verified before. */
  generation = 0;

  constructor(
    path: string,
    readonly checkInterval = 1000,
    readonly log?: Logger,
  ) {
    this.path = path;
    this.#sig = signature(statSync(path));
    this.#users = parseHtpasswd(readFileSync(path, 'utf8'), path);
    this.#decoy = costliest(this.#users);
    this.#warnIfCostly();
    this.#checkedAt = Date.now();
  }

  get size(): number {
    return this.#users.size;
  }

  /**
   * An entry to check an unknown user's password against, the answer thrown away: a user the file
   * does not have then takes as long to refuse as a wrong password (a bcrypt entry: tens of ms), so
   * response times do not tell which user names exist. Caddy checks a fake hash for the same reason.
   * The file's costliest entry: in a file that mixes kinds or bcrypt costs, an unknown user then
   * looks like a user of the costliest kind, the kind an attacker could otherwise tell apart best.
   */
  get decoy(): HtpasswdEntry | undefined {
    return this.#decoy;
  }

  /**
   * bcrypt above cost 14 is most of a second per check here (cost 17: about 9 s), and the decoy
   * makes every unknown user's check cost as much: a few requests then hold every password thread
   * and the bounded queue (503 for every login meanwhile). Allowed, as Apache allows it; said once.
   */
  #warnIfCostly(): void {
    const d = this.#decoy;
    if (d?.kind !== 'bcrypt' || Number(d.hash.slice(4, 6)) <= MAX_COMFORTABLE_BCRYPT_COST) return;
    this.log?.warn(
      { file: this.path, cost: Number(d.hash.slice(4, 6)) },
      `bcrypt cost above ${MAX_COMFORTABLE_BCRYPT_COST}: each password check, and each unknown user's, takes a second or more`,
    );
  }

  /** The user's entry after making sure the file was looked at recently (no await when it was). */
  lookup(user: string): HtpasswdEntry | undefined | Promise<HtpasswdEntry | undefined> {
    if (this.#checking === undefined && Date.now() - this.#checkedAt < this.checkInterval) return this.#users.get(user);
    return this.refresh().then(() => this.#users.get(user));
  }

  /** Reloads when the file changed; concurrent callers share one check. */
  refresh(force = false): Promise<void> {
    // A check under way first: its start set #checkedAt, so a caller meanwhile would otherwise be
    // told "checked recently" and read the users from before it (a revoked user let in once more).
    if (this.#checking !== undefined) return this.#checking;
    const now = Date.now();
    if (!force && now - this.#checkedAt < this.checkInterval) return Promise.resolve();
    this.#checkedAt = now;
    this.#checking = this.#reload().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #reload(): Promise<void> {
    try {
      const sig = signature(await stat(this.path));
      if (same(sig, this.#sig)) return;
      const users = parseHtpasswd(await readFile(this.path, 'utf8'), this.path);
      this.#users = users;
      this.#decoy = costliest(users);
      this.#warnIfCostly();
      this.#sig = sig;
      this.generation++;
      this.#failing = false;
      this.log?.info({ file: this.path, users: users.size }, 'htpasswd file reloaded');
    } catch (err) {
      if (this.#failing) return;
      this.#failing = true;
      this.log?.error(
        { file: this.path, err: (err as Error).message },
        'htpasswd reload failed; keeping the previous users',
      );
    }
  }
}
