import { errorText, type Logger, silentLogger } from '@sterna/core';
import { assertSpoolId } from '@sterna/core/engine';
import { spoolError } from './errors.js';
import type { Spool, SpoolEntry, SpoolStats } from './types.js';

interface Held {
  entry: SpoolEntry;
  readonly data: Uint8Array;
}

/**
 * KumoMTA's `deferred_spool`: a spool that can also keep a new message in memory only, until it
 * first has to wait. {@link hold} takes the message without writing it; the first
 * {@link update} (what the queue does after a transient failure, or an operator's change)
 * stores it for real, with the entry it is given; a delivery or a bounce {@link remove}s it
 * without a write ever having been made; {@link close} stores whatever is still held, so a
 * clean stop loses nothing. A crash or a `kill -9` loses what is held: that is the trade the
 * option makes, as in KumoMTA.
 *
 * Every other message goes to the spool underneath unchanged.
 */
export class HoldingSpool implements Spool {
  readonly #inner: Spool;
  readonly #log: Logger;
  readonly #held = new Map<string, Held>();
  // Messages whose first store is on its way: reads and changes wait for it.
  readonly #storing = new Map<
    string,
    { readonly data: Uint8Array; readonly done: Promise<void> }
  >();
  #heldBytes = 0;
  #closed = false;

  constructor(inner: Spool, log: Logger = silentLogger) {
    this.#inner = inner;
    this.#log = log;
  }

  /**
   * Keeps a new message in memory instead of storing it. Returns at once.
   *
   * @throws SternaError `STERNA_SPOOL_CLOSED` after `close()`, `STERNA_SPOOL_DUPLICATE` for an
   *   id held already, `STERNA_SPOOL_ID_INVALID` (checked now, as `store` does)
   */
  hold(entry: SpoolEntry, data: Uint8Array): void {
    if (this.#closed) throw spoolError('STERNA_SPOOL_CLOSED', 'the spool is closed');
    assertSpoolId(entry.id);
    if (this.#held.has(entry.id) || this.#storing.has(entry.id))
      throw spoolError('STERNA_SPOOL_DUPLICATE', `message ${entry.id} is already spooled`);
    this.#held.set(entry.id, { entry: { ...entry, size: data.byteLength }, data });
    this.#heldBytes += data.byteLength;
  }

  /** Whether `id` is in memory only (held and not stored yet). */
  isHeld(id: string): boolean {
    return this.#held.has(id);
  }

  store(entry: SpoolEntry, data: Uint8Array): Promise<void> {
    if (this.#held.has(entry.id) || this.#storing.has(entry.id))
      return Promise.reject(
        spoolError('STERNA_SPOOL_DUPLICATE', `message ${entry.id} is already spooled`),
      );
    return this.#inner.store(entry, data);
  }

  async update(entry: SpoolEntry): Promise<void> {
    for (;;) {
      const held = this.#held.get(entry.id); // also after a failed first write held it again
      if (held) return this.#storeHeld(entry.id, held, { ...entry, size: held.data.byteLength });
      const storing = this.#storing.get(entry.id);
      if (!storing) return this.#inner.update(entry);
      await storing.done.catch(() => undefined);
    }
  }

  async read(id: string): Promise<Uint8Array> {
    const held = this.#held.get(id) ?? this.#storing.get(id);
    if (held) return held.data;
    return this.#inner.read(id);
  }

  async remove(id: string): Promise<void> {
    for (;;) {
      if (this.#forget(id)) return;
      const storing = this.#storing.get(id);
      if (!storing) return this.#inner.remove(id);
      await storing.done.catch(() => undefined);
    }
  }

  enumerate(): AsyncIterable<SpoolEntry> {
    return this.#inner.enumerate();
  }

  batches(): AsyncIterable<readonly SpoolEntry[]> {
    return this.#inner.batches();
  }

  /** The spool's counts with the held messages added in, and those also on their own. */
  stats(): SpoolStats {
    const stats = this.#inner.stats();
    return {
      ...stats,
      messages: stats.messages + this.#held.size,
      bytes: stats.bytes + this.#heldBytes,
      held: this.#held.size,
      heldBytes: this.#heldBytes,
    };
  }

  /** Stores every message still held, then closes the spool underneath. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const held = [...this.#held];
      await Promise.all(
        held.map(([id, message]) =>
          this.#storeHeld(id, message, message.entry).catch((error: unknown) =>
            this.#log.error(`a held message could not be spooled at shutdown; it is lost`, {
              id,
              error: errorText(error),
            }),
          ),
        ),
      );
      await Promise.allSettled([...this.#storing.values()].map((s) => s.done));
    }
    return this.#inner.close();
  }

  #forget(id: string): boolean {
    const held = this.#held.get(id);
    if (!held) return false;
    this.#held.delete(id);
    this.#heldBytes -= held.data.byteLength;
    return true;
  }

  /**
   * The first write of a held message. While it runs the message is readable from memory; if
   * it fails the message is held again (with the newer entry), so nothing is dropped and the
   * caller sees the spool's error.
   */
  async #storeHeld(id: string, held: Held, entry: SpoolEntry): Promise<void> {
    this.#forget(id);
    const done = this.#inner.store(entry, held.data);
    this.#storing.set(id, { data: held.data, done });
    try {
      await done;
    } catch (error) {
      held.entry = entry;
      if (!this.#closed) {
        this.#held.set(id, held);
        this.#heldBytes += held.data.byteLength;
      }
      throw error;
    } finally {
      this.#storing.delete(id);
    }
  }
}
