// The admin listener's address, as `--admin` and the `admin` config key take it.

export interface AdminAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:2019`, `[::1]:2019`, `localhost:2019` or a bare port (loopback). Throws a readable error. */
export function parseAdminAddress(raw: string): AdminAddress {
  const bare = /^\d{1,5}$/.test(raw);
  const m = bare ? null : /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw);
  const port = Number(bare ? raw : m?.[3]);
  if ((!bare && m === null) || !(port >= 0 && port <= 65535))
    throw new Error(`expects HOST:PORT (e.g. 127.0.0.1:2019) or a port, got ${JSON.stringify(raw)}`);
  return { host: bare ? '127.0.0.1' : (m![1] ?? m![2]!), port };
}
