import { createRequire } from 'node:module';
import type { LogRecord } from '@sterna/core/engine';
import type { Environment } from 'nunjucks';

/** A compiled `per_record.<Type>.template`: renders one record to one line of text. */
export type RecordTemplate = (record: LogRecord) => string;

// KumoMTA evaluates these templates with MiniJinja; nunjucks speaks the same Jinja syntax for
// what log templates use (variables, attribute and item access, arithmetic, filters, if/for).
// nunjucks (CommonJS) is loaded by the first template compiled: most policies have none.
const require = createRequire(import.meta.url);
let nunjucks: typeof import('nunjucks') | undefined;
let env: Environment | undefined;
function environment(): { lib: typeof import('nunjucks'); env: Environment } {
  nunjucks ??= require('nunjucks') as typeof import('nunjucks');
  if (env === undefined) {
    env = new nunjucks.Environment(null, { autoescape: false });
    env.addFilter('tojson', (value: unknown) => JSON.stringify(value));
  }
  return { lib: nunjucks, env };
}

/**
 * Compiles a log template. The record's fields are the variables (`{{ id }}`,
 * `{{ response.code }}`, `{{ timestamp - created }}`), `log_record` is the whole record
 * (`{{ log_record | tojson }}`), and `headers` also answers to lowercase names
 * (`{{ headers['x-foobar'] }}`), as KumoMTA's documentation shows.
 *
 * @throws Error with nunjucks' message when the template does not parse.
 */
export function compileTemplate(source: string): RecordTemplate {
  const { lib, env } = environment();
  const template = new lib.Template(source, env, undefined, true);
  return (record) => {
    const headers: Record<string, string | string[]> = { ...record.headers };
    for (const [name, value] of Object.entries(record.headers)) {
      headers[name.toLowerCase()] ??= value;
    }
    return template.render({ ...record, headers, log_record: record });
  };
}
