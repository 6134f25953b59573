// Hex digit values by character code; -1 for a character that is not a lowercase hex digit.
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

const EMPTY = -1;
// The end of the order list.
const END = -1;

/**
 * The spool's id → slot table, outside the JavaScript heap. A spool id is 16 bytes (32 lowercase
 * hex characters); the table keeps each slot's id as four 32-bit words (big-endian: the words
 * read left to right are the hex text) and finds a slot by open addressing with linear probing,
 * at most half full. Slots also form a list in the order their ids were first added, so a walk
 * over the spool meets messages oldest first, as a replay of the log does.
 *
 * Against a `Map` of id strings it keeps no string per message (the engine makes its own when it
 * needs one), costs 24 bytes per slot and 8 per bucket (two or more buckets per id) in typed
 * arrays the garbage collector never walks, and fills from a checkpoint's binary ids without making a string at all: a
 * million messages load in a fraction of the time a `Map` takes to grow to that size.
 *
 * The slots themselves are handed out by the caller ({@link SpoolIndex}); the table only maps.
 */
export class IdTable {
  /** Each slot's id, four words per slot. */
  #words = new Int32Array(0);
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
  // The words of the id being looked up.
  readonly #probe = new Int32Array(4);

  /** Ids in the table. */
  get size(): number {
    return this.#size;
  }

  /** Room for slots below `capacity` (never shrinks). */
  growSlots(capacity: number): void {
    if (capacity <= this.#next.length) return;
    const words = new Int32Array(capacity * 4);
    words.set(this.#words);
    this.#words = words;
    const next = new Int32Array(capacity);
    next.set(this.#next);
    this.#next = next;
    const prev = new Int32Array(capacity);
    prev.set(this.#prev);
    this.#prev = prev;
  }

  /** The slot of `id`, or -1 (also for text that is not a spool id). */
  find(id: string): number {
    return parseId(id, this.#probe) ? this.#lookup(this.#probe) : -1;
  }

  /** The slot of the 16-byte id at `bytes[at]`, or -1. */
  findBytes(bytes: Uint8Array, at: number): number {
    readWords(bytes, at, this.#probe);
    return this.#lookup(this.#probe);
  }

  /** True while `slot` holds `id`. */
  holds(slot: number, id: string): boolean {
    if (!parseId(id, this.#probe)) return false;
    const w = this.#words;
    const k = slot * 4;
    const p = this.#probe;
    return w[k] === p[0] && w[k + 1] === p[1] && w[k + 2] === p[2] && w[k + 3] === p[3];
  }

  /**
   * Adds `id` in `slot` (free), at the end of the order; false (nothing added) when the table
   * already holds it.
   * @throws RangeError for text that is not a spool id
   */
  add(id: string, slot: number): boolean {
    if (!parseId(id, this.#probe)) throw new RangeError(`'${id}' is not a spool id`);
    return this.#add(this.#probe, slot);
  }

  /**
   * Adds the 16-byte id at `bytes[at]` in `slot`, at the end of the order; false (nothing added)
   * when the table already holds it.
   */
  addBytes(bytes: Uint8Array, at: number, slot: number): boolean {
    readWords(bytes, at, this.#probe);
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

  /** `slot`'s id as text. */
  id(slot: number): string {
    const w = this.#words;
    const k = slot * 4;
    return hex8(w[k]!) + hex8(w[k + 1]!) + hex8(w[k + 2]!) + hex8(w[k + 3]!);
  }

  /** Writes `slot`'s id as 16 bytes at `target[at]`. */
  copyId(slot: number, target: Uint8Array, at: number): void {
    const w = this.#words;
    for (let j = 0; j < 4; j++) {
      const v = w[slot * 4 + j]!;
      const p = at + j * 4;
      target[p] = v >>> 24;
      target[p + 1] = (v >>> 16) & 0xff;
      target[p + 2] = (v >>> 8) & 0xff;
      target[p + 3] = v & 0xff;
    }
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
    const a = p[0]!;
    const b = p[1]!;
    const c = p[2]!;
    const d = p[3]!;
    const h = mix(a, b, c, d);
    const buckets = this.#buckets;
    const mask = this.#mask;
    const w = this.#words;
    let i = h & mask;
    for (let s = buckets[i * 2]!; s !== EMPTY; i = (i + 1) & mask, s = buckets[i * 2]!) {
      if (buckets[i * 2 + 1] !== h) continue;
      const k = s * 4;
      if (w[k] === a && w[k + 1] === b && w[k + 2] === c && w[k + 3] === d) return false;
    }
    buckets[i * 2] = slot;
    buckets[i * 2 + 1] = h;
    const k = slot * 4;
    w[k] = a;
    w[k + 1] = b;
    w[k + 2] = c;
    w[k + 3] = d;
    this.#size++;
    this.#next[slot] = END;
    this.#prev[slot] = this.#tail;
    if (this.#tail === END) this.#head = slot;
    else this.#next[this.#tail] = slot;
    this.#tail = slot;
    return true;
  }

  #lookup(p: Int32Array): number {
    if (this.#size === 0) return -1;
    const buckets = this.#buckets;
    const mask = this.#mask;
    const w = this.#words;
    const a = p[0]!;
    const b = p[1]!;
    const c = p[2]!;
    const d = p[3]!;
    const h = mix(a, b, c, d);
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = buckets[i * 2]!;
      if (s === EMPTY) return -1;
      if (buckets[i * 2 + 1] !== h) continue;
      const k = s * 4;
      if (w[k] === a && w[k + 1] === b && w[k + 2] === c && w[k + 3] === d) return s;
    }
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

// A spool id's four words; false for text that is not 32 lowercase hex characters.
function parseId(id: string, into: Int32Array): boolean {
  if (id.length !== 32) return false;
  for (let j = 0; j < 4; j++) {
    let v = 0;
    for (let k = j * 8, end = k + 8; k < end; k++) {
      const c = id.charCodeAt(k);
      const d = c < 128 ? HEX[c]! : -1;
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    into[j] = v;
  }
  return true;
}

function readWords(bytes: Uint8Array, at: number, into: Int32Array): void {
  for (let j = 0; j < 4; j++) {
    const p = at + j * 4;
    into[j] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
  }
}

// The four words mixed into a bucket number (a v1 UUID's first word, its time, varies most).
function mix(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c ^ d, 0xc2b2ae35), 0x9e3779b1);
  h ^= h >>> 15;
  return h;
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}
