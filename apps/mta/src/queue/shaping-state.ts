import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorText, type Logger } from '@sterna/core';
import type { Rule } from './admin-rules.js';
import type { PathOverride, ReadySuspensionRule } from './shaping.js';

/** The operator's and automation's live decisions, as kept across restarts. */
export interface ShapingSnapshot {
  /** Scheduled-queue suspensions (`suspend/v1`, automation's SuspendTenant/SuspendCampaign). */
  readonly suspensions: readonly Rule[];
  /** Bounce rules (`bounce/v1`, automation's Bounce actions). */
  readonly bounces: readonly Rule[];
  /** Ready-queue suspensions (`suspend-ready-q/v1`, automation's Suspend). */
  readonly readySuspensions: readonly ReadySuspensionRule[];
  /** Egress path overrides (automation's SetConfig / SetDomainConfig). */
  readonly overrides: readonly PathOverride[];
}

const EMPTY: ShapingSnapshot = {
  suspensions: [],
  bounces: [],
  readySuspensions: [],
  overrides: [],
};

/**
 * One JSON file beside the node id holding every live suspension, bounce rule and path
 * override, so a restart keeps them (each still ends at its own time). Written whole to a
 * temporary file and renamed over the old one, a moment after each change (changes close
 * together make one write). A missing file is an empty state; an unreadable one is logged and
 * set aside (renamed `.bad`), never a reason not to start.
 */
export class ShapingStateFile {
  readonly #path: string;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #snapshot: (() => ShapingSnapshot) | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  get path(): string {
    return this.#path;
  }

  /** The state kept by the last run. */
  async load(): Promise<ShapingSnapshot> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
      this.#log.error(`cannot read the shaping state ${this.#path}; starting without it`, {
        error: errorText(error),
      });
      return EMPTY;
    }
    try {
      const parsed = JSON.parse(text) as Partial<ShapingSnapshot>;
      return {
        suspensions: Array.isArray(parsed.suspensions) ? parsed.suspensions : [],
        bounces: Array.isArray(parsed.bounces) ? parsed.bounces : [],
        readySuspensions: Array.isArray(parsed.readySuspensions) ? parsed.readySuspensions : [],
        overrides: Array.isArray(parsed.overrides) ? parsed.overrides : [],
      };
    } catch (error) {
      const aside = `${this.#path}.bad`;
      this.#log.error(
        `the shaping state ${this.#path} is not valid JSON; set aside as ${aside}, starting without it`,
        { error: errorText(error) },
      );
      await rename(this.#path, aside).catch(() => {});
      return EMPTY;
    }
  }

  /** Writes the state `snapshot` gives, soon (several changes close together: one write). */
  schedule(snapshot: () => ShapingSnapshot): void {
    this.#snapshot = snapshot;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, 50);
    this.#timer.unref();
  }

  /** Writes a pending change now; resolves when written. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }
    await this.#writing;
  }

  async #write(): Promise<void> {
    const snapshot = this.#snapshot?.();
    if (!snapshot) return;
    const temporary = `${this.#path}.tmp`;
    try {
      await mkdir(dirname(this.#path), { recursive: true });
      await writeFile(temporary, `${JSON.stringify(snapshot, null, 1)}\n`, { mode: 0o644 });
      await rename(temporary, this.#path);
    } catch (error) {
      this.#log.error(
        `cannot write the shaping state ${this.#path}: suspensions and overrides made now will not survive a restart`,
        { error: errorText(error) },
      );
    }
  }
}
