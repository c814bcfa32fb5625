// peerName against what Node's own getters say, on every kind of socket Foyer accepts or opens,
// and the reason it exists: reading it leaves the socket's shape (its own properties) as it was.
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { makeTestCertificate, NO_OPENSSL } from '../../test/helpers/test-certificate.ts';
import { FastCgiConnection } from '../handlers/fastcgi/connection.ts';
import { netSocketFactory } from '../handlers/fastcgi/address.ts';
import { serve } from '../index.ts';
import { peerName } from './peer-name.ts';

/** The server side of one connection made by `dial`. */
async function accepted(server: NetServer, listen: () => void, dial: () => Socket): Promise<[Socket, Socket]> {
  listen();
  await once(server, 'listening');
  const client = dial();
  client.on('error', () => {});
  const [socket] = (await once(server, 'connection')) as [Socket];
  return [socket, client];
}

function check(socket: Socket, label: string): void {
  const keys = Reflect.ownKeys(socket);
  const got = peerName(socket);
  assert.deepEqual(Reflect.ownKeys(socket), keys, `${label}: peerName added a property to the socket`);
  // The reference: Node's public getters (which do add `_peername`).
  const reference = {
    address: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    family: socket.remoteFamily ?? '',
  };
  assert.deepEqual(got, reference, label);
}

describe('peerName', () => {
  test('IPv4 and IPv6: what remoteAddress, remotePort and remoteFamily say, and the socket unchanged', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const server = createServer();
      const [socket, client] = await accepted(
        server,
        () => server.listen(0, host),
        () => connect((server.address() as { port: number }).port, host),
      );
      check(socket, host);
      assert.equal(peerName(socket).port, client.localPort, host);
      client.destroy();
      socket.destroy();
      server.close();
    }
  });

  test('a unix socket has no peer name: empty address, port 0, as Node says', async () => {
    const path = join(tmpdir(), `foyer-peer-${process.pid}.sock`);
    rmSync(path, { force: true });
    const server = createServer();
    const [socket, client] = await accepted(
      server,
      () => server.listen(path),
      () => connect(path),
    );
    check(socket, 'unix');
    assert.deepEqual(peerName(socket), { address: '', port: 0, family: '' });
    client.destroy();
    socket.destroy();
    server.close();
  });

  const cert = makeTestCertificate();
  after(() => cert?.remove());
  test('TLS: the same, from the TLS socket', { skip: cert === undefined && NO_OPENSSL }, async () => {
    if (cert === undefined) return;
    const server = createTlsServer({ cert: cert.cert, key: cert.key });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const client = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    client.on('error', () => {});
    const [socket] = (await once(server, 'secureConnection')) as [Socket];
    check(socket, 'tls');
    assert.equal(peerName(socket).port, client.localPort);
    client.destroy();
    socket.destroy();
    server.close();
  });
});

describe('the server reads the client address without changing the socket', () => {
  test('ctx and the access log see the client, and no accepted socket gained _peername', async () => {
    const sockets: Socket[] = [];
    const onSocket = ({ socket }: { socket: Socket }) => sockets.push(socket);
    dc.subscribe('net.server.socket', onSocket as (m: unknown) => void);
    const peers: string[] = [];
    const server = await serve({
      port: 0,
      logLevel: 'silent',
      fetch: (_req, ctx) => Response.json({ address: ctx.remoteAddress, port: ctx.remotePort }),
      onTransaction: (tx) => void peers.push(tx.peer),
    });
    try {
      const client = connect(server.address.port, '127.0.0.1');
      await once(client, 'connect');
      client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const chunks: Buffer[] = [];
      client.on('data', (c: Buffer) => chunks.push(c));
      await once(client, 'end');
      const text = Buffer.concat(chunks).toString();
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      assert.deepEqual(body, { address: '127.0.0.1', port: client.localPort });
      assert.ok(sockets.length >= 1, 'no accepted socket seen');
      for (const s of sockets) assert.equal(Object.hasOwn(s, '_peername'), false, 'an accepted socket has _peername');
      client.destroy();
    } finally {
      dc.unsubscribe('net.server.socket', onSocket as (m: unknown) => void);
      await server.close(1000);
    }
    // The access log's address (recorded by the time close() has waited for the connection).
    assert.deepEqual(peers, ['127.0.0.1']);
  });
});

describe('a php-fpm connection tells TCP from unix without changing the socket', () => {
  test('TCP and unix upstream sockets, opened the way the pool opens them', async () => {
    const path = join(tmpdir(), `foyer-peer-up-${process.pid}.sock`);
    rmSync(path, { force: true });
    const peers: Socket[] = [];
    const tcp = createServer((s) => peers.push(s));
    const unix = createServer((s) => peers.push(s));
    tcp.listen(0, '127.0.0.1');
    unix.listen(path);
    await Promise.all([once(tcp, 'listening'), once(unix, 'listening')]);
    const port = (tcp.address() as { port: number }).port;
    const hooks = { onReusable() {}, onClose() {} };
    const cases = [
      { upstream: { kind: 'tcp' as const, host: '127.0.0.1', port }, tcp: true },
      { upstream: { kind: 'unix' as const, path }, tcp: false },
    ];
    try {
      for (const c of cases) {
        const socket = (await netSocketFactory(c.upstream, 2000)()) as Socket;
        const conn = new FastCgiConnection(socket, hooks);
        assert.equal(conn.tcp, c.tcp, c.upstream.kind);
        assert.equal(Object.hasOwn(socket, '_peername'), false, `${c.upstream.kind}: the socket gained _peername`);
        conn.destroy();
      }
    } finally {
      for (const p of peers) p.destroy();
      tcp.close();
      unix.close();
    }
  });
});
