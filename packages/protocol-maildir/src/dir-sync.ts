import { open } from 'node:fs/promises';

/** Opens, fsyncs and closes a directory, making the entries made in it durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface DirState {
  running?: Promise<void> | undefined;
  queued?: Promise<void> | undefined;
}

/**
 * Group commit for the directory fsync that makes a rename durable. A caller that asks while a
 * sync of the directory is running waits for the *next* sync (the running one may have started
 * before its rename); every caller that asks meanwhile shares that next sync. With one message in
 * flight this is exactly one fsync per message; with many, one fsync covers a group.
 *
 * Each caller brings its own way to sync (an fsync through a handle it opened on the directory);
 * a group's sync is done by the caller that started the group, which waits for it too, so the
 * handle it uses stays open for as long as the sync runs.
 */
export class DirectorySyncer {
  readonly #dirs = new Map<string, DirState>();

  readonly #group: boolean;

  /** Directory fsyncs actually issued (the benchmark reports it). */
  issued = 0;

  /** @param options.group share fsyncs between callers (default); false: one per caller */
  constructor(options: { group?: boolean } = {}) {
    this.#group = options.group ?? true;
  }

  /**
   * Resolves once a sync of `dir` that started after this call has succeeded.
   * @param fsync syncs `dir`; called at most once, and only if this caller starts a sync
   */
  sync(dir: string, fsync: () => Promise<void>): Promise<void> {
    if (!this.#group) {
      this.issued++;
      return fsync();
    }
    let state = this.#dirs.get(dir);
    if (!state) {
      state = {};
      this.#dirs.set(dir, state);
    }
    if (state.queued) return state.queued;
    const running = state.running;
    if (!running) return this.#start(dir, state, fsync);
    const s = state;
    const next = () => {
      s.queued = undefined;
      return this.#start(dir, s, fsync);
    };
    s.queued = running.then(next, next);
    return s.queued;
  }

  #start(dir: string, state: DirState, fsync: () => Promise<void>): Promise<void> {
    this.issued++;
    const running: Promise<void> = fsync().finally(() => {
      if (state.running === running) state.running = undefined;
      // Forget idle directories so per-user maildirs do not pile up.
      if (!state.running && !state.queued && this.#dirs.get(dir) === state) {
        this.#dirs.delete(dir);
      }
    });
    state.running = running;
    return running;
  }
}
