import type { Envelope, Logger } from '@sterna/core';

/**
 * One spooled message as the queue engine sees it: core's {@link Envelope} (recipients still to
 * be delivered) and the scheduling state. The record's JSON keeps the key it was first written
 * with (`numAttempts`, see `meta-codec.ts`): spooled mail from before loads unchanged.
 */
export interface SpoolEntry extends Envelope {
  /** Data bytes. On `store()` the length of the data given is what is recorded. */
  readonly size: number;
  /** Epoch ms of the next attempt, when not "now". */
  readonly due?: number | undefined;
  /** Failed delivery attempts so far, persisted when known. */
  readonly num_attempts?: number | undefined;
}

/** What a spool holds, for metrics and tests. */
export interface SpoolStats {
  /** Messages spooled. */
  messages: number;
  /** Data bytes of the spooled messages. */
  bytes: number;
  /** Segment files on disk (local-disk spool). */
  segments?: number | undefined;
  /** Bytes of all segment files, live and dead records alike (local-disk spool). */
  diskBytes?: number | undefined;
  /** `fdatasync` calls made on segments since open (local-disk spool). */
  syncs?: number | undefined;
  /** Segments compacted or deleted since open (local-disk spool). */
  compactions?: number | undefined;
  /**
   * Whether a background compaction is running or about to (local-disk spool). One starts, and
   * the next follows it, whenever a removal, an update or a new segment leaves a sealed segment
   * worth compacting; once this is false, compaction has nothing left to do.
   */
  compacting?: boolean | undefined;
  /** Of {@link messages}, those kept in memory only (`deferred_spool`), not written yet. */
  held?: number | undefined;
  /** Data bytes of the {@link held} messages. */
  heldBytes?: number | undefined;
}

/** The daemon's durable message store. */
export interface Spool {
  /**
   * Durably stores a new message. Resolves only once data and metadata are on disk (one
   * `fdatasync` may cover many concurrent stores). The caller must not modify `data` until the
   * promise settles.
   *
   * @throws SternaError `STERNA_SPOOL_FULL` below `minFreeSpace`/`minFreeInodes`,
   *   `STERNA_SPOOL_WRITE` on any I/O error, `STERNA_SPOOL_CLOSED` after `close()`,
   *   `STERNA_SPOOL_DUPLICATE` for an id already spooled, `STERNA_SPOOL_ID_INVALID`.
   */
  store(entry: SpoolEntry, data: Uint8Array): Promise<void>;
  /**
   * KumoMTA's `deferred_spool`: takes a new message into memory only, to be written by the
   * first {@link update} (a transient failure) or by {@link close}; a crash loses it. A spool
   * without this method always stores.
   *
   * @throws SternaError `STERNA_SPOOL_CLOSED`, `STERNA_SPOOL_DUPLICATE`
   */
  hold?(entry: SpoolEntry, data: Uint8Array): void;
  /**
   * Durably replaces the metadata of a stored message (fewer recipients after a partial
   * delivery, a new due time, attempts, meta). `entry.size` is ignored: the data do not change.
   *
   * @throws SternaError `STERNA_SPOOL_NOT_FOUND`, `STERNA_SPOOL_WRITE`, `STERNA_SPOOL_CLOSED`
   */
  update(entry: SpoolEntry): Promise<void>;
  /**
   * The message bytes, exactly as stored (checksum verified).
   *
   * @throws SternaError `STERNA_SPOOL_NOT_FOUND`, `STERNA_SPOOL_CORRUPT`, `STERNA_SPOOL_READ`,
   *   `STERNA_SPOOL_CLOSED`
   */
  read(id: string): Promise<Uint8Array>;
  /**
   * Forgets a message (delivered, bounced, expired). Resolves at once; the removal is made
   * durable with the next sync (at most `removeFlushDelay` later) and before `close()`
   * resolves, so a crash may resurrect it (delivery is at-least-once). Unknown ids are ignored.
   *
   * @throws SternaError `STERNA_SPOOL_CLOSED`
   */
  remove(id: string): Promise<void>;
  /**
   * Every message still spooled, metadata only; used once at startup (after a crash too).
   * Entries with equal meta may share one meta object, which must not be changed in place.
   */
  enumerate(): AsyncIterable<SpoolEntry>;
  /**
   * {@link enumerate} in batches: a restart queues a million messages with a thousand awaits
   * instead of a million. Each entry is decoded afresh and the caller may keep it, but entries
   * with equal meta may share one meta object, which must not be changed in place.
   */
  batches(): AsyncIterable<readonly SpoolEntry[]>;
  /** Counts for metrics. */
  stats(): SpoolStats;
  /** Flushes pending removals, releases the lock; idempotent. */
  close(): Promise<void>;
}

/** Where and how the local-disk spool keeps its files (KumoMTA's `kumo.define_spool`). */
export interface SpoolOptions {
  /**
   * The directory of the segment log: message data and metadata records alike, and the lock
   * file (`kumo.define_spool{name='data', path=...}`).
   */
  readonly dataPath: string;
  /**
   * `kumo.define_spool{name='meta', path=...}`. Created, but metadata records live in the data
   * log beside the bytes, so one `fdatasync` covers both; nothing is written here.
   */
  readonly metaPath: string;
  /**
   * KumoMTA's `min_free_space`: a percentage string (`'10%'`) or bytes (a number, or a string
   * like `'500MB'`, `'2GiB'`); stores fail with `STERNA_SPOOL_FULL` below it.
   *
   * @default '10%'
   */
  readonly minFreeSpace?: string | number;
  /**
   * KumoMTA's `min_free_inodes`: a percentage string or a count.
   *
   * @default '10%'
   */
  readonly minFreeInodes?: string | number;
  /**
   * A segment is sealed and a new one started once it reaches this many bytes.
   *
   * @default 67108864 (64 MiB)
   */
  readonly segmentSize?: number;
  /**
   * A sealed segment whose live records fill less than this fraction of it is compacted in the
   * background (live records copied forward, the file deleted).
   *
   * @default 0.5
   */
  readonly compactBelow?: number;
  /**
   * Milliseconds a removal may wait for a sync it can share before one is forced.
   *
   * @default 1000
   */
  readonly removeFlushDelay?: number;
  /**
   * Bytes of freshly stored message data kept in memory for their first `read()`, so a message
   * delivered right after reception is not read back from disk. Bounded: the oldest bodies are
   * dropped first, and a body is dropped once read (a retry reads the disk). `0` turns it off.
   *
   * @default 16777216 (16 MiB)
   */
  readonly freshCacheBytes?: number;
  /**
   * While the spool runs, an index checkpoint is written each time this many bytes have been
   * added to the log since the last one, so an open after a crash reads it and replays only the
   * log written after it instead of the whole log. A clean stop always writes one. `0` writes
   * none while running.
   *
   * @default 268435456 (256 MiB)
   */
  readonly checkpointEvery?: number;
  /**
   * Where diagnostics go (a torn tail truncated at open, a stale lock taken over).
   *
   * @default core's silentLogger
   */
  readonly logger?: Logger;
}
