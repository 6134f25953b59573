import { IdTable } from './id-table.js';
import { HEADER_SIZE } from './record.js';
import type { Segment } from './segment.js';

// Slot numbers end their free list.
const NONE = 0xffffffff;
const FIRST_CAPACITY = 1024;

/**
 * What the spool keeps in memory per message, as columns of typed arrays indexed by a slot: where
 * its data record and its latest metadata record are, and the data size. Sender, recipients and
 * meta stay on disk (read at startup by `enumerate()`). A message costs its entry in an
 * {@link IdTable} (its id as 16 bytes, and a bucket) and 44 bytes of columns, all outside the
 * JavaScript heap, instead of an object per message (~96 bytes of heap, plus its numbers) and a
 * `Map` entry from an id string.
 *
 * A slot freed by `delete()` is used again; `born` tells its lives apart, so bookkeeping that
 * finishes after an await checks {@link SpoolIndex.is} (the id still has this slot, in the same
 * life) before touching it. Columns grow with the peak number of messages and are not shrunk.
 */
export class SpoolIndex {
  /** Segment of the STORE record holding the data. */
  seg: Uint32Array = new Uint32Array(0);
  /** Offset of that STORE record. */
  off: Float64Array = new Float64Array(0);
  /** Meta length inside that STORE record (its length is HEADER + this + size). */
  storeMeta: Uint32Array = new Uint32Array(0);
  /** Data bytes. */
  size: Uint32Array = new Uint32Array(0);
  /** Segment of the record holding the latest durable metadata. */
  mseg: Uint32Array = new Uint32Array(0);
  /** Offset of that record. */
  moff: Float64Array = new Float64Array(0);
  /** Length of that metadata JSON; in a free slot, the next free slot. */
  mlen: Uint32Array = new Uint32Array(0);
  /** Bumped by every `update()`, so late bookkeeping can tell it was overtaken. */
  version: Uint32Array = new Uint32Array(0);
  /** Which life of the slot this is (a counter, bumped each time a slot is taken); 0 when free. */
  born: Uint32Array = new Uint32Array(0);
  /** Metadata queued by `update()` but not yet written, by slot. */
  readonly pending = new Map<number, Uint8Array>();
  readonly #ids = new IdTable();
  #used = 0;
  #free = NONE;
  #births = 0;

  /** Messages indexed. */
  get count(): number {
    return this.#ids.size;
  }

  /** The slot of `id`, if it is indexed. */
  slot(id: string): number | undefined {
    const slot = this.#ids.find(id);
    return slot < 0 ? undefined : slot;
  }

  /** The slot of the 16-byte id at `bytes[at]` (a record's), if it is indexed. */
  slotAt(bytes: Uint8Array, at: number): number | undefined {
    const slot = this.#ids.findBytes(bytes, at);
    return slot < 0 ? undefined : slot;
  }

  has(id: string): boolean {
    return this.#ids.find(id) >= 0;
  }

  /** True while `id` still has `slot`, in the life `born` (it was not removed and stored again). */
  is(id: string, slot: number, born: number): boolean {
    return born !== 0 && this.born[slot] === born && this.#ids.holds(slot, id);
  }

  /** The id in `slot` (a slot in use). */
  id(slot: number): string {
    return this.#ids.id(slot);
  }

  /** Writes the id in `slot` as its 16 bytes at `target[at]`. */
  copyId(slot: number, target: Uint8Array, at: number): void {
    this.#ids.copyId(slot, target, at);
  }

  /** Every id, in the order first indexed. */
  *ids(): IterableIterator<string> {
    for (const slot of this.slots()) yield this.#ids.id(slot);
  }

  /** Every slot in use, in the order their ids were first indexed. */
  *slots(): IterableIterator<number> {
    const ids = this.#ids;
    for (let slot = ids.first(); slot >= 0; ) {
      const next = ids.after(slot); // read first: the caller may delete `slot`
      yield slot;
      slot = next;
    }
  }

  /**
   * Every slot in use with its life, as they are now (later changes are not seen), in the order
   * first indexed: a walk over them checks `born[slot] === born` to see whether a message is
   * still there (its id is then {@link id}), without a lookup.
   */
  snapshot(): { slots: Uint32Array; born: Uint32Array } {
    const ids = this.#ids;
    const slots = new Uint32Array(ids.size);
    const born = new Uint32Array(ids.size);
    let i = 0;
    for (let slot = ids.first(); slot >= 0; slot = ids.after(slot)) {
      slots[i] = slot;
      born[i++] = this.born[slot]!;
    }
    return { slots, born };
  }

  /**
   * Indexes a STORE record (its metadata is the latest); an id already indexed keeps its slot,
   * its fields replaced (a compaction copy met again at recovery).
   * @throws RangeError for an id that is not a spool id (32 lowercase hex characters)
   */
  set(id: string, seg: number, off: number, metaLength: number, size: number): number {
    let slot = this.#ids.find(id);
    if (slot < 0) {
      slot = this.#take();
      try {
        this.#ids.add(id, slot);
      } catch (error) {
        this.#give(slot);
        throw error;
      }
    }
    return this.#fill(slot, seg, off, metaLength, size);
  }

  /** {@link set} for the 16-byte id at `bytes[at]` (a record met by a replay). */
  setAt(
    bytes: Uint8Array,
    at: number,
    seg: number,
    off: number,
    metaLength: number,
    size: number,
  ): number {
    let slot = this.#ids.findBytes(bytes, at);
    if (slot < 0) {
      slot = this.#take();
      this.#ids.addBytes(bytes, at, slot);
    }
    return this.#fill(slot, seg, off, metaLength, size);
  }

  #fill(slot: number, seg: number, off: number, metaLength: number, size: number): number {
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
    const slot = this.#ids.find(id);
    if (slot >= 0) this.deleteSlot(slot);
  }

  /** Forgets the message in `slot` (a slot in use); the slot is free for the next message. */
  deleteSlot(slot: number): void {
    this.#ids.remove(slot);
    this.pending.delete(slot);
    this.#give(slot);
  }

  #give(slot: number): void {
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
   * Fills an empty index at once from columns (message i in slot i, its id the 16 bytes at
   * `ids[16 i]`, the latest metadata where the columns say): what the checkpoint of a clean stop
   * holds. The columns and the ids are taken over, not copied (the first growth copies them);
   * `ids` must start 4-aligned in its buffer. False when an id repeats.
   */
  load(
    count: number,
    ids: Uint8Array,
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
    if (this.#ids.size > 0 || this.#used > 0) throw new Error('load() needs an empty index');
    const { seg, off, storeMeta, size, mseg, moff, mlen } = columns;
    if ([seg, off, storeMeta, size, mseg, moff, mlen].some((c) => c.length !== count))
      throw new RangeError('load() needs columns of `count` messages');
    this.seg = columns.seg;
    this.off = columns.off;
    this.storeMeta = columns.storeMeta;
    this.size = columns.size;
    this.mseg = columns.mseg;
    this.moff = columns.moff;
    this.mlen = columns.mlen;
    this.version = new Uint32Array(count).fill(1);
    this.born = new Uint32Array(count);
    if (!this.#ids.adopt(ids, count)) return false;
    for (let i = 0; i < count; i++) {
      this.#births = (this.#births + 1) >>> 0 || 1;
      this.born[i] = this.#births;
    }
    this.#used = count;
    return true;
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
    this.#ids.growSlots(capacity);
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
