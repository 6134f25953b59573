import { errorText, type Logger } from '@sterna/core';
import type { PolicyRuntime } from '@sterna/lua';

/** What a new config epoch refreshes. */
export interface EpochTargets {
  readonly runtime: PolicyRuntime;
  /** Forgets the configs cached from the policy (queue configs, egress paths). */
  readonly invalidate: () => void;
  readonly log: Logger;
}

/**
 * KumoMTA's configuration epoch: a number that moves on when a watched file changes (the
 * config monitor) or the policy calls `kumo.bump_config_epoch()`. Each new epoch loads the
 * policy again ({@link PolicyRuntime.reload}: no mail is dropped, `init` is not run again, so
 * listeners and spools stay as they are) and, once it loaded, drops the configs cached from the
 * old one, so their next use asks the policy again. A policy that no longer loads is logged and
 * the one running keeps running. Reloads never overlap: epochs that arrive during one are
 * served by a single reload after it.
 */
export class ConfigEpochs {
  readonly #targets: EpochTargets;
  #epoch = 0;
  #bumpedAt: number | null = null;
  #running: Promise<void> | undefined;
  #again: string | undefined;
  #stopped = false;

  constructor(targets: EpochTargets) {
    this.#targets = targets;
  }

  /** The current epoch (0 until the first bump). */
  get epoch(): number {
    return this.#epoch;
  }

  /** When the last epoch began (epoch ms), or null before the first bump. */
  get bumpedAt(): number | null {
    return this.#bumpedAt;
  }

  /** Starts a new epoch; `why` names the cause in the log line. */
  bump(why: string): void {
    if (this.#stopped) return;
    this.#epoch++;
    this.#bumpedAt = Date.now();
    if (this.#running) {
      this.#again = why;
      return;
    }
    this.#running = this.#reload(why);
  }

  /** No more epochs (the daemon is stopping); resolves once a running reload has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#again = undefined;
    while (this.#running) await this.#running;
  }

  async #reload(why: string): Promise<void> {
    const { runtime, invalidate, log } = this.#targets;
    const epoch = this.#epoch;
    try {
      await runtime.reload();
      invalidate();
      log.info(`config epoch ${epoch} (${why}): policy reloaded`);
    } catch (error) {
      if (this.#stopped) return;
      log.error(
        `config epoch ${epoch} (${why}): the policy failed to load; the previous policy keeps running`,
        { error: errorText(error) },
      );
    } finally {
      const next = this.#stopped ? undefined : this.#again;
      this.#again = undefined;
      this.#running = next === undefined ? undefined : this.#reload(next);
    }
  }
}
