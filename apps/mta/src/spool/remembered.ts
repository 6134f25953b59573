// Chunks larger than glibc's largest dynamic mmap threshold (32 MiB): each is its own mapping,
// given back to the system when freed, and only the pages written become resident.
export const META_CHUNK = 40 * 1024 * 1024;

/**
 * The metadata JSON met while replaying the log at open, kept for the first `enumerate()` so a
 * restart does not read every message's metadata back from disk one by one. The bytes are
 * copied into large chunks outside the JavaScript heap (no string or object per message for the
 * garbage collector to move), found by slot. A chunk is let go as soon as nothing remembered is
 * left in it: metadata replaced by a later UPDATE, or already enumerated.
 */
export class RememberedMetas {
  readonly #chunks: (Buffer | undefined)[] = [];
  // Per chunk adopted before it could be used: a promise while it is being read, then the check
  // it still needs (its checksum, done when it is first used); undefined once usable.
  readonly #pending: (Promise<void> | (() => string | undefined) | undefined)[] = [];

  /** Told why an adopted chunk cannot be used (its slots' metadata is then read from disk). */
  onUnusable: (problem: string) => void = () => {};
  // Per chunk: how many slots' metadata it still holds.
  readonly #live: number[] = [];
  #used = 0;
  // Per slot: where its bytes start (chunk number × chunk size + offset; -1 when none), how many.
  #at = new Float64Array(0);
  #length = new Uint32Array(0);

  constructor(readonly chunkSize = META_CHUNK) {}

  /** Keeps a copy of `source[start, end)` as the metadata of `slot`. */
  remember(slot: number, source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (slot >= this.#at.length) this.#grow(slot);
    else this.forget(slot);
    let chunk = this.#chunks.at(-1);
    if (chunk === undefined || chunk.length - this.#used < length) {
      if (length > this.chunkSize) return; // a very large meta: read from disk when needed
      this.#release(this.#chunks.length - 1); // the chunk being filled until now
      chunk = Buffer.allocUnsafeSlow(this.chunkSize);
      this.#chunks.push(chunk);
      this.#live.push(0);
      this.#used = 0;
    }
    Buffer.prototype.copy.call(source, chunk, this.#used, start, end);
    const no = this.#chunks.length - 1;
    this.#at[slot] = no * this.chunkSize + this.#used;
    this.#length[slot] = length;
    this.#live[no]!++;
    this.#used += length;
  }

  /**
   * Takes over a chunk filled elsewhere (read whole from the index checkpoint), at most
   * `chunkSize` bytes; its metadata is then given to slots by {@link place}. Returns its number.
   * @param read when the chunk is still being read: settles once it is, with the check it still
   *   needs before use (run when it is first used; a problem, or undefined), or with why it cannot
   *   be read. Nothing in it is given out before ({@link loading} says what to wait for); a chunk
   *   that cannot be used is dropped, told to {@link onUnusable}, and its slots' metadata is read
   *   from disk instead.
   */
  adopt(chunk: Buffer, read?: Promise<(() => string | undefined) | string>): number {
    if (chunk.length > this.chunkSize) throw new RangeError('chunk larger than the chunk size');
    // The chunks before it are not let go: nothing is placed in them yet.
    this.#chunks.push(chunk);
    this.#live.push(0);
    this.#used = this.chunkSize; // full: the next remember() starts a chunk of its own
    const no = this.#chunks.length - 1;
    if (read !== undefined) {
      this.#pending[no] = read.then((check) => {
        if (this.#chunks[no] !== chunk) return; // let go, or cleared, meanwhile
        if (typeof check === 'function') this.#pending[no] = check;
        else this.#drop(no, check);
      });
    }
    return no;
  }

  /** What to wait for before the metadata of `slot` can be given out, if its chunk is being read. */
  loading(slot: number): Promise<void> | undefined {
    const at = slot < this.#at.length ? this.#at[slot]! : -1;
    const pending = at < 0 ? undefined : this.#pending[Math.floor(at / this.chunkSize)];
    return pending instanceof Promise ? pending : undefined;
  }

  // Whether chunk `no` can be given out now, checking it first if it still needs that.
  #usable(no: number): boolean {
    const pending = this.#pending[no];
    if (pending === undefined) return this.#chunks[no] !== undefined;
    if (pending instanceof Promise) return false;
    const problem = pending();
    if (problem === undefined) {
      this.#pending[no] = undefined;
      return true;
    }
    this.#drop(no, problem);
    return false;
  }

  #drop(no: number, problem: string): void {
    this.#chunks[no] = undefined;
    this.#pending[no] = undefined;
    this.onUnusable(problem);
  }

  /** Remembers `chunk[offset, offset + length)` of an adopted chunk as the metadata of `slot`. */
  place(slot: number, chunk: number, offset: number, length: number): void {
    if (slot >= this.#at.length) this.#grow(slot);
    else this.forget(slot);
    this.#at[slot] = chunk * this.chunkSize + offset;
    this.#length[slot] = length;
    this.#live[chunk]!++;
  }

  /** The metadata JSON remembered for `slot`, decoded, if any (none while its chunk loads). */
  text(slot: number): string | undefined {
    // Decoded straight from the chunk: no view made per message on the restore's path.
    const chunk = this.#holding(slot);
    if (chunk === undefined) return undefined;
    const start = this.#at[slot]! % this.chunkSize;
    return chunk.toString('utf8', start, start + this.#length[slot]!);
  }

  /**
   * The metadata JSON remembered for `slot`, as a view of the chunk holding it, if any (none
   * while its chunk is being read, nor once the chunk was found unusable).
   */
  bytes(slot: number): Buffer | undefined {
    const chunk = this.#holding(slot);
    if (chunk === undefined) return undefined;
    const start = this.#at[slot]! % this.chunkSize;
    return chunk.subarray(start, start + this.#length[slot]!);
  }

  // The chunk holding the metadata of `slot`, when there is some and it can be given out.
  #holding(slot: number): Buffer | undefined {
    const at = slot < this.#at.length ? this.#at[slot]! : -1;
    if (at < 0) return undefined;
    const no = Math.floor(at / this.chunkSize);
    return this.#usable(no) ? this.#chunks[no] : undefined;
  }

  /** Forgets the metadata of `slot` (changed, enumerated, or the message removed). */
  forget(slot: number): void {
    const at = slot < this.#at.length ? this.#at[slot]! : -1;
    if (at < 0) return;
    this.#at[slot] = -1;
    const no = Math.floor(at / this.chunkSize);
    this.#live[no]!--;
    if (no < this.#chunks.length - 1) this.#release(no);
  }

  /** Makes room for slots below `count` at once. */
  reserve(count: number): void {
    if (count > this.#at.length) this.#grow(count - 1);
  }

  /** Chunks held, for tests. */
  get chunks(): number {
    return this.#chunks.filter((c) => c !== undefined).length;
  }

  // Lets a chunk no longer filled go once nothing in it is remembered.
  #release(no: number): void {
    if (no >= 0 && this.#live[no] === 0) this.#chunks[no] = undefined;
  }

  /** Forgets everything, and gives the memory back. */
  clear(): void {
    this.#chunks.length = 0;
    this.#pending.length = 0;
    this.#live.length = 0;
    this.#used = 0;
    this.#at = new Float64Array(0);
    this.#length = new Uint32Array(0);
  }

  #grow(slot: number): void {
    const capacity = Math.max(1024, slot + 1, Math.ceil(this.#at.length * 1.5));
    const at = new Float64Array(capacity).fill(-1);
    at.set(this.#at);
    const length = new Uint32Array(capacity);
    length.set(this.#length);
    this.#at = at;
    this.#length = length;
  }
}
