import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errorText, type Logger } from '@sterna/core';
import { glob } from 'tinyglobby';

/** A path inside a `node_modules` folder: never watched. */
const NODE_MODULES = /(?:^|[\\/])node_modules[\\/]/;

/** A policy written in TypeScript or JavaScript, by its file name. */
const SCRIPT_POLICY = /\.(?:[cm]?ts|[cm]?js)$/i;

/**
 * KumoMTA's default globs, relative to its policy folder (`/opt/kumomta/etc/**\/*.{…}`): every
 * policy and data file under the folder of the policy file. For a TypeScript or JavaScript
 * policy, its modules (`.ts`, `.js` and their `m`/`c` forms) take the place of `.lua`.
 * `node_modules` is never looked at.
 */
export function defaultMonitorGlobs(policy: string): string[] {
  const dir = dirname(resolve(policy));
  return SCRIPT_POLICY.test(policy)
    ? [`${dir}/**/*.{ts,mts,cts,js,mjs,cjs,json,toml,yaml}`]
    : [`${dir}/**/*.{lua,json,toml,yaml}`];
}

/** How a {@link ConfigMonitor} runs. */
export interface ConfigMonitorOptions {
  /** The policy file: always watched, whatever the globs. */
  readonly policy: string;
  /** The globs to evaluate at each look (the policy may change them with set_config_monitor_globs). */
  readonly globs: () => readonly string[];
  /** Milliseconds between two looks. */
  readonly intervalMs: number;
  /** A look found the files changed (their names or contents). */
  readonly onChange: () => void;
  readonly log: Logger;
}

/**
 * KumoMTA's configuration monitor: at a fixed interval, the files the globs match are read
 * and hashed together (names and contents); when the hash differs from the last one, the
 * configuration changed. Polling, not OS file events, as KumoMTA does: globs cannot be watched
 * efficiently and file events do not reach every container. A change seen while files are
 * still being written is confirmed at the next look: `onChange` fires once the hash has held
 * still for one interval, so a save in several steps starts one epoch, not two.
 */
export class ConfigMonitor {
  readonly #options: ConfigMonitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #current: string | undefined;
  #pending: string | undefined;
  #stopped = false;

  private constructor(options: ConfigMonitorOptions) {
    this.#options = options;
  }

  /** Takes the first hash (the configuration as the daemon loaded it), then polls. */
  static async start(options: ConfigMonitorOptions): Promise<ConfigMonitor> {
    const monitor = new ConfigMonitor(options);
    monitor.#current = await monitor.#hash();
    monitor.#schedule();
    return monitor;
  }

  /** The files the globs match now (and the policy file), sorted: `kumo.eval_config_monitor_globs`. */
  async files(): Promise<string[]> {
    const patterns = [...this.#options.globs()];
    const found =
      patterns.length === 0 ? [] : await glob(patterns, { absolute: true, onlyFiles: true });
    // Filtered here, not with glob's `ignore`: its patterns are relative to the working
    // directory, and the globs are absolute paths elsewhere.
    const watched = found.filter((f) => !NODE_MODULES.test(f)).map((f) => resolve(f));
    return [...new Set([resolve(this.#options.policy), ...watched])].sort();
  }

  /** Stops polling. Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#look(), this.#options.intervalMs);
    this.#timer.unref();
  }

  async #look(): Promise<void> {
    try {
      const hash = await this.#hash();
      if (hash === this.#current) this.#pending = undefined;
      else if (hash !== this.#pending) this.#pending = hash;
      else {
        // The same new hash twice in a row: the change is complete.
        this.#current = hash;
        this.#pending = undefined;
        if (!this.#stopped) this.#options.onChange();
      }
    } catch (error) {
      this.#options.log.warn('config monitor: looking at the files failed', {
        error: errorText(error),
      });
    } finally {
      this.#schedule();
    }
  }

  async #hash(): Promise<string> {
    const hash = createHash('sha256');
    for (const file of await this.files()) {
      hash.update(file).update('\0');
      // A file that vanished between the glob and the read counts as empty.
      const data = await readFile(file).catch(() => undefined);
      hash.update(data ?? 'missing').update('\0');
    }
    return hash.digest('hex');
  }
}
