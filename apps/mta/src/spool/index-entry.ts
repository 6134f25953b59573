import { HEADER_SIZE } from './record.js';
import type { Segment } from './segment.js';

// Slot numbers end their free list.
const NONE = 0xffffffff;
const FIRST_CAPACITY = 1024;

/**
 * What the spool keeps in memory per message, as columns of typed arrays indexed by a slot: where
 * its data record and its latest metadata record are, and the data size. Sender, recipients and
 * meta stay on disk (read at startup by `enumerate()`). A message costs a `Map` entry from its id
 * (the id string is the one the engine keeps too) to its slot, and 44 bytes of columns outside
 * the JavaScript heap, instead of an object per message (~96 bytes of heap, plus its numbers).
 *
 * A slot freed by `delete()` is used again; `born` tells its lives apart, so bookkeeping that
 * finishes after an await checks {@link SpoolIndex.is} (the id still has this slot, in the same
 * life) before touching it. Columns grow with the peak number of messages and are not shrunk.
 */
export class SpoolIndex {
  /** Segment of the STORE record holding the data. */
  seg = new Uint32Array(0);
  /** Offset of that STORE record. */
  off = new Float64Array(0);
  /** Meta length inside that STORE record (its length is HEADER + this + size). */
  storeMeta = new Uint32Array(0);
  /** Data bytes. */
  size = new Uint32Array(0);
  /** Segment of the record holding the latest durable metadata. */
  mseg = new Uint32Array(0);
  /** Offset of that record. */
  moff = new Float64Array(0);
  /** Length of that metadata JSON; in a free slot, the next free slot. */
  mlen = new Uint32Array(0);
  /** Bumped by every `update()`, so late bookkeeping can tell it was overtaken. */
  version = new Uint32Array(0);
  /** Which life of the slot this is (a counter, bumped each time a slot is taken); 0 when free. */
  born = new Uint32Array(0);
  /** Metadata queued by `update()` but not yet written, by slot. */
  readonly pending = new Map<number, Uint8Array>();
  readonly #slots = new Map<string, number>();
  #used = 0;
  #free = NONE;
  #births = 0;

  /** Messages indexed. */
  get count(): number {
    return this.#slots.size;
  }

  /** The slot of `id`, if it is indexed. */
  slot(id: string): number | undefined {
    return this.#slots.get(id);
  }

  has(id: string): boolean {
    return this.#slots.has(id);
  }

  /** True while `id` still has `slot`, in the life `born` (it was not removed and stored again). */
  is(id: string, slot: number, born: number): boolean {
    return this.#slots.get(id) === slot && this.born[slot] === born;
  }

  /** Every id, in the order first indexed. */
  ids(): IterableIterator<string> {
    return this.#slots.keys();
  }

  /** Every slot in use. */
  slots(): IterableIterator<number> {
    return this.#slots.values();
  }

  /**
   * Every id with its slot and life, as they are now (later changes are not seen): a walk over
   * them checks `born[slot] === born` to see whether a message is still there, without a lookup.
   */
  snapshot(): { ids: string[]; slots: Uint32Array; born: Uint32Array } {
    const ids: string[] = new Array(this.#slots.size);
    const slots = new Uint32Array(this.#slots.size);
    const born = new Uint32Array(this.#slots.size);
    let i = 0;
    this.#slots.forEach((slot, id) => {
      ids[i] = id;
      slots[i] = slot;
      born[i++] = this.born[slot]!;
    });
    return { ids, slots, born };
  }

  /**
   * Indexes a STORE record (its metadata is the latest); an id already indexed keeps its slot,
   * its fields replaced (a compaction copy met again at recovery).
   */
  set(id: string, seg: number, off: number, metaLength: number, size: number): number {
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#take();
      this.#slots.set(id, slot);
    }
    this.seg[slot] = seg;
    this.off[slot] = off;
    this.storeMeta[slot] = metaLength;
    this.size[slot] = size;
    this.mseg[slot] = seg;
    this.moff[slot] = off;
    this.mlen[slot] = metaLength;
    return slot;
  }

  /** Forgets `id`; its slot is free for the next message. */
  delete(id: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#slots.delete(id);
    this.pending.delete(slot);
    this.born[slot] = 0;
    this.mlen[slot] = this.#free;
    this.#free = slot;
  }

  #take(): number {
    let slot = this.#free;
    if (slot !== NONE) this.#free = this.mlen[slot]!;
    else {
      if (this.#used === this.seg.length) this.#grow();
      slot = this.#used++;
    }
    this.#births = (this.#births + 1) >>> 0 || 1; // never 0, the mark of a free slot
    this.born[slot] = this.#births;
    this.version[slot] = this.version[slot]! + 1;
    return slot;
  }

  /**
   * Fills an empty index at once from columns (message i in slot i, the latest metadata where
   * the columns say): what the checkpoint of a clean stop holds. False when an id repeats.
   */
  load(
    count: number,
    id: (i: number) => string,
    columns: {
      readonly seg: Uint32Array;
      readonly off: Float64Array;
      readonly storeMeta: Uint32Array;
      readonly size: Uint32Array;
      readonly mseg: Uint32Array;
      readonly moff: Float64Array;
      readonly mlen: Uint32Array;
    },
  ): boolean {
    if (this.#slots.size > 0 || this.#used > 0) throw new Error('load() needs an empty index');
    this.reserve(count);
    for (let i = 0; i < count; i++) {
      this.#slots.set(id(i), i);
      this.#births = (this.#births + 1) >>> 0 || 1;
      this.born[i] = this.#births;
      this.version[i] = 1;
    }
    this.#used = count;
    this.seg.set(columns.seg);
    this.off.set(columns.off);
    this.storeMeta.set(columns.storeMeta);
    this.size.set(columns.size);
    this.mseg.set(columns.mseg);
    this.moff.set(columns.moff);
    this.mlen.set(columns.mlen);
    return this.#slots.size === count;
  }

  /** Grows the columns to hold `count` messages at once (a checkpoint says how many come). */
  reserve(count: number): void {
    if (count > this.seg.length) this.#grow(count);
  }

  #grow(atLeast = 0): void {
    const capacity = Math.max(FIRST_CAPACITY, atLeast, Math.ceil(this.seg.length * 1.5));
    const grown = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    const u32 = (n: number) => new Uint32Array(n);
    const f64 = (n: number) => new Float64Array(n);
    this.seg = grown(this.seg, u32);
    this.off = grown(this.off, f64);
    this.storeMeta = grown(this.storeMeta, u32);
    this.size = grown(this.size, u32);
    this.mseg = grown(this.mseg, u32);
    this.moff = grown(this.moff, f64);
    this.mlen = grown(this.mlen, u32);
    this.version = grown(this.version, u32);
    this.born = grown(this.born, u32);
  }
}

/** Adds (`sign` 1) or takes away (-1) the bytes of the records the message in `slot` keeps alive. */
export function account(
  segments: ReadonlyMap<number, Segment>,
  index: SpoolIndex,
  slot: number,
  sign: 1 | -1,
): void {
  const seg = index.seg[slot]!;
  const off = index.off[slot]!;
  const dataRecord = HEADER_SIZE + index.storeMeta[slot]! + index.size[slot]!;
  const data = segments.get(seg);
  if (data) data.live += sign * dataRecord;
  const mseg = index.mseg[slot]!;
  if (mseg !== seg || index.moff[slot] !== off) {
    const meta = segments.get(mseg);
    if (meta) meta.live += sign * (HEADER_SIZE + index.mlen[slot]!);
  }
}
