/** Sterna's diagnostic levels, most verbose first; `silent` is KumoMTA's `off`. */
export const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/** A level the diagnostic logger takes. */
export type DiagnosticLevel = (typeof LEVELS)[number];

const WORDS: Record<string, DiagnosticLevel> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  off: 'silent',
};

/**
 * Reads a KumoMTA diagnostic filter (env_logger/tracing syntax: comma-separated directives,
 * each `level` or `target=level`, e.g. `kumod=info,kumo_lua=debug`) as the one level of
 * Sterna's diagnostic log: the most verbose level any directive names, since every Sterna
 * module writes to the same log. `trace` reads as `debug`, `off` as `silent`.
 *
 * @throws Error with a one-line message naming the directive that cannot be read.
 */
export function levelOfFilter(filter: string): DiagnosticLevel {
  const directives = filter
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  if (directives.length === 0) throw new Error('the filter is empty (expected e.g. "kumod=info")');
  let best: DiagnosticLevel | undefined;
  for (const directive of directives) {
    if (directive.includes('/'))
      throw new Error(
        `'${directive}': Sterna cannot filter by message text ('/…' is not supported)`,
      );
    if (directive.includes('['))
      throw new Error(`'${directive}': Sterna cannot filter by span ('[…]' is not supported)`);
    const eq = directive.indexOf('=');
    const target = eq < 0 ? undefined : directive.slice(0, eq).trim();
    const word = (eq < 0 ? directive : directive.slice(eq + 1)).trim().toLowerCase();
    if (target !== undefined && !/^[A-Za-z_][\w:.-]*$/.test(target))
      throw new Error(`'${directive}': '${target}' is not a module name`);
    let level = WORDS[word];
    // a bare module name enables everything for it, as env_logger reads it
    if (level === undefined && eq < 0 && /^[A-Za-z_][\w:.-]*$/.test(word)) level = 'debug';
    if (level === undefined)
      throw new Error(
        `'${directive}': '${word}' is not a level (trace, debug, info, warn, error or off)`,
      );
    if (best === undefined || LEVELS.indexOf(level) < LEVELS.indexOf(best)) best = level;
  }
  return best!;
}
