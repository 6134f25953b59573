import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response } from '@sterna/core';
import { type ConfigParams, parseBounceRulesFile } from '@sterna/lua';
import { responseText } from './response-text.js';
import { RulesMatcher, type SourcedRule } from './rules-matcher.js';

/** The category of a response no rule matches. */
export const UNCATEGORIZED = 'Uncategorized';

/** The prefix of a `files` entry naming a rules file Sterna ships (`sterna:bounce-rules.toml`). */
export const SHIPPED_PREFIX = 'sterna:';

/** The folder of the rules files shipped with `@sterna/mta` (`policy/`, beside `src` and `dist`). */
export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../policy/', import.meta.url));

/** The absolute path of Sterna's starter rules file. */
export const STARTER_RULES_PATH = resolve(SHIPPED_RULES_DIR, 'bounce-rules.toml');

/**
 * Where KumoMTA installs the rules file its docs name (`/opt/kumomta/share/bounce_classifier/
 * iana.toml`). Sterna does not ship that file; when a policy names it and it is not there, the
 * starter rules take its place, with a warning.
 */
const KUMO_BUNDLED_RULES = /\/share\/bounce_classifier\/iana\.toml$/;

/** `kumo.configure_bounce_classifier{…}`'s parameters, as the policy runtime validated them. */
export type BounceClassifierParams = ConfigParams['bounce_classifier'];

/**
 * KumoMTA's bounce classifier: the rules of every file in `files`, in order, compiled once
 * ({@link RulesMatcher}); {@link classify} names the category of a response, `Uncategorized`
 * when no rule matches. Answers are kept in two bounded caches, as KumoMTA keeps them:
 * matches in one, misses in another so a stream of odd responses cannot evict the common ones.
 */
export class BounceClassifier {
  readonly #matcher: RulesMatcher;
  readonly #hits: BoundedCache;
  readonly #misses: BoundedCache;
  /** What the daemon should warn about: files taken in place of others. */
  readonly notes: readonly string[];

  private constructor(
    matcher: RulesMatcher,
    params: Partial<BounceClassifierParams>,
    notes: readonly string[],
  ) {
    this.#matcher = matcher;
    this.#hits = new BoundedCache(params.cache_size ?? 1024);
    this.#misses = new BoundedCache(params.uncategorized_cache_size ?? 1024);
    this.notes = notes;
  }

  /**
   * Reads and compiles the rules files. A relative path is taken from the working directory
   * (as KumoMTA does); `sterna:NAME` is a file Sterna ships in its `policy/` folder. KumoMTA's
   * bundled `…/share/bounce_classifier/iana.toml`, when absent, is replaced by Sterna's starter
   * rules (said in {@link notes}).
   *
   * @throws Error naming the file (and for a bad pattern the category and the pattern).
   */
  static load(params: Partial<BounceClassifierParams> & { files: readonly string[] }) {
    const rules: SourcedRule[] = [];
    const notes: string[] = [];
    for (const file of params.files) {
      let path = file.startsWith(SHIPPED_PREFIX) ? shippedFile(file) : resolve(file);
      if (KUMO_BUNDLED_RULES.test(path) && !existsSync(path)) {
        notes.push(
          `kumo.configure_bounce_classifier: ${file} is KumoMTA's bundled rules file, which Sterna does not ship; Sterna's starter rules (sterna:bounce-rules.toml) are used in its place`,
        );
        path = STARTER_RULES_PATH;
      }
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new Error(`${file}: cannot read the rules file (${code ?? String(error)})`);
      }
      try {
        for (const rule of parseBounceRulesFile(path, text)) rules.push({ ...rule, file });
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message}`);
      }
    }
    return new BounceClassifier(new RulesMatcher(rules), params, notes);
  }

  /** A classifier over rules already read (tests, benchmarks). @throws BadRule */
  static fromRules(rules: readonly SourcedRule[], params: Partial<BounceClassifierParams> = {}) {
    return new BounceClassifier(new RulesMatcher(rules), params, []);
  }

  /** How many rules were compiled. */
  get size(): number {
    return this.#matcher.size;
  }

  /** The category of a record's response. */
  classify(response: Pick<Response, 'code' | 'enhanced_code' | 'content'>): string {
    return this.classifyText(responseText(response));
  }

  /** The category of a response line already built (`550 5.1.1 user unknown`). */
  classifyText(text: string): string {
    const known = this.#hits.get(text) ?? this.#misses.get(text);
    if (known !== undefined) return known;
    const category = this.#matcher.match(text);
    if (category === undefined) this.#misses.set(text, UNCATEGORIZED);
    else this.#hits.set(text, category);
    return category ?? UNCATEGORIZED;
  }
}

// `sterna:NAME` names a file of the shipped folder, never a path out of it.
function shippedFile(file: string): string {
  const name = file.slice(SHIPPED_PREFIX.length);
  if (!/^[\w.-]+$/.test(name) || /^\.+$/.test(name))
    throw new Error(
      `${file}: '${SHIPPED_PREFIX}' names a file Sterna ships, such as ${SHIPPED_PREFIX}bounce-rules.toml (a bare file name, no path)`,
    );
  return resolve(SHIPPED_RULES_DIR, name);
}

/** A least-recently-used map of at most `capacity` entries (0: keeps nothing). */
class BoundedCache {
  readonly #map = new Map<string, string>();
  constructor(private readonly capacity: number) {}

  get(key: string): string | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: string): void {
    if (this.capacity <= 0) return;
    this.#map.set(key, value);
    if (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value!);
  }
}
