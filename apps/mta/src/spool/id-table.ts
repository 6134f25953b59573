// Hex digit values by character code; -1 for a character that is not a lowercase hex digit.
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

const EMPTY = -1;
// The end of the order list.
const END = -1;

/**
 * The spool's id → slot table, outside the JavaScript heap. A spool id is 16 bytes (32 lowercase
 * hex characters); the table keeps each slot's id as those bytes (compared as four 32-bit words)
 * and finds a slot by open addressing with linear probing, at most half full. Slots also form a
 * list in the order their ids were first added, so a walk over the spool meets messages oldest
 * first, as a replay of the log does.
 *
 * Against a `Map` of id strings it keeps no string per message (the engine makes its own when it
 * needs one) and costs 24 bytes per slot and 8 per bucket (two or more buckets per id) in typed
 * arrays the garbage collector never walks. A checkpoint's ids become its storage as read, with
 * no string made: a million messages load in a fraction of the time a `Map` takes to grow to
 * that size.
 *
 * The slots themselves are handed out by the caller ({@link SpoolIndex}); the table only maps.
 */
export class IdTable {
  /** Each slot's id, 16 bytes per slot, as they are on disk. */
  #bytes: Uint8Array = new Uint8Array(0);
  /** The same bytes as four words per slot (in the machine's byte order), for hashing and comparing. */
  #words: Int32Array = new Int32Array(0);
  /**
   * Buckets as pairs: the slot (or EMPTY) and its id's hash, compared before the id itself so a
   * probe reads one cache line, not the id of every slot it passes. A power of two of pairs.
   */
  #buckets = new Int32Array(0);
  /** Pairs − 1. */
  #mask = -1;
  #size = 0;
  /** The order ids were added in: next and previous slot, END at either end. */
  #next = new Int32Array(0);
  #prev = new Int32Array(0);
  #head = END;
  #tail = END;
  // The id being looked up, as words and as bytes.
  readonly #probe = new Int32Array(4);
  readonly #probeBytes = new Uint8Array(this.#probe.buffer);
  // The bytes of the id being turned into text.
  readonly #text = Buffer.alloc(16);

  /** Ids in the table. */
  get size(): number {
    return this.#size;
  }

  /** Room for slots below `capacity` (never shrinks). */
  growSlots(capacity: number): void {
    if (capacity <= this.#next.length) return;
    const bytes = new Uint8Array(capacity * 16);
    bytes.set(this.#bytes);
    this.#bytes = bytes;
    this.#words = new Int32Array(bytes.buffer);
    const next = new Int32Array(capacity);
    next.set(this.#next);
    this.#next = next;
    const prev = new Int32Array(capacity);
    prev.set(this.#prev);
    this.#prev = prev;
  }

  /** The slot of `id`, or -1 (also for text that is not a spool id). */
  find(id: string): number {
    return parseId(id, this.#probeBytes) ? this.#lookup(this.#probe) : -1;
  }

  /** The slot of the 16-byte id at `bytes[at]`, or -1. */
  findBytes(bytes: Uint8Array, at: number): number {
    copy16(bytes, at, this.#probeBytes, 0);
    return this.#lookup(this.#probe);
  }

  /** True while `slot` holds `id`. */
  holds(slot: number, id: string): boolean {
    if (!parseId(id, this.#probeBytes)) return false;
    const p = this.#probe;
    return this.#is(slot, p[0]!, p[1]!, p[2]!, p[3]!);
  }

  /**
   * Adds `id` in `slot` (free), at the end of the order; false (nothing added) when the table
   * already holds it.
   * @throws RangeError for text that is not a spool id
   */
  add(id: string, slot: number): boolean {
    if (!parseId(id, this.#probeBytes)) throw new RangeError(`'${id}' is not a spool id`);
    return this.#add(this.#probe, slot);
  }

  /**
   * Adds the 16-byte id at `bytes[at]` in `slot`, at the end of the order; false (nothing added)
   * when the table already holds it.
   */
  addBytes(bytes: Uint8Array, at: number, slot: number): boolean {
    copy16(bytes, at, this.#probeBytes, 0);
    return this.#add(this.#probe, slot);
  }

  /** Takes `slot`'s id out of the table (the slot must hold one). */
  remove(slot: number): void {
    const buckets = this.#buckets;
    const mask = this.#mask;
    let hole = this.#bucketOf(slot);
    // Backward-shift deletion: later members of the run move up into the hole if their home
    // bucket allows it, so lookups never meet a gap inside a run.
    let i = hole;
    for (;;) {
      i = (i + 1) & mask;
      const s = buckets[i * 2]!;
      if (s === EMPTY) break;
      const home = buckets[i * 2 + 1]! & mask;
      // Movable when its home is not in (hole, i] cyclically.
      if (hole <= i ? home <= hole || home > i : home <= hole && home > i) {
        buckets[hole * 2] = s;
        buckets[hole * 2 + 1] = buckets[i * 2 + 1]!;
        hole = i;
      }
    }
    buckets[hole * 2] = EMPTY;
    this.#size--;
    const next = this.#next[slot]!;
    const prev = this.#prev[slot]!;
    if (prev === END) this.#head = next;
    else this.#next[prev] = next;
    if (next === END) this.#tail = prev;
    else this.#prev[next] = prev;
  }

  /**
   * `slot`'s id as text: one flat string, as a message id kept by the engine should be (text
   * joined from pieces would keep the pieces too, until first hashed).
   */
  id(slot: number): string {
    copy16(this.#bytes, slot * 16, this.#text, 0);
    return this.#text.toString('hex');
  }

  /** Writes `slot`'s id as 16 bytes at `target[at]`. */
  copyId(slot: number, target: Uint8Array, at: number): void {
    copy16(this.#bytes, slot * 16, target, at);
  }

  /**
   * Fills an empty table at once with `count` ids, the one of slot i the 16 bytes at
   * `ids[16 i]`, in slot order, taking `ids` over as its own storage (not copied: the first
   * growth copies it). `ids` must start 4-aligned in its buffer. False when an id repeats.
   */
  adopt(ids: Uint8Array, count: number): boolean {
    if (this.#size > 0) throw new Error('adopt() needs an empty table');
    if (ids.byteOffset % 4 !== 0 || ids.length < count * 16)
      throw new RangeError('adopt() needs 16 bytes per id, 4-aligned');
    this.#bytes = ids.subarray(0, count * 16);
    this.#words = new Int32Array(ids.buffer, ids.byteOffset, count * 4);
    this.#next = new Int32Array(count);
    this.#prev = new Int32Array(count);
    this.reserve(count);
    for (let slot = 0; slot < count; slot++) {
      if (!this.#place(slot)) return false;
      this.#next[slot] = slot + 1 < count ? slot + 1 : END;
      this.#prev[slot] = slot - 1;
      this.#size++;
    }
    this.#head = count > 0 ? 0 : END;
    this.#tail = count - 1;
    return true;
  }

  /** The first slot in the order, or -1. */
  first(): number {
    return this.#head;
  }

  /** The slot after `slot` in the order, or -1. */
  after(slot: number): number {
    return this.#next[slot]!;
  }

  /** Makes room for `count` ids without growing again on the way. */
  reserve(count: number): void {
    if (count * 2 > this.#mask + 1) this.#rehash(count);
  }

  #add(p: Int32Array, slot: number): boolean {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#rehash(this.#size + 1);
    // The slot is free: its words are no one's until it is placed.
    this.#words.set(p, slot * 4);
    if (!this.#place(slot)) return false;
    this.#size++;
    this.#next[slot] = END;
    this.#prev[slot] = this.#tail;
    if (this.#tail === END) this.#head = slot;
    else this.#next[this.#tail] = slot;
    this.#tail = slot;
    return true;
  }

  // Puts `slot` (its id already in its words) in a bucket; false when another slot has the id.
  #place(slot: number): boolean {
    const w = this.#words;
    const k = slot * 4;
    const a = w[k]!;
    const b = w[k + 1]!;
    const c = w[k + 2]!;
    const d = w[k + 3]!;
    const h = mix(a, b, c, d);
    const buckets = this.#buckets;
    const mask = this.#mask;
    let i = h & mask;
    for (let s = buckets[i * 2]!; s !== EMPTY; i = (i + 1) & mask, s = buckets[i * 2]!) {
      if (buckets[i * 2 + 1] === h && this.#is(s, a, b, c, d)) return false;
    }
    buckets[i * 2] = slot;
    buckets[i * 2 + 1] = h;
    return true;
  }

  #lookup(p: Int32Array): number {
    if (this.#size === 0) return -1;
    const buckets = this.#buckets;
    const mask = this.#mask;
    const a = p[0]!;
    const b = p[1]!;
    const c = p[2]!;
    const d = p[3]!;
    const h = mix(a, b, c, d);
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = buckets[i * 2]!;
      if (s === EMPTY) return -1;
      if (buckets[i * 2 + 1] === h && this.#is(s, a, b, c, d)) return s;
    }
  }

  // Whether `slot`'s id is the four words a, b, c, d.
  #is(slot: number, a: number, b: number, c: number, d: number): boolean {
    const w = this.#words;
    const k = slot * 4;
    return w[k] === a && w[k + 1] === b && w[k + 2] === c && w[k + 3] === d;
  }

  // The bucket holding `slot` (which the table must hold).
  #bucketOf(slot: number): number {
    const buckets = this.#buckets;
    const mask = this.#mask;
    const k = slot * 4;
    const w = this.#words;
    for (let i = mix(w[k]!, w[k + 1]!, w[k + 2]!, w[k + 3]!) & mask; ; i = (i + 1) & mask) {
      if (buckets[i * 2] === slot) return i;
      if (buckets[i * 2] === EMPTY) throw new Error(`slot ${slot} is not in the id table`);
    }
  }

  // Buckets for at least `count` ids at most half full, every id placed again.
  #rehash(count: number): void {
    let pairs = 16;
    while (pairs < count * 2) pairs *= 2;
    const buckets = new Int32Array(pairs * 2).fill(EMPTY);
    const mask = pairs - 1;
    const old = this.#buckets;
    for (let j = 0; j < old.length; j += 2) {
      const s = old[j]!;
      if (s === EMPTY) continue;
      const h = old[j + 1]!;
      let i = h & mask;
      while (buckets[i * 2] !== EMPTY) i = (i + 1) & mask;
      buckets[i * 2] = s;
      buckets[i * 2 + 1] = h;
    }
    this.#buckets = buckets;
    this.#mask = mask;
  }
}

// A spool id's 16 bytes; false for text that is not 32 lowercase hex characters.
function parseId(id: string, into: Uint8Array): boolean {
  if (id.length !== 32) return false;
  for (let j = 0; j < 16; j++) {
    const hi = id.charCodeAt(j * 2);
    const lo = id.charCodeAt(j * 2 + 1);
    const h = hi < 128 ? HEX[hi]! : -1;
    const l = lo < 128 ? HEX[lo]! : -1;
    if ((h | l) < 0) return false;
    into[j] = (h << 4) | l;
  }
  return true;
}

function copy16(from: Uint8Array, at: number, to: Uint8Array, to0: number): void {
  for (let j = 0; j < 16; j++) to[to0 + j] = from[at + j]!;
}

// The four words mixed into a bucket number (a v1 UUID's first word, its time, varies most).
function mix(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c ^ d, 0xc2b2ae35), 0x9e3779b1);
  h ^= h >>> 15;
  return h;
}
