// The line every bench server entry prints once listening (see bench/lib/child-server.ts).
export function ready(port: number): void {
  process.stdout.write(`BENCH_READY http://127.0.0.1:${port}\n`);
}

/** The port to listen on: $PORT, 0 (any free port) by default. */
export const port = Number(process.env.PORT ?? 0);

// TechEmpower-style payloads, identical for every server.
export const PLAINTEXT = 'Hello, World!';
export const jsonBody = () => ({ message: 'Hello, World!' });
