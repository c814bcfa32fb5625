// Dropping root after binding (seed 000): the primary binds as root, each worker switches to an
// unprivileged user before it loads any application code. Order matters: supplementary groups
// (initgroups) and the group while still root, the user last; after setuid there is no way back.
import process from 'node:process';
import { execFileSync } from 'node:child_process';

export interface Identity {
  user: string;
  group?: string;
}

/** True when this process runs as root. */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Looks a user (or group) up in the system databases; undefined when unknown. */
function lookup(db: 'passwd' | 'group', name: string): number | undefined {
  try {
    const line = execFileSync('getent', [db, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const id = Number(line.split(':')[2]);
    return Number.isInteger(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** uid and gid of a user (and optional group), for handing a socket to it. */
export function lookupIds(id: Identity): { uid: number; gid: number } {
  const uid = lookup('passwd', id.user);
  const gid = id.group === undefined ? primaryGroup(id.user) : lookup('group', id.group);
  if (uid === undefined || gid === undefined) throw new Error(`unknown user or group ${id.user}`);
  return { uid, gid };
}

/** Checks before anything starts that the user and group exist and that we may switch to them. */
export function checkIdentity(id: Identity): string | undefined {
  if (!runningAsRoot()) return `--user ${id.user} needs Foyer to be started as root`;
  if (lookup('passwd', id.user) === undefined) return `--user: no such user ${JSON.stringify(id.user)}`;
  if (id.group !== undefined && lookup('group', id.group) === undefined)
    return `--group: no such group ${JSON.stringify(id.group)}`;
  return undefined;
}

/** The user's primary group name or id, for when --group is not given. */
function primaryGroup(user: string): number {
  const line = execFileSync('getent', ['passwd', user], { encoding: 'utf8' });
  return Number(line.split(':')[3]);
}

/** initgroups, setgid, setuid; then checks that root cannot be regained. Throws on any failure. */
export function dropPrivileges(id: Identity): void {
  const group: string | number = id.group ?? primaryGroup(id.user);
  // initgroups is POSIX-only and missing from some @types/node versions.
  const proc = process as NodeJS.Process & { initgroups?: (user: string, extra: string | number) => void };
  proc.initgroups?.(id.user, group);
  process.setgid?.(group);
  process.setuid?.(id.user);
  let regained = false;
  try {
    process.setuid?.(0);
    regained = true;
  } catch {
    // EPERM: as it should be.
  }
  if (regained || process.getuid?.() === 0 || process.geteuid?.() === 0)
    throw new Error('privileges could not be dropped for good');
}
