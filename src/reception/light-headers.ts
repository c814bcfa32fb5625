// A Headers that behaves like the WHATWG one (names case-insensitive, values normalised and
// validated, iteration sorted and combined, Set-Cookie kept apart) but costs little to create:
// a flat [name, value, …] list, with names lowercased only when first looked at. undici's Headers
// validates, lowercases and sorts eagerly; most requests read one or two fields or none.
// It passes `instanceof Headers`; native code accepts it anywhere a HeadersInit is expected.
import { type InspectOptions, inspect } from 'node:util';
import { internalized } from '../util/flat-string.ts';
import { TCHAR } from './char-tables.ts';

const NativeHeaders: typeof Headers = globalThis.Headers;

export const kPairs = Symbol('foyer.headerPairs');
export const kFields = Symbol('foyer.headerFields');

function checkName(name: string): string {
  const n = String(name);
  if (n.length === 0) throw new TypeError(`Headers: invalid header name ${JSON.stringify(n)}`);
  for (let i = 0; i < n.length; i++) {
    if (TCHAR[n.charCodeAt(i)] !== 1) throw new TypeError(`Headers: invalid header name ${JSON.stringify(n)}`);
  }
  return n;
}

/**
 * Valid names already seen, lowercased: apps build their responses from a handful of literal
 * names, and a lookup costs less than checking and lowercasing each again. A pure function of the
 * name (no request's state), bounded by count and by a name's length (a name taken from a request
 * could be 16 KiB): once full, or for a long name, names are checked as before.
 */
const LOWER_NAMES = new Map<string, string>();
const MAX_LOWER_NAMES = 256;
const MAX_LOWER_NAME_LENGTH = 64;

function lowerName(name: string): string {
  if (typeof name !== 'string') return checkName(name).toLowerCase();
  let n = LOWER_NAMES.get(name);
  if (n === undefined) {
    n = checkName(name).toLowerCase();
    if (LOWER_NAMES.size < MAX_LOWER_NAMES && name.length <= MAX_LOWER_NAME_LENGTH) LOWER_NAMES.set(name, n);
  }
  return n;
}

/**
 * Received names lowercased, apart from LOWER_NAMES (the names apps write, kept for the process):
 * a head's names (often the very strings of the last head, see request-reader.ts) give the same
 * lowercase strings request after request, whose hashes V8 has already computed, so the lookups
 * handlers make with them (the FastCGI gateway's Map of variables) do not hash a new string per
 * field per request. Clients choose these names: the table is emptied when full, so junk names cost
 * their senders a refill and never push out the names apps write. The parser has checked them. Names
 * asked for with get() share the table (see askedLowerName).
 */
const RECEIVED_NAMES = new Map<string, string>();
const MAX_RECEIVED_NAMES = 256;

/** How many names each table holds (for tests). */
export function rememberedNames(): { written: number; received: number } {
  return { written: LOWER_NAMES.size, received: RECEIVED_NAMES.size };
}

function receivedLowerName(name: string): string {
  const n = RECEIVED_NAMES.get(name);
  return n === undefined ? rememberReceived(name, name.toLowerCase()) : n;
}

function rememberReceived(name: string, lower: string): string {
  if (name.length <= MAX_LOWER_NAME_LENGTH) {
    if (RECEIVED_NAMES.size >= MAX_RECEIVED_NAMES) RECEIVED_NAMES.clear();
    lower = internalized(lower);
    RECEIVED_NAMES.set(name, lower);
  }
  return lower;
}

/**
 * A name asked for (get, has): checked as Headers checks it, through the received names' table. The
 * names handlers ask for are few ('host', 'content-type'), but Foyer's own code also asks for names
 * a client chose (iteration, Vary): they must not fill the table of names apps write. Every entry
 * of the received table is a valid name (the parser's or one checked here).
 */
function askedLowerName(name: string): string {
  if (typeof name !== 'string') return checkName(name).toLowerCase();
  const n = RECEIVED_NAMES.get(name);
  return n === undefined ? rememberReceived(name, checkName(name).toLowerCase()) : n;
}

// Fetch §header value normalize: strip leading and trailing HTTP whitespace (HTAB, SP, CR, LF).
// Then Fetch's header value: a ByteString (no code point above 0xFF: WebIDL) without NUL, CR or LF.
// Other controls pass here as they do in undici; the serializer refuses them on the wire
// (RFC 9110 §5.5 field-value), as node:http does.
function normalizeValue(value: string): string {
  if (value === lastValueIn) return lastValueOut;
  const v = String(value);
  let s = 0;
  let e = v.length;
  while (s < e && isWs(v.charCodeAt(s))) s++;
  while (e > s && isWs(v.charCodeAt(e - 1))) e--;
  const out = s === 0 && e === v.length ? v : v.slice(s, e);
  for (let i = 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    if (c > 0xff || c === 0 || c === 0x0a || c === 0x0d) throw new TypeError('Headers: invalid header value');
  }
  if (typeof value === 'string' && value.length <= REMEMBERED_VALUE_MAX) {
    lastValueIn = value;
    lastValueOut = out;
  }
  return out;
}

/**
 * The last string value normalised and its result (a function of the text alone): apps answer with
 * the same few literal values, a content type above all, and a compare with the same string costs
 * less than the scan. Only a valid value is remembered; `===` never matches an object (no toString).
 */
let lastValueIn = '';
let lastValueOut = '';
/** A longer value is not remembered (it would stay in memory until the next one). */
const REMEMBERED_VALUE_MAX = 256;
const PAIR_LENGTH = 'Headers: a header init pair must have exactly two items';
/**
 * Array.prototype's own iterator: an array that has it iterates by index. (A program that replaces
 * %ArrayIteratorPrototype%.next would see it called by Headers and not here.)
 */
const ARRAY_VALUES = Array.prototype[Symbol.iterator];
const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

export class LightHeaders {
  /** [name, value, …]; names are lowercase once #lowered is true. */
  #list: string[];
  #lowered: boolean;
  /** Sealed (see sealed()): private, so that no one holding the list can unseal it. */
  #sealed = false;
  /** The serializer's memo of a sealed list's lines (response-head.ts, blockOf). */
  #block: unknown = undefined;

  constructor(init?: ConstructorParameters<typeof Headers>[0]) {
    this.#list = [];
    this.#lowered = true;
    if (init === undefined || init === null) return;
    if (init instanceof LightHeaders) {
      this.#list = init[kPairs]().slice();
      return;
    }
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      this.#appendPairs(init as Iterable<unknown>);
      return;
    }
    if (typeof init !== 'object') throw new TypeError('Headers: invalid init');
    for (const k of Object.keys(init)) this.append(k, (init as Record<string, string>)[k]!);
  }

  /**
   * A sequence init. Apart from the constructor, which stays small enough for V8 to inline where an
   * app writes `new Response(body, { headers: { … } })` (callgrind: about 190 instructions).
   */
  #appendPairs(init: Iterable<unknown>): void {
    if (Array.isArray(init) && init[Symbol.iterator] === ARRAY_VALUES) {
      // A list of pairs (what the FastCGI gateway passes): read by index, as the array iterator would.
      for (let i = 0; i < init.length; i++) this.#appendPair(init[i]);
    } else for (const pair of init) this.#appendPair(pair);
  }

  /**
   * One pair of a sequence init (WebIDL sequence<ByteString>): an object, not a string; a plain array
   * is read by index without a copy (a spread per field cost more than the rest), in the array
   * iterator's order: the length before each item (a getter may change it).
   */
  #appendPair(pair: unknown): void {
    let p: ArrayLike<unknown>;
    if (Array.isArray(pair) && pair[Symbol.iterator] === ARRAY_VALUES) p = pair;
    else if (pair !== null && (typeof pair === 'object' || typeof pair === 'function'))
      p = [...(pair as Iterable<unknown>)];
    else throw new TypeError('Headers: a header init pair must be a sequence');
    if (p.length < 1) throw new TypeError(PAIR_LENGTH);
    const n = p[0];
    if (p.length < 2) throw new TypeError(PAIR_LENGTH);
    const v = p[1];
    if (p.length !== 2) throw new TypeError(PAIR_LENGTH);
    this.append(n as string, v as string);
  }

  /**
   * A list no one may change, for many responses to share (a static file's headers): a Response
   * given one keeps it as it is, and copies it only when its `headers` are asked for
   * (light-response.ts), so the serializer can keep its lines once (blockOf). A change is a
   * TypeError, as for the immutable Headers of a fetch() response.
   */
  static sealed(init: ConstructorParameters<typeof Headers>[0]): LightHeaders {
    const h = new LightHeaders(init);
    h.#lower();
    h.#sealed = true;
    return h;
  }

  /** Whether `h` is a sealed list. */
  static isSealed(h: LightHeaders): boolean {
    return h.#sealed;
  }

  /** The serializer's memo kept on a sealed list (undefined for any other). */
  static blockOf(h: LightHeaders): unknown {
    return h.#block;
  }

  /** Keeps the serializer's memo on a sealed list (made from the list alone). */
  static keepBlock(h: LightHeaders, block: unknown): void {
    if (h.#sealed) h.#block = block;
  }

  #mutable(): void {
    if (this.#sealed) throw new TypeError('Headers: immutable');
  }

  /**
   * From fields the parser already validated; names as received, lowercased on first use. `raw` is
   * never changed (#lower copies it before any change): the parser trusts it for the next head.
   */
  static fromRaw(raw: string[]): LightHeaders {
    const h = new LightHeaders();
    h.#list = raw;
    h.#lowered = false;
    return h;
  }

  /**
   * The pairs in insertion order, names as received or lower-cased (whichever they are now: no copy
   * is made), for a reader that handles either spelling itself. Read only.
   */
  [kFields](): readonly string[] {
    return this.#list;
  }

  /** The pairs in insertion order with lowercase names (for the serializer: already valid). */
  [kPairs](): string[] {
    this.#lower();
    return this.#list;
  }

  /**
   * The fields as [name, value] pairs, uncombined: the init to give a native Headers. Iterating
   * would combine values of one name, and a combined value ending in ", " (an empty field) would
   * lose its trailing space to normalisation.
   */
  toInit(): [string, string][] {
    const list = this[kPairs]();
    const out: [string, string][] = [];
    for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
    return out;
  }

  #lower(): void {
    if (this.#lowered) return;
    const src = this.#list;
    const list = new Array<string>(src.length);
    for (let i = 0; i < src.length; i += 2) {
      list[i] = receivedLowerName(src[i]!);
      list[i + 1] = src[i + 1]!;
    }
    this.#list = list;
    this.#lowered = true;
  }

  append(name: string, value: string): void {
    this.#mutable();
    const n = lowerName(name);
    const v = normalizeValue(value);
    this.#lower();
    this.#list.push(n, v);
  }

  set(name: string, value: string): void {
    this.#mutable();
    const n = checkName(name).toLowerCase();
    const v = normalizeValue(value);
    this.#remove(n);
    this.#list.push(n, v);
  }

  delete(name: string): void {
    this.#mutable();
    this.#remove(checkName(name).toLowerCase());
  }

  #remove(n: string): void {
    this.#lower();
    const list = this.#list;
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (list[r] === n) continue;
      list[w++] = list[r]!;
      list[w++] = list[r + 1]!;
    }
    list.length = w;
  }

  get(name: string): string | null {
    // Both sides lowercased through the tables: a handler asks for the same few names, and a
    // client sends the same few (toLowerCase made a new string on each call, callgrind: about 100
    // instructions each, four per hello.php).
    const n = askedLowerName(name);
    // undici joins Cookie fields with "; " (RFC 9110 §5.3 lets Cookie differ: RFC 6265 §5.4).
    const sep = n === 'cookie' ? '; ' : ', ';
    const list = this.#list;
    let out: string | null = null;
    if (this.#lowered) {
      for (let i = 0; i < list.length; i += 2)
        if (list[i] === n) out = out === null ? list[i + 1]! : out + sep + list[i + 1];
    } else {
      // Compare without lowercasing the whole list: most lookups are for one field.
      for (let i = 0; i < list.length; i += 2) {
        const k = list[i]!;
        if (k.length === n.length && (k === n || receivedLowerName(k) === n))
          out = out === null ? list[i + 1]! : out + sep + list[i + 1];
      }
    }
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  getSetCookie(): string[] {
    this.#lower();
    const out: string[] = [];
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) if (list[i] === 'set-cookie') out.push(list[i + 1]!);
    return out;
  }

  /** Fetch §sort and combine: names sorted, values of one name joined, Set-Cookie kept apart. */
  #sorted(): [string, string][] {
    this.#lower();
    const list = this.#list;
    const names = new Set<string>();
    for (let i = 0; i < list.length; i += 2) names.add(list[i]!);
    const out: [string, string][] = [];
    for (const n of [...names].sort()) {
      if (n === 'set-cookie') for (const c of this.getSetCookie()) out.push([n, c]);
      else out.push([n, this.get(n)!]);
    }
    return out;
  }

  *entries(): IterableIterator<[string, string]> {
    yield* this.#sorted();
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.#sorted()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.#sorted()) yield v;
  }

  forEach(cb: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#sorted()) cb.call(thisArg, v, k, this as unknown as Headers);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }

  /**
   * What console.log shows, as for a native Headers. The native one's own method (inherited) reads
   * undici's private state, which this object does not have, and threw.
   */
  [inspect.custom](_depth: number, options: InspectOptions): string {
    // Insertion order, a name's values joined: what undici shows.
    this.#lower();
    const shown: Record<string, string> = {};
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) if (!Object.hasOwn(shown, list[i]!)) shown[list[i]!] = this.get(list[i]!)!;
    return `Headers ${inspect(shown, options)}`;
  }
}
Object.setPrototypeOf(LightHeaders.prototype, NativeHeaders.prototype);
