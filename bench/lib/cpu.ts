// CPU time used by a server's process group, read from /proc (Linux). Requests per second depend on
// whatever else the machine runs; CPU time per request much less so, which makes it the steadier
// number on a small shared machine.
import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: the unit of utime/stime in /proc/PID/stat, 100 on every Linux architecture node runs on.
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of every live process in the group, or undefined without /proc. */
export function groupCpuSeconds(pgid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const name of entries) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue; // field 5: process group
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
  }
  return ticks / TICKS_PER_SECOND;
}
