import { randomUUID } from 'node:crypto';
import { createContext, Script } from 'node:vm';
import type { Environment } from 'minijinja-js';
import { isBoundedTemplate } from './template-cost.js';
import { loadMinijinja, type MinijinjaLibrary, memoryOf } from './template-wasm.js';

// The MiniJinja engine KumoMTA renders templates with, as minijinja-js (Rust compiled to
// WebAssembly). Templates see only the values they are given, converted to MiniJinja values: no
// JavaScript object, function or prototype. What this file adds around the bindings:
//
// - the WebAssembly memory is capped (template-wasm.ts), so a template building a huge string
//   fails instead of growing the daemon by gigabytes;
// - a trap (out of memory, a panic) or a stopped render leaves the instance unusable (the
//   bindings' README says so), so the instance is dropped and a fresh one loaded on the next
//   call; compiled templates register themselves again in the new one;
// - compiled templates are shared by source and the environment keeps a bounded number of them
//   (adding templates without removing them makes the engine slower and bigger);
// - a template whose cost is not bounded by its output (template-cost.ts) renders under a
//   wall-clock watchdog.

/**
 * The limits templates run under.
 *
 * - `fuel`: MiniJinja instructions one render may execute; a simple loop runs about 20 million a
 *   second on the reference machine, so this stops a runaway loop within about half a second.
 * - `timeMs`: wall-clock time of one render under the watchdog.
 * - `memoryBytes`: the engine's WebAssembly memory (compiled templates, values, output of
 *   everything rendering at once); past it the render fails and the engine restarts.
 * - `recursion`: nesting depth of macro calls and of the parser, MiniJinja's built-in limit (the
 *   bindings cannot change it; listed for the documentation).
 */
export const TEMPLATE_LIMITS = {
  fuel: 10_000_000,
  timeMs: 1000,
  memoryBytes: 256 * 2 ** 20,
  recursion: 500,
} as const;

// What one environment keeps registered: templates not compiled again lately are removed first.
const KEEP_TEMPLATES = 500;
const KEEP_SOURCE_BYTES = 32 * 2 ** 20;

let library: MinijinjaLibrary | undefined;
/** Bumped on every restart: environments and registrations of an older generation are gone. */
let generation = 0;
const environments = new Set<SandboxEnvironment>();

function currentLibrary(): MinijinjaLibrary {
  library ??= loadMinijinja(TEMPLATE_LIMITS.memoryBytes);
  return library;
}

/** Drops the current instance; the next call loads a new one. */
function restart(): void {
  for (const environment of environments) environment.retire();
  library = undefined;
  generation++;
}

/**
 * Why the WebAssembly instance can no longer be trusted after `error`, or undefined when it can.
 * After a trap (WebAssembly.RuntimeError: out of memory, a panic) or an execution stopped by the
 * watchdog, the Rust side is left half-borrowed and every later call fails ("recursive use").
 */
function engineFailure(error: unknown): string | undefined {
  // Duck-typed: the watchdog's error is created in its own context, not an `Error` of this one.
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    return `rendering took longer than ${TEMPLATE_LIMITS.timeMs} ms`;
  }
  if (name === 'RangeError') return `the template nests too deeply (${String(message)})`;
  if (name === 'RuntimeError') {
    const mib = TEMPLATE_LIMITS.memoryBytes / 2 ** 20;
    return `the template needs more than the ${mib} MiB of memory templates may use (${String(message)})`;
  }
  if (typeof message === 'string' && message.includes('recursive use of an object')) {
    return message;
  }
  return undefined;
}

/** The engine failed (see TEMPLATE_LIMITS); it was dropped and the next call uses a fresh one. */
export class TemplateEngineFailure extends Error {
  constructor(reason: string) {
    super(`the template engine stopped: ${reason}`);
    this.name = 'TemplateEngineFailure';
  }
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const reason = engineFailure(error);
    if (reason === undefined) throw error;
    restart();
    throw new TemplateEngineFailure(reason);
  }
}

// Node's vm timeout: a watchdog thread terminates the JavaScript (and WebAssembly) running inside
// runInContext once the time is up. It starts a thread per call: about 0.1 ms.
const watchdog = { context: createContext({ job: undefined }), script: new Script('job()') };

function watched<T>(fn: () => T): T {
  watchdog.context.job = fn;
  try {
    return watchdog.script.runInContext(watchdog.context, { timeout: TEMPLATE_LIMITS.timeMs }) as T;
  } finally {
    watchdog.context.job = undefined;
  }
}

/** A template compiled in a {@link SandboxEnvironment}. */
export interface CompiledTemplate {
  /**
   * Renders with `vars` as the variables. Only the top-level names the source mentions are
   * converted into the engine (each value is copied in).
   *
   * @throws Error with MiniJinja's message on one line, the template's line in place of its
   *   name; TemplateEngineFailure when the engine itself failed.
   */
  render(vars: Readonly<Record<string, unknown>>): string;
}

interface Entry {
  readonly name: string;
  readonly source: string;
  /**
   * Every identifier-like word of the source: a superset of the top-level variables the template
   * can read (MiniJinja cannot reach a variable without naming it once `debug()` is removed).
   */
  readonly names: ReadonlySet<string>;
  readonly watch: boolean;
  /** The generation it is registered in; −1 when it is not registered. */
  generation: number;
}

/**
 * One MiniJinja environment, configured by `configure` and configured again after an engine
 * restart. `suffix` ends every template name (`.html` turns on HTML escaping, as file names do in
 * MiniJinja). Templates whose cost is not bounded by their output render under
 * `TEMPLATE_LIMITS.timeMs`.
 */
export class SandboxEnvironment {
  readonly #configure: (env: Environment) => void;
  readonly #suffix: string;
  #env: Environment | undefined;
  #generation = -1;
  /** Registered templates by source, least recently compiled first. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(configure: (env: Environment) => void, options: { suffix?: string } = {}) {
    this.#configure = configure;
    this.#suffix = options.suffix ?? '';
    environments.add(this);
  }

  /** How many templates are registered in the environment now. */
  get registered(): number {
    return this.#entries.size;
  }

  /** Forgets the environment of a dropped instance (freeing it there if that still works). */
  retire(): void {
    const env = this.#env;
    this.#env = undefined;
    this.#entries.clear();
    this.#bytes = 0;
    try {
      env?.free();
    } catch {
      // The instance is dropped anyway; free() has already unregistered the glue's finalizer.
    }
  }

  /**
   * Compiles `source`, or finds it compiled already. Names are random: templates of different
   * requests share the environment and must not be able to `{% include %}` one another.
   *
   * @throws Error with MiniJinja's syntax error (and the line); TemplateEngineFailure.
   */
  compile(source: string): CompiledTemplate {
    let entry = this.#entries.get(source);
    if (entry !== undefined && entry.generation === generation) {
      this.#entries.delete(source);
      this.#entries.set(source, entry);
    } else {
      const fresh: Entry = {
        name: `${randomUUID()}${this.#suffix}`,
        source,
        names: mentionedNames(source),
        watch: !isBoundedTemplate(source),
        generation: -1,
      };
      try {
        guarded(() => this.#register(fresh));
      } catch (error) {
        if (error instanceof TemplateEngineFailure) throw error;
        throw new Error(cleanMessage(error, fresh.name, source));
      }
      entry = fresh;
    }
    const compiled = entry;
    return {
      render: (vars) => {
        try {
          return guarded(() => {
            const env = this.#register(compiled);
            const context = pick(vars, compiled.names);
            return compiled.watch
              ? watched(() => env.renderTemplate(compiled.name, context))
              : env.renderTemplate(compiled.name, context);
          });
        } catch (error) {
          if (error instanceof TemplateEngineFailure) throw error;
          throw new Error(cleanMessage(error, compiled.name, source));
        }
      },
    };
  }

  /** The environment of the current instance, created on first use. */
  #current(): Environment {
    if (this.#env === undefined || this.#generation !== generation) {
      const env = new (currentLibrary().Environment)();
      this.#configure(env);
      this.#env = env;
      this.#generation = generation;
    }
    return this.#env;
  }

  /** Makes sure `entry` is registered (again, after a restart or eviction). */
  #register(entry: Entry): Environment {
    const env = this.#current();
    if (entry.generation === generation) return env;
    const other = this.#entries.get(entry.source);
    if (other !== undefined) this.#drop(other, env);
    // Compiling folds constant expressions (`"x" * 10**8`): that too can take long.
    if (entry.watch) watched(() => env.addTemplate(entry.name, entry.source));
    else env.addTemplate(entry.name, entry.source);
    entry.generation = generation;
    this.#entries.set(entry.source, entry);
    this.#bytes += entry.source.length;
    for (const oldest of this.#entries.values()) {
      if (oldest === entry) break;
      if (this.#entries.size <= KEEP_TEMPLATES && this.#bytes <= KEEP_SOURCE_BYTES) break;
      this.#drop(oldest, env);
    }
    return env;
  }

  #drop(entry: Entry, env: Environment): void {
    this.#entries.delete(entry.source);
    this.#bytes -= entry.source.length;
    if (entry.generation === generation) {
      entry.generation = -1;
      env.removeTemplate(entry.name);
    }
  }
}

// MiniJinja's identifiers are ASCII (`{{ prénom }}` is a syntax error), so ASCII words cover them.
function mentionedNames(source: string): Set<string> {
  return new Set(source.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
}

// The variables the template can read, in a new object when some are left out (a `__proto__`
// key stays a plain key).
function pick(vars: Readonly<Record<string, unknown>>, names: ReadonlySet<string>): object {
  const keys = Object.keys(vars);
  let i = 0;
  while (i < keys.length && names.has(keys[i]!)) i++;
  if (i === keys.length) return vars;
  const picked: Record<string, unknown> = {};
  for (const key of keys) {
    if (!names.has(key)) continue;
    if (key === '__proto__') {
      Object.defineProperty(picked, key, { value: vars[key], enumerable: true, writable: true });
    } else {
      picked[key] = vars[key];
    }
  }
  return picked;
}

// MiniJinja's message on one line, `(in <name>:<line>)` replaced by the line (the random name
// means nothing to the client) and, for a syntax error, the start of that line of the source.
function cleanMessage(error: unknown, name: string, source: string): string {
  // With debugging information MiniJinja adds lines showing the source; the first says it all.
  const text = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  const at = ` (in ${name}:`;
  const i = text.lastIndexOf(at);
  if (i < 0) return text;
  const line = Number.parseInt(text.slice(i + at.length), 10);
  const head = text.slice(0, i);
  if (!Number.isFinite(line)) return head;
  if (!head.startsWith('syntax error')) return `${head} (line ${line})`;
  const sourceLine = (source.split('\n')[line - 1] ?? '').replace(/\r$/, '');
  const shown = sourceLine.length > 80 ? `${sourceLine.slice(0, 80)}…` : sourceLine;
  return `${head} (line ${line}: ${JSON.stringify(shown)})`;
}

/** The current instance's WebAssembly memory (tests check its cap). */
export function engineMemoryForTests(): ReturnType<typeof memoryOf> {
  return memoryOf(currentLibrary());
}
