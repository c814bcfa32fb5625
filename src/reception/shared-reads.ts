// Every socket of the process reads into one buffer (node's `onread` mode) instead of emitting
// 'data'. For each read, node's stream mode allocates 64 KiB, wraps the bytes in a new Buffer over a
// new backing store, and passes it through the Readable machinery (push, read, a nextTick for
// maybeReadMore, emit) before a listener sees it; with a buffer of its own, node calls one function
// with the byte count. Measured with callgrind (bench/callgrind/steady.sh, keep-alive, one request
// per read): the node:net ceiling server runs 16.6k instructions per request in stream mode and
// 8.8k with `onread`; `foyer serve --app` saves as much.
//
// The bytes are valid only until the next read of any socket: the reader parses them in place and
// copies what it keeps (input-buffer.ts: unparsed input and request bodies). Nothing may hold a view
// of READ_BUFFER after the callback returns.
//
// node offers `onread` for the sockets it connects (net.connect, used for php-fpm), not for those a
// server accepts. net.Socket turns it on with two fields (the buffer and the callback, under
// symbols of its own) and its handle's useUserBuffer(); readIntoShared() does the same to an
// accepted socket. The two symbols are found on a socket made with the public option, and each
// piece is checked once, so that a node where one is missing reads with 'data' events as before.
// The same code is in node 20 to 26 (net.js initSocketHandle, pause, resume; stream_base_commons
// onStreamRead). A TLS socket's handle decrypts into the buffer it is given, as for tls.connect()'s
// own `onread`: over TLS, callgrind counts 44.3k → 37.9k instructions per keep-alive request.
import { Buffer } from 'node:buffer';
import { Socket } from 'node:net';

/** The one read buffer of the process: a read takes at most this many bytes. */
export const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Views of READ_BUFFER's first n bytes, one per slot (n mod VIEW_SLOTS), made when a read of that
 * length first comes. A read is handed on as such a view; making one per read cost about 600
 * instructions (callgrind): node replaced Buffer.prototype.constructor, so V8's species shortcut is
 * off and every Buffer#subarray looks up `constructor` and Symbol.species, then constructs the
 * species (a FastBuffer) through its class constructor. The reads of a workload mostly repeat a few
 * lengths. Reusing a view is safe because none outlives its read (above).
 */
const VIEW_SLOTS = 64;
const VIEWS: Buffer[] = Array.from({ length: VIEW_SLOTS }, () => READ_BUFFER.subarray(0, 0));

/**
 * READ_BUFFER's first `n` bytes (a read's), valid until the next read like the bytes themselves.
 * The onread callbacks use it in place of the buffer node passes them: every socket switched here
 * (and php-fpm's, address.ts) was given READ_BUFFER itself, which a handle fills from offset 0.
 */
export function sharedView(n: number): Buffer {
  const slot = n % VIEW_SLOTS;
  let v = VIEWS[slot]!;
  if (v.length !== n) v = VIEWS[slot] = READ_BUFFER.subarray(0, n);
  return v;
}

/**
 * Bytes a socket reads ahead while its connection does not want input (a full pipeline, a body
 * its handler is not reading, a client that does not read its responses): node's stream mode reads
 * on until its buffer holds the socket's highWaterMark, and so does a connection here (connection.ts
 * #pause). Reading on is how a client's FIN (a half-close after pipelined requests, RFC 9112 §9.6)
 * or reset is seen at once: a socket that stopped reading sees neither until it reads again. The
 * same figure is the sockets' highWaterMark (listener.ts), for writes and for 'data' mode.
 */
export const READ_AHEAD = 128 * 1024;

interface OnReadFields {
  buffer: symbol;
  callback: symbol;
}

/** node's two onread fields, or null where this node does not have them as expected. */
const FIELDS: OnReadFields | null = findFields();

function findFields(): OnReadFields | null {
  const buffer = Buffer.alloc(1);
  const callback = (): boolean => true;
  // `onread` is a constructor option node documents for net.connect(); @types/node lists it there only.
  const probe = new Socket({ onread: { buffer, callback } } as ConstructorParameters<typeof Socket>[0]);
  try {
    const own = probe as unknown as Record<symbol, unknown>;
    let b: symbol | undefined;
    let c: symbol | undefined;
    for (const s of Object.getOwnPropertySymbols(probe)) {
      if (own[s] === buffer && s.description === 'kBuffer') b = s;
      else if (own[s] === callback && s.description === 'kBufferCb') c = s;
    }
    return b !== undefined && c !== undefined ? { buffer: b, callback: c } : null;
  } finally {
    probe.destroy();
  }
}

interface UserBufferHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

/** A socket's handle, when it is one node can read into a buffer of ours. */
function handleOf(socket: Socket): UserBufferHandle | null {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  return handle !== null && handle !== undefined && typeof handle.useUserBuffer === 'function' ? handle : null;
}

/**
 * Makes an accepted plain socket call `onRead` with a view of READ_BUFFER for each read, instead of
 * emitting 'data' ('end' and 'close' are emitted as before). The view is valid only during the call.
 * `onRead` returning false stops reading at the socket (the stream's flowing state is left alone:
 * see readAgain). False, and nothing changed, when it cannot: a socket with bytes already buffered
 * as a stream (a TLS client's first request may come with its handshake), a node without the fields.
 */
export function readIntoShared(socket: Socket, onRead: (bytes: Buffer) => boolean): boolean {
  if (FIELDS === null || socket.readableLength !== 0) return false;
  const handle = handleOf(socket);
  if (handle === null) return false;
  const own = socket as unknown as Record<symbol, unknown>;
  own[FIELDS.buffer] = READ_BUFFER;
  own[FIELDS.callback] = (n: number): boolean => onRead(sharedView(n));
  handle.useUserBuffer!(READ_BUFFER);
  return true;
}

/**
 * Reading again after `onRead` returned false. net.Socket's read() restarts a handle that stopped
 * in onread mode; unlike resume(), it does not make the stream flow, so that bytes pushed after an
 * upgrade (readAsStream) wait for their new owner's listener instead of being emitted to none.
 */
export function readAgain(socket: Socket): void {
  socket.read(0);
}

/**
 * Gives a socket switched by readIntoShared back to stream reading for a new owner (an upgrade):
 * each read is copied and pushed as 'data', with the stream's backpressure (a full stream stops the
 * handle; reading resumes when it is read again). The handle itself keeps reading into READ_BUFFER.
 */
export function readAsStream(socket: Socket): void {
  if (FIELDS === null) return;
  const own = socket as unknown as Record<symbol, unknown>;
  if (own[FIELDS.buffer] !== READ_BUFFER) return;
  own[FIELDS.callback] = (n: number): boolean => socket.push(ownCopy(sharedView(n)));
}

/**
 * A copy of `b` in memory of its own, for bytes that may be kept a long time (a body its handler has
 * not read, an upgraded stream): a copy from Buffer's pool would keep a whole slab alive with it
 * (8 KiB on node 20, 64 KiB from node 24), one per slow client.
 */
export function ownCopy(b: Uint8Array): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  c.set(b);
  return c;
}

/** Buffer.concat in memory of its own (see ownCopy). */
export function ownConcat(parts: readonly Uint8Array[]): Buffer {
  let n = 0;
  for (const p of parts) n += p.length;
  const c = Buffer.allocUnsafeSlow(n);
  let at = 0;
  for (const p of parts) {
    c.set(p, at);
    at += p.length;
  }
  return c;
}

/** Whether `b` is a view of READ_BUFFER, which the next read overwrites: to be copied before it is kept. */
export function isSharedRead(b: Uint8Array): boolean {
  return b.buffer === READ_BUFFER.buffer;
}
