// A Uint8Array seen as a Buffer (latin1 decoding, indexOf), without a copy. Bytes read from a socket,
// and their subarrays, are Buffers already and are taken as they are: a view made with
// Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength) reads the three through generic property
// loads (`buffer` materialises the ArrayBuffer in C++) and constructs an object, about 1k
// instructions per call in callgrind on the PHP response path.
import { Buffer } from 'node:buffer';
export function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
