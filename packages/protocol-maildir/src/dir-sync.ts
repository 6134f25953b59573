import { open } from 'node:fs/promises';

/** Opens, fsyncs and closes a directory, making the renames into it durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Group commit for the directory fsync that makes a rename durable. A caller that asks while a
 * sync of the directory is running waits for the *next* sync (the running one may have started
 * before its rename); every caller that asks meanwhile shares that next sync. With one message in
 * flight this is exactly one fsync per message; with many, one fsync covers a group.
 */
export class DirectorySyncer {
  readonly #syncs = new Map<string, { running?: Promise<void>; queued?: Promise<void> }>();
  readonly #fsync: (dir: string) => Promise<void>;

  /** Directory fsyncs actually issued (the benchmark reports it). */
  issued = 0;

  constructor(fsync: (dir: string) => Promise<void> = fsyncDirectory) {
    this.#fsync = fsync;
  }

  /** Resolves once an fsync of `dir` that started after this call has succeeded. */
  sync(dir: string): Promise<void> {
    let state = this.#syncs.get(dir);
    if (!state) {
      state = {};
      this.#syncs.set(dir, state);
    }
    if (state.queued) return state.queued;
    if (!state.running) return this.#start(dir, state);
    const s = state;
    const queued = s.running!.then(
      () => this.#startQueued(dir, s),
      () => this.#startQueued(dir, s),
    );
    s.queued = queued;
    return queued;
  }

  #startQueued(dir: string, state: { running?: Promise<void>; queued?: Promise<void> }) {
    state.queued = undefined;
    return this.#start(dir, state);
  }

  #start(dir: string, state: { running?: Promise<void>; queued?: Promise<void> }): Promise<void> {
    this.issued++;
    const running: Promise<void> = this.#fsync(dir).finally(() => {
      if (state.running === running) state.running = undefined;
      // Forget idle directories so per-user maildirs do not pile up.
      if (!state.running && !state.queued && this.#syncs.get(dir) === state) {
        this.#syncs.delete(dir);
      }
    });
    state.running = running;
    return running;
  }
}
