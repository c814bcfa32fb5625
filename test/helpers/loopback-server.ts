// A Foyer server for one test file, on an ephemeral loopback port, and a pause for tests that wait.
import type { ServeOptions, Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';

/** Starts a server on an ephemeral loopback port for one test file. */
export async function start(fetch: ServeOptions['fetch'], extra: Partial<ServeOptions> = {}): Promise<Server> {
  return serve({ port: 0, host: '127.0.0.1', logLevel: 'silent', fetch, ...extra });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
