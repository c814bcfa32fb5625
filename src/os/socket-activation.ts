// systemd socket activation (sd_listen_fds(3)): when LISTEN_PID is this process, LISTEN_FDS
// listening sockets were inherited from fd 3 on. Listening on them instead of binding lets the
// service restart without refusing a connection: the kernel keeps queueing on the socket.
import process from 'node:process';

/** The first inherited fd (3), or undefined when not socket-activated. Clears the variables (children must not see them). */
export function inheritedListenFd(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const pid = env.LISTEN_PID;
  const fds = env.LISTEN_FDS;
  if (pid === undefined || fds === undefined) return undefined;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (Number(pid) !== process.pid || !(Number(fds) >= 1)) return undefined;
  return 3;
}
