/**
 * Items ordered by due time, with one timer armed for the earliest. Push and pop are
 * O(log n), so scheduling cost does not grow with queue length beyond that; nothing polls.
 */
export class TimerHeap<T extends { due: number }> {
  readonly #items: T[] = [];
  readonly #onDue: (item: T) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(onDue: (item: T) => void, now: () => number = Date.now) {
    this.#onDue = onDue;
    this.#now = now;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.due <= item.due) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
    this.#arm();
  }

  /** Every item, in no particular order (for inspection). */
  values(): readonly T[] {
    return this.#items;
  }

  /** Removes items matching `predicate` (admin bounces); O(n). */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed = this.#items.filter(predicate);
    if (removed.length === 0) return removed;
    const kept = this.#items.filter((item) => !predicate(item));
    this.#items.length = 0;
    for (const item of kept) this.push(item);
    this.#arm();
    return removed;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    // Sift `last` down from the root: every comparison is against `last`, the item being
    // placed, never against the child just moved up into the hole.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      let smallestDue = last.due;
      if (left < items.length && items[left]!.due < smallestDue) {
        smallest = left;
        smallestDue = items[left]!.due;
      }
      if (right < items.length && items[right]!.due < smallestDue) smallest = right;
      if (smallest === i) break;
      items[i] = items[smallest]!;
      i = smallest;
    }
    items[i] = last;
    return top;
  }

  #arm(): void {
    if (this.#stopped) return;
    const first = this.#items[0];
    if (!first) return;
    if (this.#timer && this.#armedFor <= first.due) return;
    clearTimeout(this.#timer);
    this.#armedFor = first.due;
    // Node timers cap at ~24.8 days; a longer wait just re-arms when it fires.
    const delay = Math.min(Math.max(0, first.due - this.#now()), 2 ** 31 - 1);
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#now();
    // Bounded per tick so a backlog of due items cannot starve the event loop.
    for (let n = 0; n < 10_000; n++) {
      const first = this.#items[0];
      if (!first || first.due > now || this.#stopped) break;
      this.#onDue(this.#pop()!);
    }
    if (this.#items[0] && this.#items[0].due <= now) {
      this.#timer = setTimeout(() => this.#fire(), 0);
      this.#armedFor = now;
      return;
    }
    this.#arm();
  }
}
