// systemd socket activation: LISTEN_FDS/LISTEN_PID and a listening socket on fd 3.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { getText, startFoyer } from './helpers.ts';

async function listeningSocket(): Promise<{ server: Server; fd: number; port: number }> {
  const server = createServer();
  // pauseOnConnect and no listener: this process never answers on it.
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  return { server, fd, port: (server.address() as { port: number }).port };
}

for (const workers of ['1', '2']) {
  test(`serves on the inherited socket instead of binding (--workers ${workers})`, async () => {
    const { server, fd, port } = await listeningSocket();
    // A --host that cannot be bound here: only the inherited socket can work.
    const started = startFoyer(['--app', 'who-app.ts', '--host', '192.0.2.1', '--port', '9', '--workers', workers], {
      listenFd: fd,
    });
    // The child has its own copy of the socket once spawned: ours must not take its connections.
    await new Promise((r) => setImmediate(r));
    server.close();
    const foyer = await started;
    try {
      assert.equal(foyer.origin, `http://127.0.0.1:${port}`);
      const { status, body } = await getText(`${foyer.origin}/who`);
      assert.equal(status, 200);
      assert.notEqual(JSON.parse(body).pid, process.pid);
    } finally {
      assert.equal(await foyer.stop(), 0);
    }
  });
}
